#pragma once
// Per-site importance: how much a site's bits matter, dividing its bit cost in the bit penalty
// (bit_penalty.h), so important sites keep more bits.
//
// Files: CSV with the header `site,importance` and one `name,value` line per site, or JSON
// {"site": value, ...}. Values are finite (a Hutchinson trace may be negative); the penalty needs
// positive ones, which validate_importance checks.
//
// Strategies: a static file; uniform (1 for every site); and two gradient-based estimates that
// the engine computes from a loss closure supplied by the caller, written in the same CSV format:
//   - Fisher: the mean squared gradient of each site's tensor, F_i = (1/K) sum_k mean_j g_kj^2, over
//     K evaluations of the loss (weight sites: the weight's gradient; output sites: the gradient
//     of the module's (fake-quantized) output, over all its calls during the evaluation).
//   - Hutchinson (HAWQ-v2): the average Hessian trace per parameter, Tr(H_i) / n_i, with
//     Tr(H_i) ~ (1/K) sum_k v_k,i . (H v_k)_i for Rademacher vectors v_k drawn over all weight sites at
//     once (the off-diagonal blocks vanish in expectation). The engine has no double backward, so
//     H v comes from central differences of gradients: with a step eps_i per site,
//       H E v ~ (g(W + E v) - g(W - E v)) / 2,  E = diag(eps_i),
//     and site i's term is v_i . (H E v)_i / eps_i. eps_i = relative_step * rms(W_i) (relative_step
//     itself when W_i is all zero); the error is O(eps^2) times third derivatives (none for a
//     quadratic loss) plus float rounding of order 1e-7 |g| / eps. The weights are restored exactly
//     afterwards. Only weight sites have a Hutchinson estimate (an output site is an error).
// Optionally (times_quantization_error) either estimate is multiplied by ||Q(W_i) - W_i||^2, the
// squared error of the site's quantizer at its current bits (HAWQ-v2's sensitivity
// Omega_i = Tr(H_i)/n_i * ||Q(W_i) - W_i||^2); weight sites only.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd::quant {

class QuantizedModel;

// none; mean: divide by the mean, so the average site has importance 1 and lambda keeps the
// meaning "penalty per bit of an average site" whatever the estimate's scale.
enum class ImportanceNormalization { none, mean };
ImportanceNormalization parse_importance_normalization(const std::string& text);  // none | mean
std::string to_string(ImportanceNormalization normalization);

struct Importance {
  std::vector<std::string> sites;
  std::vector<double> values;  // one per site

  // Throws naming the nearest site when absent.
  double at(const std::string& site) const;
  // The values as a [S] tensor in site order.
  Tensor to_tensor(DType dtype = DType::f32) const;
};

// Reads CSV (.csv) or JSON (.json) by the file's extension.
Importance read_importance(const std::string& path);
Importance parse_importance_csv(std::string_view text, const std::string& source);
Importance parse_importance_json(std::string_view text, const std::string& source);
std::string importance_to_csv(const Importance& importance);
// Writes CSV atomically (values printed so that they read back exactly).
void write_importance_csv(const std::string& path, const Importance& importance);
// The JSON object {"site": value, ...} in site order, written atomically (values read back exactly).
void write_importance_json(const std::string& path, const Importance& importance);

// `importance` reordered to `sites`; throws naming every missing and unknown site, and every site
// whose importance is not positive. `source` names the file in the message.
Importance validate_importance(const Importance& importance, const std::vector<std::string>& sites,
                               const std::string& source);
Importance uniform_importance(const std::vector<std::string>& sites);
Importance normalize(const Importance& importance, ImportanceNormalization normalization);
// The same on a tensor of importances (for the bit penalty): importance / mean(importance).
Tensor normalize(const Tensor& importance, ImportanceNormalization normalization);

// The loss closure: sample k (0 <= k < samples) must give the loss of the same data every time it
// is called with k (Hutchinson evaluates each sample twice); a closure without the argument is
// called for every evaluation, and must then keep its data fixed.
using SampledLoss = std::function<Tensor(int64_t sample)>;
using Loss = std::function<Tensor()>;

struct GradientImportanceOptions {
  int64_t samples = 8;             // K: loss evaluations (Fisher) or Rademacher vectors (Hutchinson)
  double relative_step = 1e-3;     // Hutchinson's finite-difference step, relative to rms(W_i)
  bool times_quantization_error = false;
  uint64_t seed = 0;               // Rademacher vectors
};

// Estimates over named tensors (leaves; requires_grad is switched on for the duration and
// restored, and so are their .grad). Other tensors the loss depends on accumulate gradients as
// the closure's backward leaves them.
Importance fisher_importance(const std::vector<std::pair<std::string, Tensor>>& tensors, const SampledLoss& loss,
                             const GradientImportanceOptions& options = {});
Importance hutchinson_importance(const std::vector<std::pair<std::string, Tensor>>& tensors, const SampledLoss& loss,
                                 const GradientImportanceOptions& options = {});

// Estimates for every site of a quantized model (the whole model's .grad is restored afterwards;
// the quantizers run in eval mode and keep their enabled state).
Importance fisher_importance(QuantizedModel& model, const SampledLoss& loss,
                             const GradientImportanceOptions& options = {});
Importance fisher_importance(QuantizedModel& model, const Loss& loss, const GradientImportanceOptions& options = {});
Importance hutchinson_importance(QuantizedModel& model, const SampledLoss& loss,
                                 const GradientImportanceOptions& options = {});
Importance hutchinson_importance(QuantizedModel& model, const Loss& loss,
                                 const GradientImportanceOptions& options = {});

}  // namespace qatd::quant
