// View ops: new shape/strides/offset over the same storage, and their gradients.
#include <algorithm>
#include <numeric>
#include <optional>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/checks.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;

namespace {

Tensor alias(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  return make_view(base.storage(), base.dtype(), shape, strides, offset);
}

// Strides that let `new_shape` view memory laid out as (old_shape, old_strides), if any
// exist without a copy (the same rule as PyTorch's view).
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  if (old_shape.empty() || numel_of(old_shape) == 0) return contiguous_strides(new_shape);
  Shape new_strides(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    bool chunk_ends = tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                                        old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      new_strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[tensor_d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

// Replaces a single -1 by the size that keeps the element count.
Shape infer_shape(const Shape& requested, int64_t numel, std::string_view op, const Shape& input_shape) {
  Shape shape = requested;
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      QATD_CHECK(infer_at < 0, "{}: only one dimension can be -1 in {}", op, shape_str(requested));
      infer_at = static_cast<int64_t>(i);
    } else {
      QATD_CHECK(shape[i] >= 0, "{}: invalid size {} in {}", op, shape[i], shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    QATD_CHECK(known != 0 && numel % known == 0, "{}: shape {} is invalid for input of shape {}", op,
               shape_str(requested), shape_str(input_shape));
    shape[infer_at] = numel / known;
  }
  QATD_CHECK(numel_of(shape) == numel, "{}: shape {} is invalid for input of shape {} ({} elements)", op,
             shape_str(requested), shape_str(input_shape), numel);
  return shape;
}

void record_reshape_back(const char* name, const Tensor& input, Tensor& out) {
  if (!needs_grad({input})) return;
  Shape input_shape = input.shape();
  record(name, {input}, out, [input_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(input_shape)}; });
}


}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  ops_detail::check_defined("view", *this, "input");
  Shape new_shape = infer_shape(requested, numel(), "view", shape());
  std::optional<Shape> strides = view_strides(shape(), this->strides(), new_shape);
  QATD_CHECK(strides.has_value(),
             "view: shape {} is not compatible with the input's size and strides (shape {}, strides {}); use "
             "reshape() instead",
             shape_str(new_shape), shape_str(shape()), shape_str(this->strides()));
  Tensor out = alias(*this, new_shape, *strides, offset());
  record_reshape_back("view", *this, out);
  return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
  ops_detail::check_defined("reshape", *this, "input");
  Shape new_shape = infer_shape(requested, numel(), "reshape", shape());
  if (view_strides(shape(), strides(), new_shape).has_value()) return view(new_shape);
  return contiguous().view(new_shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  ops_detail::check_defined("permute", *this, "input");
  int64_t rank = dim();
  QATD_CHECK(static_cast<int64_t>(dims.size()) == rank, "permute: {} dims given for a tensor of rank {}",
             dims.size(), rank);
  std::vector<int64_t> order(rank);
  std::vector<bool> seen(rank, false);
  Shape new_shape(rank), new_strides(rank);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = wrap_dim(dims[i], rank, "permute");
    QATD_CHECK(!seen[d], "permute: dim {} repeated in {}", d, shape_str(dims));
    seen[d] = true;
    order[i] = d;
    new_shape[i] = shape()[d];
    new_strides[i] = strides()[d];
  }
  Tensor out = alias(*this, new_shape, new_strides, offset());
  if (needs_grad({*this})) {
    std::vector<int64_t> inverse(rank);
    for (int64_t i = 0; i < rank; ++i) inverse[order[i]] = i;
    record("permute", {*this}, out, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  }
  return out;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  ops_detail::check_defined("transpose", *this, "input");
  int64_t rank = dim();
  std::vector<int64_t> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[wrap_dim(dim0, rank, "transpose")], order[wrap_dim(dim1, rank, "transpose")]);
  return permute(order);
}

