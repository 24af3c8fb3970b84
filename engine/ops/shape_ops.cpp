// Padding, repetition, rolling and flipping (concatenation and splitting are in joining.cpp).
#include "engine/ops/shape_ops.h"

#include <algorithm>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/checks.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/pad.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;

namespace {

std::string_view mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
  }
  return "?";
}

// Constant padding without autograd: the output starts as `value`, then receives the part of
// the input that survives any cropping. Its own adjoint is the same op with negated pads.
Tensor pad_constant(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  int64_t rank = x.dim();
  Shape out_shape = x.shape();
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    int64_t d = rank - 1 - static_cast<int64_t>(i);
    out_shape[d] += pads[2 * i] + pads[2 * i + 1];
    QATD_CHECK(out_shape[d] >= 0,
               "pad: padding ({}, {}) of dim {} (size {}) of the input {} gives a negative size {}", pads[2 * i],
               pads[2 * i + 1], d, x.shape()[d], shape_str(x.shape()), out_shape[d]);
  }
  Tensor out = full(out_shape, value, x.dtype());
  Tensor source = x.detach(), destination = out;
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    int64_t d = rank - 1 - static_cast<int64_t>(i);
    int64_t before = pads[2 * i], after = pads[2 * i + 1];
    int64_t length = x.shape()[d] - std::max<int64_t>(0, -before) - std::max<int64_t>(0, -after);
    QATD_CHECK(length >= 0, "pad: padding ({}, {}) crops more than the size {} of dim {} of the input {}", before,
               after, x.shape()[d], d, shape_str(x.shape()));
    source = source.narrow(d, std::max<int64_t>(0, -before), length);
    destination = destination.narrow(d, std::max<int64_t>(0, before), length);
  }
  if (source.numel() > 0) destination.copy_(source);
  return out;
}

// Index maps for reflect/replicate padding of the last pads.size() / 2 dims, after PyTorch's checks.
kernels::cpu::PadIndexMap pad_index_map(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode,
                                        Shape& out_shape) {
  int64_t padded = static_cast<int64_t>(pads.size() / 2);
  int64_t rank = x.dim();
  QATD_CHECK(padded >= 1 && padded <= 3 && (rank == padded + 1 || rank == padded + 2),
             "pad: {} padding of {} values needs a {}-D or {}-D input (it pads the last {} dims; 1 to 3 dims can be "
             "padded), got shape {}",
             mode_name(mode), pads.size(), padded + 1, padded + 2, padded, shape_str(x.shape()));
  kernels::cpu::PadIndexMap map;
  out_shape = x.shape();
  for (int64_t d = 0; d < rank - padded; ++d) map.planes *= x.shape()[d];
  for (int64_t i = 0; i < padded; ++i) {
    int64_t d = rank - 1 - i;
    int64_t size = x.shape()[d], before = pads[2 * i], after = pads[2 * i + 1];
    QATD_CHECK(size > 0, "pad: {} padding needs non-empty padded dims, dim {} of the input {} is empty",
               mode_name(mode), d, shape_str(x.shape()));
    QATD_CHECK(mode != PadMode::reflect || (before < size && after < size),
               "pad: reflect padding ({}, {}) of dim {} must be smaller than its size {} (input {})", before, after, d,
               size, shape_str(x.shape()));
    int64_t out_size = size + before + after;
    QATD_CHECK(out_size >= 1, "pad: {} padding ({}, {}) of dim {} (size {}) of the input {} leaves no elements",
               mode_name(mode), before, after, d, size, shape_str(x.shape()));
    out_shape[d] = out_size;
    int slot = 2 - static_cast<int>(i);
    map.input_sizes[slot] = size;
    std::vector<int64_t>& source = map.source[slot];
    source.resize(out_size);
    for (int64_t j = 0; j < out_size; ++j) {
      int64_t position = j - before;
      if (mode == PadMode::replicate) {
        source[j] = std::clamp<int64_t>(position, 0, size - 1);
      } else {
        source[j] = position < 0 ? -position : (position >= size ? 2 * (size - 1) - position : position);
      }
    }
  }
  return map;
}

