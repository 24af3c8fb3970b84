#include "quant/bit_penalty.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "quant/bit_controller.h"

namespace qatd::quant {

namespace {

void check_input(const Tensor& tensor, const char* what, const Tensor& bits) {
  QATD_CHECK(tensor.defined(), "bit_penalty: {} is undefined", what);
  QATD_CHECK(is_floating(tensor.dtype()), "bit_penalty: {} must be floating, got {}", what, tensor.dtype());
  QATD_CHECK(tensor.dtype() == bits.dtype(), "bit_penalty: {} is {} but the bits are {}", what, tensor.dtype(),
             bits.dtype());
}

}  // namespace

BitPenalty bit_penalty(const Tensor& kd_per_site, const Tensor& bits, const Tensor& importance,
                       const BitPenaltyOptions& options) {
  QATD_CHECK(bits.defined(), "bit_penalty: the bits are undefined");
  QATD_CHECK(is_floating(bits.dtype()), "bit_penalty: the bits must be floating, got {}", bits.dtype());
  check_input(kd_per_site, "the distillation loss", bits);
  check_input(importance, "the importance", bits);
  QATD_CHECK(std::isfinite(options.lambda) && options.lambda >= 0.0,
             "bit_penalty: lambda must be finite and non-negative, got {}", options.lambda);
  // Checked here so that a mismatch is reported as the penalty's, not as some inner op's.
  broadcast_shapes(broadcast_shapes(kd_per_site.shape(), bits.shape(), "bit_penalty (distillation loss, bits)"),
                   importance.shape(), "bit_penalty (importance)");

  Tensor scaled_importance = normalize(importance, options.normalization);
  for (double value : scaled_importance.to_vector<double>()) {
    QATD_CHECK(std::isfinite(value) && value > 0.0,
               "bit_penalty: every importance must be positive and finite, got {} (importances: {})", value,
               importance.str());
  }
  Tensor per_site = kd_per_site + options.lambda * (bits / scaled_importance);
  return {per_site.sum(), per_site};
}

BitPenalty bit_penalty(const Tensor& kd_per_site, const BitController& controller, const Importance& importance,
                       const BitPenaltyOptions& options) {
  Importance matched = validate_importance(importance, controller.names(), "bit_penalty: importance");
  Tensor bits = controller.stacked();
  return bit_penalty(kd_per_site, bits, matched.to_tensor(bits.dtype()), options);
}

}  // namespace qatd::quant
