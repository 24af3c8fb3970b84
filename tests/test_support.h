#pragma once
// Helpers shared by the test files: scratch paths and the comparison every reference test prints.
#include <functional>
#include <string>

#include "engine/tensor.h"

namespace qatd::testing {

// A path under the system's temporary directory (qatd_tests/NAME); the directory exists.
std::string temporary_path(const std::string& name);

// A file under tests/fixtures, and under the SAM 2 micro model's tests/fixtures/sam2_micro_a.
std::string fixture_path(const std::string& name);
std::string micro_fixture_path(const std::string& name);

struct Difference {
  double relative = 0.0;  // ||ours - reference|| / ||reference|| (the plain norm when the reference is 0)
  double max_abs = 0.0;
};

// Compares in float64; a positive `scale` replaces ||reference|| as the denominator. NaN or a
// shape mismatch gives an infinite error.
Difference difference(const Tensor& ours, const Tensor& reference, double scale = 0.0);

// difference(), printed as one line (name, shape, relative error, max abs difference); returns
// the relative error.
double report_difference(const std::string& name, const Tensor& ours, const Tensor& reference, double scale = 0.0);

// The message of the qatd::Error `action` throws; "" when it throws none.
std::string error_message(const std::function<void()>& action);

}  // namespace qatd::testing
