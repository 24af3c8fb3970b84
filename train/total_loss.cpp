#include "train/total_loss.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace qatd::train {

namespace {

constexpr const char* kOp = "total_loss";

// A scalar term mixed in with `weight`: required when the weight is non-zero, else it may be absent (logged as 0).
Tensor scalar_term(const Tensor& term, double weight, const char* what, DType dtype) {
  if (!term.defined()) {
    QATD_CHECK(weight == 0.0, "{}: {} is undefined but its weight is {}", kOp, what, weight);
    return zeros({}, dtype);
  }
  QATD_CHECK(term.numel() == 1 && term.dim() <= 1, "{}: {} must be a scalar, got shape {}", kOp, what,
             shape_str(term.shape()));
  QATD_CHECK(term.dtype() == dtype, "{}: {} is {} but the per-site KD losses are {}", kOp, what, term.dtype(), dtype);
  return term.reshape({});
}

}  // namespace

LossComponents total_loss(const TotalLossInputs& inputs, const TotalLossOptions& options) {
  double mix = options.output_kd_mix;
  QATD_CHECK(std::isfinite(mix) && mix >= 0.0 && mix <= 1.0, "{}: output_kd_mix (lambda_output) must be in [0, 1], got {}",
             kOp, mix);
  QATD_CHECK(inputs.kd_per_site.defined(), "{}: the per-site KD losses are undefined", kOp);
  QATD_CHECK(inputs.kd_per_site.dim() == 1, "{}: the per-site KD losses must be [S], got shape {}", kOp,
             shape_str(inputs.kd_per_site.shape()));
  QATD_CHECK(is_floating(inputs.kd_per_site.dtype()), "{}: the per-site KD losses must be floating, got {}", kOp,
             inputs.kd_per_site.dtype());
  DType dtype = inputs.kd_per_site.dtype();
  QATD_CHECK(inputs.bits.defined() == inputs.importance.defined(),
             "{}: the bits and the importance go together, but only the {} is given", kOp,
             inputs.bits.defined() ? "bits" : "importance");

  LossComponents out;
  out.loss_task = scalar_term(inputs.task, 1.0 - mix, "the task loss", dtype);
  out.loss_kd_output = scalar_term(inputs.kd_output, mix, "the output KD loss", dtype);
  out.kd_per_site = inputs.kd_per_site;
  out.loss_kd_layer = inputs.kd_per_site.sum();
  Tensor bit_total;
  if (inputs.bits.defined()) {
    QATD_CHECK(inputs.bits.shape() == inputs.kd_per_site.shape(),
               "{}: the bits have shape {} but the per-site KD losses {} (one bit width per KD site, same order)", kOp,
               shape_str(inputs.bits.shape()), shape_str(inputs.kd_per_site.shape()));
    quant::BitPenalty penalty = quant::bit_penalty(inputs.kd_per_site, inputs.bits, inputs.importance,
                                                   options.bit_penalty);
    out.bit_per_site = penalty.per_site;
    bit_total = penalty.total;
    out.loss_bit = (penalty.per_site - inputs.kd_per_site).sum();
  } else {
    out.bit_per_site = inputs.kd_per_site;
    bit_total = out.loss_kd_layer;
    out.loss_bit = zeros({}, dtype);
  }
  // Terms with a zero mixing weight stay out of the graph, so an absent or non-finite one cannot leak in.
  Tensor total = bit_total;
  if (mix != 1.0) total = total + out.loss_task * (1.0 - mix);
  if (mix != 0.0) total = total + out.loss_kd_output * mix;
  out.loss_total = total;
  return out;
}

}  // namespace qatd::train