Tensor pad_by_index_map(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode) {
  Shape out_shape;
  kernels::cpu::PadIndexMap map = pad_index_map(x, pads, mode, out_shape);
  Tensor input = x.detach().contiguous();
  Tensor out = empty(out_shape, x.dtype());
  dispatch_numeric(x.dtype(), "pad", [&]<typename T>() {
    if (out.numel() > 0) kernels::cpu::pad_gather<T>(map, input.data<T>(), out.data<T>());
  });
  if (needs_grad({x})) {
    Shape input_shape = x.shape();
    record(fmt::format("pad_{}", mode_name(mode)), {x}, out, [map, input_shape](const Tensor& g) {
      Tensor grad = zeros(input_shape, g.dtype());
      Tensor upstream = g.contiguous();
      dispatch_floating(g.dtype(), "pad backward", [&]<typename T>() {
        if (upstream.numel() > 0) kernels::cpu::pad_scatter_add<T>(map, upstream.data<T>(), grad.data<T>());
      });
      return std::vector<Tensor>{grad};
    });
  }
  return out;
}

// Both directions of a roll, without autograd: each rolled dim (shift strictly between 0 and its
// size) splits into two blocks that trade places, so the output is 2^k block copies.
Tensor roll_blocks(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& dim_shifts) {
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() == 0) return out;
  Tensor source_base = x.detach();
  size_t count = dim_shifts.size();
  for (uint64_t blocks = 0; blocks < (uint64_t{1} << count); ++blocks) {
    Tensor source = source_base, destination = out;
    for (size_t j = 0; j < count; ++j) {
      auto [d, shift] = dim_shifts[j];
      int64_t size = x.shape()[d];
      if ((blocks >> j) & 1) {
        // The tail of the input wraps around to the front.
        source = source.narrow(d, size - shift, shift);
        destination = destination.narrow(d, 0, shift);
      } else {
        source = source.narrow(d, 0, size - shift);
        destination = destination.narrow(d, shift, size - shift);
      }
    }
    destination.copy_(source);
  }
  return out;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  ops_detail::check_defined("pad", x, "input");
  QATD_CHECK(pads.size() % 2 == 0, "pad: pads must hold (before, after) pairs, got {} values {}", pads.size(),
             shape_str(pads));
  QATD_CHECK(static_cast<int64_t>(pads.size() / 2) <= x.dim(),
             "pad: {} pairs of pads for an input of shape {} with only {} dims", pads.size() / 2,
             shape_str(x.shape()), x.dim());
  if (mode != PadMode::constant) return pad_by_index_map(x, pads, mode);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = pad_constant(x, pads, value);
  }
  if (needs_grad({x})) {
    std::vector<int64_t> crop(pads.size());
    std::transform(pads.begin(), pads.end(), crop.begin(), [](int64_t p) { return -p; });
    record("pad_constant", {x}, out,
           [crop](const Tensor& g) { return std::vector<Tensor>{pad_constant(g, crop, 0.0)}; });
  }
  return out;
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  ops_detail::check_defined("repeat", x, "input");
  int64_t count = static_cast<int64_t>(repeats.size());
  QATD_CHECK(count >= x.dim(), "repeat: {} repeats given for the input of shape {}; need at least one per dim",
             count, shape_str(x.shape()));
  int64_t lead = count - x.dim();
  // x as (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...): one copy makes the tiling.
  Shape interleaved, tiled, out_shape;
  std::vector<int64_t> repeat_dims;
  for (int64_t i = 0; i < count; ++i) {
    QATD_CHECK(repeats[i] >= 0, "repeat: repeats must be non-negative, got {}", shape_str(repeats));
    int64_t size = i < lead ? 1 : x.shape()[i - lead];
    interleaved.insert(interleaved.end(), {1, size});
    tiled.insert(tiled.end(), {repeats[i], size});
    repeat_dims.push_back(2 * i);
    out_shape.push_back(repeats[i] * size);
  }
  Tensor out;
  {
    NoGradGuard no_grad;
    out = x.reshape(interleaved).expand(tiled).contiguous().view(out_shape);
    if (out.storage() == x.storage()) out = out.clone();
  }
  if (needs_grad({x})) {
    Shape input_shape = x.shape();
    record("repeat", {x}, out, [tiled, repeat_dims, input_shape](const Tensor& g) {
      return std::vector<Tensor>{sum(g.reshape(tiled), repeat_dims).reshape(input_shape)};
    });
  }
  return out;
}

