#pragma once
// Matrix products through the kernels' GEMM (Eigen's blocked, multithreaded kernels).
#include "engine/tensor.h"

namespace qatd {

// torch.matmul: 1-D and 2-D operands as in NumPy, leading (batch) dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
// (B, n, k) x (B, k, m) -> (B, n, m).
Tensor bmm(const Tensor& a, const Tensor& b);
// x (..., in) times weight (out, in) transposed, plus bias (out) when given: torch's F.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace qatd
