#pragma once
// Scaled dot-product attention, torch's F.scaled_dot_product_attention without dropout:
// softmax(q k^T * scale + mask) v, computed block by block so the (Lq, Lk) score matrix is
// never stored whole; backward recomputes it from the saved row log-sum-exp.
#include <optional>

#include "engine/tensor.h"

namespace qatd {

// q (..., Lq, E), k (..., Lk, E), v (..., Lk, Ev) with equal leading dims. `mask` broadcasts to
// (..., Lq, Lk): a bool mask keeps positions where it is true; a float mask is added to the
// scores. The mask receives no gradient. scale defaults to 1/sqrt(E).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor(),
                                    std::optional<double> scale = std::nullopt);

}  // namespace qatd