Tensor repeat_interleave(const Tensor& x, int64_t repeats, int64_t dim) {
  ops_detail::check_defined("repeat_interleave", x, "input");
  QATD_CHECK(repeats >= 0, "repeat_interleave: repeats must be non-negative, got {}", repeats);
  int64_t d = wrap_dim(dim, x.dim(), "repeat_interleave");
  Shape tiled = x.shape(), out_shape = x.shape();
  tiled.insert(tiled.begin() + d + 1, repeats);
  out_shape[d] *= repeats;
  Tensor out;
  {
    NoGradGuard no_grad;
    out = x.unsqueeze(d + 1).expand(tiled).contiguous().view(out_shape);
    if (out.storage() == x.storage()) out = out.clone();
  }
  if (needs_grad({x})) {
    record("repeat_interleave", {x}, out,
           [tiled, d](const Tensor& g) { return std::vector<Tensor>{sum(g.reshape(tiled), {d + 1})}; });
  }
  return out;
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  ops_detail::check_defined("roll", x, "input");
  if (dims.empty()) {
    QATD_CHECK(shifts.size() == 1, "roll: without dims, exactly one shift rolls the flattened input; got {} shifts",
               shifts.size());
    return roll(x.flatten(), shifts, {0}).view(x.shape());
  }
  QATD_CHECK(shifts.size() == dims.size(), "roll: {} shifts for {} dims; give one shift per dim", shifts.size(),
             dims.size());
  // Shifts of a repeated dim add up; a full turn is no shift.
  std::vector<int64_t> total(x.dim(), 0);
  for (size_t i = 0; i < dims.size(); ++i) total[wrap_dim(dims[i], x.dim(), "roll")] += shifts[i];
  std::vector<std::pair<int64_t, int64_t>> dim_shifts;
  for (int64_t d = 0; d < x.dim(); ++d) {
    int64_t size = x.shape()[d];
    if (size == 0) continue;
    int64_t shift = ((total[d] % size) + size) % size;
    if (shift != 0) dim_shifts.emplace_back(d, shift);
  }
  Tensor out = roll_blocks(x, dim_shifts);
  if (needs_grad({x})) {
    std::vector<std::pair<int64_t, int64_t>> inverse = dim_shifts;
    for (auto& [d, shift] : inverse) shift = x.shape()[d] - shift;
    record("roll", {x}, out, [inverse](const Tensor& g) { return std::vector<Tensor>{roll_blocks(g, inverse)}; });
  }
  return out;
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  ops_detail::check_defined("flip", x, "input");
  std::vector<bool> flipped(x.dim(), false);
  for (int64_t dim : dims) {
    int64_t d = wrap_dim(dim, x.dim(), "flip");
    QATD_CHECK(!flipped[d], "flip: dim {} appears more than once in {}", d, shape_str(dims));
    flipped[d] = true;
  }
  Tensor out = empty(x.shape(), x.dtype());
  if (x.numel() > 0) {
    // Read the input backwards through negative strides, never exposed outside this copy.
    Shape strides = x.strides();
    int64_t offset = x.offset();
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (!flipped[d]) continue;
      offset += (x.shape()[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
    NoGradGuard no_grad;
    out.copy_(make_view(x.storage(), x.dtype(), x.shape(), strides, offset));
  }
  if (needs_grad({x})) {
    record("flip", {x}, out, [dims](const Tensor& g) { return std::vector<Tensor>{flip(g, dims)}; });
  }
  return out;
}

}  // namespace qatd
