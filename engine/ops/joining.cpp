// Concatenation and splitting: cat, stack, split, split_with_sizes, chunk.
#include <numeric>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/checks.h"
#include "engine/ops/shape_ops.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;

namespace {

// PyTorch still accepts 1-D empty tensors in cat next to tensors of any shape, and skips them.
bool is_legacy_empty(const Tensor& tensor) { return tensor.dim() == 1 && tensor.shape()[0] == 0; }

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  QATD_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  for (size_t i = 0; i < tensors.size(); ++i) {
    ops_detail::check_defined("cat", tensors[i], fmt::format("tensor {}", i));
  }
  // The first tensor that is not a skippable 1-D empty one sets the shape every other must match.
  size_t reference = 0;
  while (reference + 1 < tensors.size() && is_legacy_empty(tensors[reference])) ++reference;
  const Tensor& first = tensors[reference];
  QATD_CHECK(first.dim() > 0, "cat: zero-dimensional tensor {} cannot be concatenated", reference);
  int64_t d = wrap_dim(dim, first.dim(), "cat");
  std::vector<bool> skipped(tensors.size(), false);
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& tensor = tensors[i];
    QATD_CHECK(tensor.dtype() == first.dtype(), "cat: tensor {} is {} but tensor {} is {}; convert with .to()", i,
               tensor.dtype(), reference, first.dtype());
    if (i != reference && is_legacy_empty(tensor) && !is_legacy_empty(first)) {
      skipped[i] = true;
      continue;
    }
    bool compatible = tensor.dim() == first.dim();
    for (int64_t k = 0; k < first.dim() && compatible; ++k) {
      compatible = k == d || tensor.shape()[k] == first.shape()[k];
    }
    QATD_CHECK(compatible, "cat: tensor {} of shape {} does not match tensor {} of shape {} outside dim {}", i,
               shape_str(tensor.shape()), reference, shape_str(first.shape()), d);
    out_shape[d] += tensor.shape()[d];
  }

  // One allocation; each input is copied into its slice of the output.
  Tensor out = empty(out_shape, first.dtype());
  std::vector<int64_t> starts(tensors.size(), 0);
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (skipped[i]) continue;
      starts[i] = start;
      int64_t length = tensors[i].shape()[d];
      if (length > 0 && tensors[i].numel() > 0) out.narrow(d, start, length).copy_(tensors[i].detach());
      start += length;
    }
  }
  if (needs_grad(tensors)) {
    std::vector<int64_t> lengths(tensors.size(), 0);
    std::vector<bool> wanted(tensors.size(), false);
    for (size_t i = 0; i < tensors.size(); ++i) {
      wanted[i] = !skipped[i] && tensors[i].requires_grad();
      if (!skipped[i]) lengths[i] = tensors[i].shape()[d];
    }
    record("cat", tensors, out, [d, starts, lengths, wanted](const Tensor& g) {
      std::vector<Tensor> grads(starts.size());
      for (size_t i = 0; i < starts.size(); ++i) {
        if (wanted[i]) grads[i] = g.narrow(d, starts[i], lengths[i]);
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  QATD_CHECK(!tensors.empty(), "stack: needs at least one tensor");
  ops_detail::check_defined("stack", tensors[0], "tensor 0");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> unsqueezed;
  unsqueezed.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    ops_detail::check_defined("stack", tensors[i], fmt::format("tensor {}", i));
    QATD_CHECK(tensors[i].shape() == tensors[0].shape(),
               "stack: every tensor must have the same shape, tensor 0 is {} and tensor {} is {}",
               shape_str(tensors[0].shape()), i, shape_str(tensors[i].shape()));
    unsqueezed.push_back(tensors[i].unsqueeze(d));
  }
  return cat(unsqueezed, d);
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  ops_detail::check_defined("split_with_sizes", x, "input");
  QATD_CHECK(x.dim() > 0, "split_with_sizes: cannot split a zero-dimensional tensor");
  int64_t d = wrap_dim(dim, x.dim(), "split_with_sizes");
  int64_t total = 0;
  for (int64_t size : sizes) {
    QATD_CHECK(size >= 0, "split_with_sizes: sizes must be non-negative, got {}", shape_str(sizes));
    total += size;
  }
  QATD_CHECK(total == x.shape()[d], "split_with_sizes: sizes {} add up to {}, but dim {} of the input {} has size {}",
             shape_str(sizes), total, d, shape_str(x.shape()), x.shape()[d]);
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t size : sizes) {
    pieces.push_back(x.narrow(d, start, size));
    start += size;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  ops_detail::check_defined("split", x, "input");
  QATD_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
  int64_t d = wrap_dim(dim, x.dim(), "split");
  int64_t size = x.shape()[d];
  QATD_CHECK(split_size > 0 || (split_size == 0 && size == 0),
             "split: split_size must be positive (0 only for an empty dim), got {} for dim {} of size {}", split_size,
             d, size);
  int64_t count = split_size == 0 ? 1 : std::max<int64_t>((size + split_size - 1) / split_size, 1);
  std::vector<int64_t> sizes(count, split_size);
  sizes.back() = size - split_size * (count - 1);
  return split_with_sizes(x, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  ops_detail::check_defined("chunk", x, "input");
  QATD_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  QATD_CHECK(x.dim() > 0, "chunk: cannot chunk a zero-dimensional tensor");
  int64_t d = wrap_dim(dim, x.dim(), "chunk");
  int64_t size = x.shape()[d];
  int64_t chunk_size = (size + chunks - 1) / chunks;
  // An empty dim still gives `chunks` (empty) pieces, as torch.chunk does.
  if (chunk_size == 0) return split_with_sizes(x, std::vector<int64_t>(chunks, 0), d);
  return split(x, chunk_size, d);
}

}  // namespace qatd
