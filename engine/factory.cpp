// Tensor creation: empty, filled, ranges, and tensors from host vectors.
#include <cmath>

#include "engine/tensor.h"
#include "kernels/cpu/loops.h"

namespace qatd {

namespace {

void check_shape(const Shape& shape, std::string_view op) {
  for (int64_t size : shape) {
    QATD_CHECK(size >= 0, "{}: negative size in shape {}", op, shape_str(shape));
  }
}

}  // namespace

Tensor make_view(const std::shared_ptr<Storage>& storage, DType dtype, const Shape& shape, const Shape& strides,
                 int64_t offset) {
  QATD_CHECK(shape.size() == strides.size(), "make_view: shape {} and strides {} differ in rank", shape_str(shape),
             shape_str(strides));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->dtype = dtype;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  return Tensor(std::move(impl));
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  auto storage = Storage::allocate(static_cast<size_t>(numel_of(shape)) * dtype_size(dtype), device);
  return make_view(storage, dtype, shape, contiguous_strides(shape), 0);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor out = empty(shape, dtype, device);
  dispatch_all(dtype, [&]<typename T>() {
    T typed = static_cast<T>(static_cast<float>(value));
    if constexpr (std::is_same_v<T, double> || std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>) {
      typed = static_cast<T>(value);
    }
    T* data = out.data<T>();
    kernels::cpu::parallel_for(0, out.numel(), kernels::cpu::kElementwiseGrain, [&](int64_t begin, int64_t end) {
      std::fill(data + begin, data + end, typed);
    });
  });
  return out;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor empty_like(const Tensor& like) { return empty(like.shape(), like.dtype(), like.device()); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype(), like.device()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype(), like.device()); }
Tensor full_like(const Tensor& like, double value) { return full(like.shape(), value, like.dtype(), like.device()); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor arange(int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  QATD_CHECK(step != 0.0, "arange: step must be nonzero");
  QATD_CHECK((end - start) / step >= 0.0, "arange: start {} cannot reach end {} with step {}", start, end, step);
  int64_t count = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor out = empty({count}, dtype);
  dispatch_numeric(dtype, "arange", [&]<typename T>() {
    T* data = out.data<T>();
    for (int64_t i = 0; i < count; ++i) data[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return out;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  QATD_CHECK(steps >= 0, "linspace: steps must be non-negative, got {}", steps);
  Tensor out = empty({steps}, dtype);
  dispatch_floating(dtype, "linspace", [&]<typename T>() {
    T* data = out.data<T>();
    if (steps == 1) data[0] = static_cast<T>(start);
    if (steps <= 1) return;
    // Symmetric fill from both ends, as PyTorch does, so the last value is exactly `end`.
    double step = (end - start) / static_cast<double>(steps - 1);
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; ++i) {
      data[i] = static_cast<T>(i < half ? start + step * static_cast<double>(i)
                                        : end - step * static_cast<double>(steps - i - 1));
    }
  });
  return out;
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  QATD_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: {} values do not fill shape {}",
             values.size(), shape_str(shape));
  Tensor out = empty(shape, dtype_of<T>);
  std::copy(values.begin(), values.end(), out.data<T>());
  return out;
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

}  // namespace qatd
