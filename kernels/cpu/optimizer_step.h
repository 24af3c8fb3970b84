#pragma once
// Fused optimizer updates on raw contiguous buffers: one parallel pass over a parameter applies
// the whole torch.optim step (weight decay, momentum or moment updates, bias correction and the
// parameter write). Each element is computed with the same roundings as torch.optim's
// single-tensor (foreach=False) CPU path, so float32 results track PyTorch to a few ulps.
// Also the reductions and in-place scalings of gradient clipping.
#include <cstdint>

namespace qatd::kernels::cpu {

struct SgdStepSettings {
  double lr = 0.0;
  double momentum = 0.0;  // 0: no momentum buffer (momentum_buffer may be null)
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
  // The first step with momentum: the buffer is set to the (decayed) gradient, without dampening.
  bool initialize_buffer = false;
};

// torch.optim.SGD's update of `count` elements.
template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t count, const SgdStepSettings& settings);

struct AdamStepSettings {
  double lr = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW: param *= 1 - lr * weight_decay before the update
  bool amsgrad = false;                 // max_exp_avg_sq is used (and must be non-null) only then
  bool maximize = false;
  int64_t step = 1;  // this step's 1-based count, for the bias corrections
};

// torch.optim.Adam's (and AdamW's) update of `count` elements.
template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
               const AdamStepSettings& settings);

// Sum of |x|^p over `count` elements, accumulated in double (p = 1 and 2 take exact fast paths).
// Deterministic: the partial sums are combined in a fixed order whatever the thread count.
template <typename T>
double sum_abs_power(const T* data, int64_t count, double p);
// max |x| (NaN when any element is NaN; 0 for no elements).
template <typename T>
double max_abs(const T* data, int64_t count);
// data *= factor (the factor rounded to T first, as a PyTorch scalar is).
template <typename T>
void scale_in_place(T* data, int64_t count, double factor);
// data = clamp(data, -limit, limit); NaN stays NaN.
template <typename T>
void clamp_abs_in_place(T* data, int64_t count, double limit);

}  // namespace qatd::kernels::cpu
