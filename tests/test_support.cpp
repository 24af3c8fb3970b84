#include "tests/test_support.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "engine/error.h"

namespace qatd::testing {

std::string temporary_path(const std::string& name) {
  auto directory = std::filesystem::temp_directory_path() / "qatd_tests";
  std::filesystem::create_directories(directory);
  return (directory / name).string();
}

std::string fixture_path(const std::string& name) { return std::string(QATD_TEST_DATA_DIR) + "/fixtures/" + name; }

std::string micro_fixture_path(const std::string& name) { return fixture_path("sam2_micro_a/" + name); }

Difference difference(const Tensor& ours, const Tensor& reference, double scale) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  if (!ours.defined() || ours.shape() != reference.shape()) return {kInfinity, kInfinity};
  std::vector<double> a = ours.to(DType::f64).to_vector<double>();
  std::vector<double> b = reference.to(DType::f64).to_vector<double>();
  double squared = 0.0, norm = 0.0;
  Difference result;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = a[i] - b[i];
    if (std::isnan(d)) return {kInfinity, kInfinity};
    squared += d * d;
    norm += b[i] * b[i];
    result.max_abs = std::max(result.max_abs, std::abs(d));
  }
  if (scale > 0.0) norm = scale * scale;
  result.relative = norm > 0.0 ? std::sqrt(squared / norm) : std::sqrt(squared);
  return result;
}

double report_difference(const std::string& name, const Tensor& ours, const Tensor& reference, double scale) {
  Difference d = difference(ours, reference, scale);
  std::printf("%-78s %-18s relative error %.3e  max abs difference %.3e\n", name.c_str(),
              ours.defined() ? shape_str(ours.shape()).c_str() : "undefined", d.relative, d.max_abs);
  return d.relative;
}

std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace qatd::testing
