#include "engine/ops/dropout.h"

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace qatd {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  ops_detail::check_defined("dropout", x, "input");
  QATD_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must lie in [0, 1], got {}", p);
  ops_detail::check_floating("dropout", x);
  if (!training || p == 0.0) return x;
  // PyTorch multiplies by zero here (so NaN and infinity propagate) rather than dividing by 1 - p = 0.
  if (p == 1.0) return mul(x, 0.0);

  // The kept elements' mask already carries the 1 / (1 - p) scale, so forward and backward
  // are each a single product with it.
  Tensor scaled_mask, out;
  {
    NoGradGuard no_grad;
    Tensor keep = bernoulli(x.shape(), 1.0 - p, generator);
    scaled_mask = where(keep, scalar_tensor(1.0 / (1.0 - p), x.dtype()), scalar_tensor(0.0, x.dtype()));
    out = mul(x, scaled_mask);
  }
  if (autograd::needs_grad({x})) {
    autograd::SavedTensor saved(scaled_mask);
    autograd::record("dropout", {x}, out,
                     [saved](const Tensor& g) { return std::vector<Tensor>{mul(g, saved.get())}; });
  }
  return out;
}

}  // namespace qatd
