#pragma once
// A tensor kept for backward. It holds a detached alias (no history, so an op saving its own
// output makes no reference cycle) and the storage version at save time: if anything writes
// the storage in place before backward, get() refuses instead of computing a wrong gradient.
#include "engine/tensor.h"

namespace qatd::autograd {

class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& tensor);

  Tensor get() const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  uint64_t saved_version_ = 0;
};

}  // namespace qatd::autograd
