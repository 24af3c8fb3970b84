#include "models/sam2/sam2_utils.h"

#include "engine/engine.h"

namespace qatd::sam2 {

Tensor get_1d_sine_pe(const Tensor& positions, int64_t dim, double temperature) {
  QATD_CHECK(dim > 0 && dim % 2 == 0, "get_1d_sine_pe: dim must be positive and even, got {}", dim);
  int64_t half = dim / 2;
  Tensor index = arange(0.0, static_cast<double>(half), 1.0, positions.dtype());
  Tensor paired = mul(floor(div(index, 2.0)), 2.0);
  Tensor frequencies = pow(temperature, div(paired, static_cast<double>(half)));
  Tensor angles = div(positions.unsqueeze(-1), frequencies);
  return cat({sin(angles), cos(angles)}, -1);
}

}  // namespace qatd::sam2
