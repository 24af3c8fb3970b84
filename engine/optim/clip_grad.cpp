#include "engine/optim/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "kernels/cpu/optimizer_step.h"

namespace qatd::optim {

namespace {

// The gradients of `params` that exist, checked for a compute dtype and the CPU.
std::vector<Tensor> defined_grads(const std::vector<Tensor>& params, std::string_view op) {
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    QATD_CHECK(params[i].defined(), "{}: parameter {} is an undefined tensor", op, i);
    Tensor grad = params[i].grad();
    if (!grad.defined()) continue;
    QATD_CHECK(grad.dtype() == DType::f32 || grad.dtype() == DType::f64,
               "{}: the gradient of parameter {} has dtype {} (only f32 and f64 are supported)", op, i, grad.dtype());
    QATD_CHECK(grad.device().is_cpu(), "{}: the gradient of parameter {} is on {}; only CPU is supported for now", op,
               i, grad.device().str());
    grads.push_back(grad);
  }
  return grads;
}

bool all_f32(const std::vector<Tensor>& grads) {
  return std::all_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.dtype() == DType::f32; });
}

// Applies `kernel(data, count)` to a gradient in place: directly when contiguous, else through a
// contiguous copy written back.
template <typename Kernel>
void rewrite(const Tensor& grad, Kernel&& kernel) {
  Tensor buffer = grad.contiguous();
  dispatch_floating(buffer.dtype(), "clip_grad", [&]<typename T>() { kernel(buffer.data<T>(), buffer.numel()); });
  Tensor target = grad;
  if (buffer.is_same(target)) {
    target.bump_version();
  } else {
    NoGradGuard no_grad;
    target.copy_(buffer);
  }
}

double total_norm_of(const std::vector<Tensor>& grads, double norm_type) {
  double accumulated = 0.0;
  for (const Tensor& grad : grads) {
    Tensor values = grad.contiguous();
    dispatch_floating(values.dtype(), "clip_grad_norm_", [&]<typename T>() {
      if (std::isinf(norm_type)) {
        double largest = kernels::cpu::max_abs(values.data<T>(), values.numel());
        accumulated = std::isnan(largest) || std::isnan(accumulated) ? NAN : std::max(accumulated, largest);
      } else {
        accumulated += kernels::cpu::sum_abs_power(values.data<T>(), values.numel(), norm_type);
      }
    });
  }
  double total = std::isinf(norm_type)  ? accumulated
                 : norm_type == 2.0     ? std::sqrt(accumulated)
                 : norm_type == 1.0     ? accumulated
                                        : std::pow(accumulated, 1.0 / norm_type);
  return all_f32(grads) ? static_cast<double>(static_cast<float>(total)) : total;
}

void check_norm_type(double norm_type, std::string_view op) {
  QATD_CHECK(norm_type > 0.0 && !std::isnan(norm_type) && norm_type != -kInfinityNorm,
             "{}: norm_type must be > 0 or infinity, got {}", op, norm_type);
}

// PyTorch's clip coefficient, computed in the gradients' dtype: clamp(max_norm * (1 / (total + 1e-6)), max=1).
template <typename T>
double clip_coefficient(double total, double max_norm) {
  T denominator = static_cast<T>(total) + static_cast<T>(1e-6);
  T coefficient = (T(1) / denominator) * static_cast<T>(max_norm);
  return std::isnan(coefficient) ? coefficient : std::min(coefficient, T(1));
}

}  // namespace

double total_grad_norm(const std::vector<Tensor>& params, double norm_type) {
  check_norm_type(norm_type, "total_grad_norm");
  return total_norm_of(defined_grads(params, "total_grad_norm"), norm_type);
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  check_norm_type(norm_type, "clip_grad_norm_");
  QATD_CHECK(max_norm >= 0.0 && !std::isnan(max_norm), "clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  std::vector<Tensor> grads = defined_grads(params, "clip_grad_norm_");
  if (grads.empty()) return 0.0;
  double total = total_norm_of(grads, norm_type);
  QATD_CHECK(!error_if_nonfinite || std::isfinite(total),
             "clip_grad_norm_: the total norm of order {} of the gradients is non-finite ({}), so it cannot be "
             "clipped; pass error_if_nonfinite=false to scale the gradients by the non-finite norm anyway",
             norm_type, total);
  double coefficient =
      all_f32(grads) ? clip_coefficient<float>(total, max_norm) : clip_coefficient<double>(total, max_norm);
  if (coefficient == 1.0) return total;  // multiplying by 1 changes nothing
  for (const Tensor& grad : grads) {
    rewrite(grad, [&]<typename T>(T* data, int64_t count) { kernels::cpu::scale_in_place(data, count, coefficient); });
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  QATD_CHECK(clip_value >= 0.0 && !std::isnan(clip_value), "clip_grad_value_: clip_value must be >= 0, got {}",
             clip_value);
  for (const Tensor& grad : defined_grads(params, "clip_grad_value_")) {
    rewrite(grad,
            [&]<typename T>(T* data, int64_t count) { kernels::cpu::clamp_abs_in_place(data, count, clip_value); });
  }
}

}  // namespace qatd::optim
