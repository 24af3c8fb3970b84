#pragma once
// The qatd subcommands. Each takes the words after its name and returns the exit status.
#include <string>
#include <vector>

namespace qatd::cli {

int run_demo(const std::vector<std::string>& words);
int run_info(const std::vector<std::string>& words);
int run_parity(const std::vector<std::string>& words);
int run_predict(const std::vector<std::string>& words);
int run_track(const std::vector<std::string>& words);
int run_init(const std::vector<std::string>& words);
int run_convert(const std::vector<std::string>& words);
int run_export(const std::vector<std::string>& words);
int run_importance(const std::vector<std::string>& words);
int run_train(const std::vector<std::string>& words);
int run_eval(const std::vector<std::string>& words);
int run_sweep(const std::vector<std::string>& words);

}  // namespace qatd::cli
