#pragma once
// Shared by the optimizer and scheduler tests: the PyTorch fixture that
// tools/make_optim_fixtures.py writes, and the error measure they report.
#include <cmath>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace qatd::testing {

inline const io::SafetensorsFile& optim_fixture() {
  static const io::SafetensorsFile file =
      io::SafetensorsFile::open(std::string(QATD_TEST_DATA_DIR) + "/fixtures/optim_torch.safetensors");
  return file;
}

// ||ours - reference|| / ||reference||, in double.
inline double relative_error(const Tensor& ours, const Tensor& reference) {
  std::vector<double> a = ours.to(DType::f64).to_vector<double>();
  std::vector<double> b = reference.to(DType::f64).to_vector<double>();
  if (a.size() != b.size()) return INFINITY;
  double difference = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm > 0 ? std::sqrt(difference / norm) : std::sqrt(difference);
}

}  // namespace qatd::testing
