#include "engine/autograd/saved_tensor.h"

namespace qatd::autograd {

SavedTensor::SavedTensor(const Tensor& tensor) {
  if (!tensor.defined()) return;
  data_ = tensor.detach();
  saved_version_ = tensor.version();
}

Tensor SavedTensor::get() const {
  if (data_.defined()) {
    QATD_CHECK(data_.version() == saved_version_,
               "a tensor of shape {} saved for backward was modified in place afterwards (version {} at save, {} now); "
               "clone it before the in-place write",
               shape_str(data_.shape()), saved_version_, data_.version());
  }
  return data_;
}

}  // namespace qatd::autograd