Tensor Tensor::t() const {
  QATD_CHECK(dim() == 2, "t: expects a 2-D tensor, got shape {}", shape_str(shape()));
  return transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  ops_detail::check_defined("slice", *this, "input");
  int64_t d = wrap_dim(dim, this->dim(), "slice");
  QATD_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t size = shape()[d];
  // Python slicing rules: negative indices count from the end, out-of-range ones clamp.
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  int64_t length = (end - start + step - 1) / step;
  Shape new_shape = shape(), new_strides = strides();
  new_shape[d] = length;
  new_strides[d] *= step;
  Tensor out = alias(*this, new_shape, new_strides, offset() + start * strides()[d]);
  if (needs_grad({*this})) {
    autograd::attach(std::make_shared<autograd::SliceBackward>(shape(), d, start, end, step), {*this}, out);
  }
  return out;
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  ops_detail::check_defined("narrow", *this, "input");
  int64_t d = wrap_dim(dim, this->dim(), "narrow");
  int64_t size = shape()[d];
  if (start < 0) start += size;
  QATD_CHECK(start >= 0 && length >= 0 && start + length <= size,
             "narrow: start {} and length {} are out of range for dim {} of size {} (shape {})", start, length, d,
             size, shape_str(shape()));
  return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  ops_detail::check_defined("select", *this, "input");
  int64_t d = wrap_dim(dim, this->dim(), "select");
  int64_t size = shape()[d];
  QATD_CHECK(index >= -size && index < size, "select: index {} is out of range for dim {} of size {}", index, d, size);
  if (index < 0) index += size;
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& requested) const {
  ops_detail::check_defined("expand", *this, "input");
  QATD_CHECK(requested.size() >= shape().size(), "expand: cannot expand shape {} to fewer dims {}",
             shape_str(shape()), shape_str(requested));
  size_t lead = requested.size() - shape().size();
  Shape new_shape(requested.size()), new_strides(requested.size(), 0);
  for (size_t i = 0; i < requested.size(); ++i) {
    if (i < lead) {
      QATD_CHECK(requested[i] >= 0, "expand: -1 is not allowed for new leading dim {} in {}", i,
                 shape_str(requested));
      new_shape[i] = requested[i];
      continue;
    }
    int64_t own = shape()[i - lead];
    int64_t want = requested[i] == -1 ? own : requested[i];
    QATD_CHECK(own == want || own == 1, "expand: shape {} cannot expand to {} (dim {}: {} to {})", shape_str(shape()),
               shape_str(requested), i, own, want);
    new_shape[i] = want;
    new_strides[i] = own == want ? strides()[i - lead] : 0;
  }
  Tensor out = alias(*this, new_shape, new_strides, offset());
  // The engine sums the gradient back to the input's shape.
  if (needs_grad({*this})) record("expand", {*this}, out, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::squeeze() const {
  ops_detail::check_defined("squeeze", *this, "input");
  Shape new_shape, new_strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (shape()[i] != 1) {
      new_shape.push_back(shape()[i]);
      new_strides.push_back(strides()[i]);
    }
  }
  Tensor out = alias(*this, new_shape, new_strides, offset());
  record_reshape_back("squeeze", *this, out);
  return out;
}

Tensor Tensor::squeeze(int64_t dim) const {
  ops_detail::check_defined("squeeze", *this, "input");
  if (this->dim() == 0) return *this;
  int64_t d = wrap_dim(dim, this->dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape new_shape = shape(), new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  Tensor out = alias(*this, new_shape, new_strides, offset());
  record_reshape_back("squeeze", *this, out);
  return out;
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  ops_detail::check_defined("unsqueeze", *this, "input");
  int64_t d = wrap_dim(dim, this->dim() + 1, "unsqueeze");
  Shape new_shape = shape(), new_strides = strides();
  int64_t stride = d < this->dim() ? strides()[d] * shape()[d] : 1;
  new_shape.insert(new_shape.begin() + d, 1);
  new_strides.insert(new_strides.begin() + d, stride);
  Tensor out = alias(*this, new_shape, new_strides, offset());
  record_reshape_back("unsqueeze", *this, out);
  return out;
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  ops_detail::check_defined("flatten", *this, "input");
  if (dim() == 0) return reshape({1});
  int64_t start = wrap_dim(start_dim, dim(), "flatten");
  int64_t end = wrap_dim(end_dim, dim(), "flatten");
  QATD_CHECK(start <= end, "flatten: start_dim {} comes after end_dim {}", start, end);
  Shape new_shape(shape().begin(), shape().begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= shape()[i];
  new_shape.push_back(merged);
  new_shape.insert(new_shape.end(), shape().begin() + end + 1, shape().end());
  return reshape(new_shape);
}

Tensor Tensor::unflatten(int64_t dim, const Shape& sizes) const {
  ops_detail::check_defined("unflatten", *this, "input");
  int64_t d = wrap_dim(dim, this->dim(), "unflatten");
  Shape inner = infer_shape(sizes, shape()[d], "unflatten", shape());
  Shape new_shape(shape().begin(), shape().begin() + d);
  new_shape.insert(new_shape.end(), inner.begin(), inner.end());
  new_shape.insert(new_shape.end(), shape().begin() + d + 1, shape().end());
  return view(new_shape);
}

}  // namespace qatd
