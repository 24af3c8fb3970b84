#pragma once
// Softmax and log-softmax along one dim, computed with the max subtracted (never overflows).
#include "engine/tensor.h"

namespace qatd {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace qatd
