#include "engine/ops/softmax.h"

#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/ops/checks.h"
#include "kernels/cpu/softmax.h"

namespace qatd {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;

namespace {

// `dim` of x as the middle axis of a contiguous [outer, size, inner] buffer.
struct Layout {
  int64_t outer = 1, size = 1, inner = 1;
};

Layout layout_along(const Tensor& x, int64_t dim) {
  Layout layout;
  for (int64_t d = 0; d < x.dim(); ++d) {
    int64_t extent = x.shape()[d];
    if (d < dim) layout.outer *= extent;
    if (d == dim) layout.size = extent;
    if (d > dim) layout.inner *= extent;
  }
  return layout;
}

Tensor softmax_along(const char* name, const Tensor& x, int64_t dim, bool log) {
  ops_detail::check_defined(name, x, "input");
  ops_detail::check_floating(name, x);
  int64_t wrapped = wrap_dim(dim, std::max<int64_t>(x.dim(), 1), name);
  Layout layout = layout_along(x, wrapped);
  Tensor input = x.detach().contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::cpu::softmax_forward<T>(input.data<T>(), layout.outer, layout.size, layout.inner, log, out.data<T>());
  });
  if (needs_grad({x})) {
    SavedTensor saved_out(out);
    record(name, {x}, out, [saved_out, layout, log, name](const Tensor& g) {
      Tensor upstream = g.contiguous(), y = saved_out.get();
      Tensor grad = empty(y.shape(), y.dtype());
      dispatch_floating(y.dtype(), name, [&]<typename T>() {
        kernels::cpu::softmax_backward<T>(upstream.data<T>(), y.data<T>(), layout.outer, layout.size, layout.inner, log,
                                          grad.data<T>());
      });
      return std::vector<Tensor>{grad};
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_along("softmax", x, dim, false); }

Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_along("log_softmax", x, dim, true); }

}  // namespace qatd
