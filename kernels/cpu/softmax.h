#pragma once
// Softmax and log-softmax along the middle axis of a contiguous [outer, size, inner] buffer.
// inner = 1 (the last dim) runs along contiguous rows; inner > 1 runs on tiles of adjacent
// columns so every step is still a unit-stride vector loop. The row maximum is subtracted
// first, so nothing overflows; a row that is entirely -inf gives NaN, as in PyTorch.
#include <cstdint>

namespace qatd::kernels::cpu {

// y = softmax(x) or log_softmax(x) (`log`) along the middle axis.
template <typename T>
void softmax_forward(const T* x, int64_t outer, int64_t size, int64_t inner, bool log, T* y);

// grad_x from grad_y and the forward's output y:
// softmax: y * (grad_y - sum(grad_y * y)); log_softmax: grad_y - exp(y) * sum(grad_y).
template <typename T>
void softmax_backward(const T* grad_y, const T* y, int64_t outer, int64_t size, int64_t inner, bool log, T* grad_x);

}  // namespace qatd::kernels::cpu
