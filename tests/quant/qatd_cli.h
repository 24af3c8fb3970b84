#pragma once
// Running the qatd binary from a test: the build's tools/qatd/qatd next to tests/qatd_tests (or the
// QATD_BINARY environment variable).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace qatd::testing {

// The qatd binary (the build makes it before the tests: tests/CMakeLists.txt); a test fails when
// it is missing rather than skipping its checks.
inline std::string qatd_binary() {
  if (const char* path = std::getenv("QATD_BINARY")) return path;
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  INFO("reading /proc/self/exe: " << error.message());
  REQUIRE(!error);
  std::filesystem::path binary = self.parent_path().parent_path() / "tools" / "qatd" / "qatd";
  INFO("the qatd binary (build it with the tests, or set QATD_BINARY): " << binary.string());
  REQUIRE(std::filesystem::exists(binary));
  return binary.string();
}

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

inline std::string quoted(const std::string& word) {
  std::string text = "'";
  for (char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return text + "'";
}

// Runs `qatd ARGS...` with a shell, capturing its output.
inline CommandResult run_qatd(const std::string& binary, const std::vector<std::string>& arguments) {
  std::string command = quoted(binary);
  for (const std::string& argument : arguments) command.append(" ").append(quoted(argument));
  command += " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer;
  size_t read = 0;
  while ((read = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), read);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline std::string read_file_text(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

inline void write_file_text(const std::string& path, const std::string& text) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << text;
}

}  // namespace qatd::testing
