// Gradient-based importance: Fisher (mean squared gradient) and the Hutchinson Hessian trace of
// HAWQ-v2 with finite-difference Hessian-vector products (see importance.h for the formulas).
#include <cmath>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "quant/importance.h"
#include "quant/quantization_plan.h"

namespace qatd::quant {

namespace {

using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;

void check_options(const GradientImportanceOptions& options, const char* op) {
  QATD_CHECK(options.samples >= 1, "{}: samples must be at least 1, got {}", op, options.samples);
  QATD_CHECK(std::isfinite(options.relative_step) && options.relative_step > 0.0,
             "{}: relative_step must be positive and finite, got {}", op, options.relative_step);
}

void check_tensors(const NamedTensorList& tensors, const char* op) {
  for (const auto& [name, tensor] : tensors) {
    QATD_CHECK(tensor.defined() && is_floating(tensor.dtype()), "{}: '{}' must be a defined floating tensor", op,
               name);
    QATD_CHECK(tensor.is_leaf(), "{}: '{}' must be a leaf tensor (a parameter)", op, name);
  }
}

// While alive, the tensors require grad; their requires_grad flags and gradients are restored after.
class GradientScope {
 public:
  explicit GradientScope(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
    for (Tensor& tensor : tensors_) {
      requires_grad_.push_back(tensor.requires_grad());
      grads_.push_back(tensor.grad());
      tensor.set_requires_grad(true);
    }
  }
  ~GradientScope() {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      tensors_[i].set_grad(grads_[i]);
      tensors_[i].set_requires_grad(requires_grad_[i]);
    }
  }
  GradientScope(const GradientScope&) = delete;
  GradientScope& operator=(const GradientScope&) = delete;

 private:
  std::vector<Tensor> tensors_;
  std::vector<bool> requires_grad_;
  std::vector<Tensor> grads_;
};

std::vector<Tensor> tensors_of(const NamedTensorList& named) {
  std::vector<Tensor> tensors;
  for (const auto& [name, tensor] : named) tensors.push_back(tensor);
  return tensors;
}

// Clears the tensors' gradients, evaluates loss(sample) and backpropagates it.
void evaluate(const std::vector<Tensor>& tensors, const SampledLoss& loss, int64_t sample, const char* op) {
  for (const Tensor& tensor : tensors) tensor.set_grad(Tensor());
  Tensor value = loss(sample);
  QATD_CHECK(value.defined() && value.numel() == 1, "{}: the loss of sample {} must be a one-element tensor", op,
             sample);
  QATD_CHECK(value.requires_grad(), "{}: the loss of sample {} does not depend on any site (it has no gradient)", op,
             sample);
  value.backward();
}

double sum_of_squares(const Tensor& tensor) {
  NoGradGuard no_grad;
  return square(tensor.to(DType::f64)).sum().item();
}

void check_reached(const NamedTensorList& tensors, const std::vector<bool>& reached, const char* op) {
  std::vector<std::string> unreached;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!reached[i]) unreached.push_back(tensors[i].first);
  }
  QATD_CHECK(unreached.empty(), "{}: no gradient reached these sites (the loss does not use them): {}", op,
             fmt::join(unreached, ", "));
}

// An output site's squared-gradient sums, collected by a forward hook during backward.
struct OutputAccumulator {
  double squares = 0.0;
  int64_t count = 0;
};

// Fisher over weight tensors and output sites (module outputs captured by hooks).
Importance fisher(const NamedTensorList& tensors, const std::vector<const QuantSite*>& outputs,
                  const SampledLoss& loss, const GradientImportanceOptions& options) {
  const char* op = "fisher_importance";
  check_options(options, op);
  check_tensors(tensors, op);
  std::vector<OutputAccumulator> accumulators(outputs.size());
  std::vector<int> hooks;
  for (size_t i = 0; i < outputs.size(); ++i) {
    OutputAccumulator* accumulator = &accumulators[i];
    hooks.push_back(outputs[i]->module->register_forward_hook([accumulator](nn::Module&, const Tensor& output) {
      if (!GradMode::is_enabled()) return Tensor();
      // An output that needs no gradient has nothing upstream to train, so it may become a leaf.
      Tensor target = output;
      if (!output.requires_grad()) target = output.detach().set_requires_grad(true);
      accumulator->count += output.numel();
      target.register_hook([accumulator](const Tensor& grad) {
        accumulator->squares += sum_of_squares(grad);
        return Tensor();
      });
      return target.is_same(output) ? Tensor() : target;
    }));
  }
  auto remove_hooks = [&] {
    for (size_t i = 0; i < outputs.size(); ++i) outputs[i]->module->remove_forward_hook(hooks[i]);
  };

  std::vector<Tensor> leaves = tensors_of(tensors);
  std::vector<double> totals(tensors.size() + outputs.size(), 0.0);
  std::vector<bool> reached(tensors.size() + outputs.size(), false);
  try {
    GradientScope scope(leaves);
    for (int64_t k = 0; k < options.samples; ++k) {
      for (OutputAccumulator& accumulator : accumulators) accumulator = {};
      evaluate(leaves, loss, k, op);
      for (size_t i = 0; i < leaves.size(); ++i) {
        Tensor grad = leaves[i].grad();
        if (!grad.defined()) continue;
        reached[i] = true;
        totals[i] += sum_of_squares(grad) / static_cast<double>(grad.numel());
      }
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (accumulators[i].count == 0) continue;
        reached[leaves.size() + i] = true;
        totals[leaves.size() + i] += accumulators[i].squares / static_cast<double>(accumulators[i].count);
      }
    }
  } catch (...) {
    remove_hooks();
    throw;
  }
  remove_hooks();

  NamedTensorList all = tensors;
  for (const QuantSite* site : outputs) all.emplace_back(site->name, Tensor());
  check_reached(all, reached, op);
  Importance importance;
  for (size_t i = 0; i < all.size(); ++i) {
    importance.sites.push_back(all[i].first);
    importance.values.push_back(totals[i] / static_cast<double>(options.samples));
  }
  return importance;
}

Importance hutchinson(const NamedTensorList& tensors, const SampledLoss& loss,
                      const GradientImportanceOptions& options) {
  const char* op = "hutchinson_importance";
  check_options(options, op);
  check_tensors(tensors, op);
  std::vector<Tensor> leaves = tensors_of(tensors);
  std::vector<Tensor> originals;
  std::vector<double> steps;
  for (const Tensor& leaf : leaves) {
    originals.push_back(leaf.detach().clone());
    double rms = std::sqrt(sum_of_squares(leaf) / static_cast<double>(std::max<int64_t>(leaf.numel(), 1)));
    steps.push_back(options.relative_step * (rms > 0.0 ? rms : 1.0));
  }
  auto place = [&](const std::vector<Tensor>& directions, double sign) {
    NoGradGuard no_grad;
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (directions.empty()) {
        leaves[i].copy_(originals[i]);
      } else {
        leaves[i].copy_(originals[i] + (sign * steps[i]) * directions[i]);
      }
    }
  };

  Generator generator(options.seed);
  std::vector<double> traces(leaves.size(), 0.0);
  std::vector<bool> reached(leaves.size(), false);
  try {
    GradientScope scope(leaves);
    for (int64_t k = 0; k < options.samples; ++k) {
      std::vector<Tensor> directions;
      for (const Tensor& leaf : leaves) {
        directions.push_back(randint(0, 2, leaf.shape(), leaf.dtype(), &generator) * 2.0 - 1.0);
      }
      std::vector<Tensor> plus(leaves.size());
      for (double sign : {1.0, -1.0}) {
        place(directions, sign);
        evaluate(leaves, loss, k, op);
        for (size_t i = 0; i < leaves.size(); ++i) {
          Tensor grad = leaves[i].grad();
          if (!grad.defined()) continue;
          reached[i] = true;
          if (sign > 0) {
            plus[i] = grad;
          } else if (plus[i].defined()) {
            NoGradGuard no_grad;
            Tensor difference = (plus[i] - grad).to(DType::f64);
            traces[i] += (difference * directions[i].to(DType::f64)).sum().item() / (2.0 * steps[i]);
          }
        }
      }
    }
  } catch (...) {
    place({}, 0.0);
    throw;
  }
  place({}, 0.0);
  check_reached(tensors, reached, op);

  Importance importance;
  for (size_t i = 0; i < leaves.size(); ++i) {
    importance.sites.push_back(tensors[i].first);
    importance.values.push_back(traces[i] / static_cast<double>(options.samples) /
                                static_cast<double>(leaves[i].numel()));
  }
  return importance;
}

// While alive: fake quantization off (the float model's sensitivity), quantizers in eval mode (no
// observer updates), and the model's gradients saved; all restored afterwards.
class ModelScope {
 public:
  explicit ModelScope(QuantizedModel& model) : model_(model), model_enabled_(model.enabled()) {
    for (const QuantSite& site : model.sites()) {
      training_.push_back(site.quantizer->is_training());
      enabled_.push_back(site.quantizer->enabled());
    }
    for (auto& [name, parameter] : model.model().named_parameters()) {
      parameters_.push_back(parameter);
      grads_.push_back(parameter.grad());
    }
    model.set_enabled(false);
    model.train(false);
  }
  ~ModelScope() {
    model_.set_enabled(model_enabled_);
    for (size_t i = 0; i < training_.size(); ++i) {
      model_.sites()[i].quantizer->train(training_[i]);
      model_.sites()[i].quantizer->set_enabled(enabled_[i]);
    }
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].set_grad(grads_[i]);
  }
  ModelScope(const ModelScope&) = delete;
  ModelScope& operator=(const ModelScope&) = delete;

 private:
  QuantizedModel& model_;
  bool model_enabled_;
  std::vector<bool> training_;
  std::vector<bool> enabled_;
  std::vector<Tensor> parameters_;
  std::vector<Tensor> grads_;
};

NamedTensorList weight_sites(const QuantizedModel& model) {
  NamedTensorList tensors;
  for (const QuantSite& site : model.sites()) {
    if (site.kind == SiteKind::weight) tensors.emplace_back(site.name, site.weight);
  }
  return tensors;
}

// Multiplies weight sites' values by ||Q(W) - W||^2 at the quantizer's current bits (inside a
// ModelScope, so that the quantizers are in eval mode and observe nothing new).
void scale_by_quantization_error(QuantizedModel& model, Importance& importance, const char* op) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < importance.sites.size(); ++i) {
    const QuantSite& site = model.site(importance.sites[i]);
    QATD_CHECK(site.kind == SiteKind::weight, "{}: times_quantization_error needs a weight, but '{}' is an output site",
               op, site.name);
    bool enabled = site.quantizer->enabled();
    site.quantizer->set_enabled(true);
    Tensor quantized = site.quantizer->forward(site.weight);
    site.quantizer->set_enabled(enabled);
    importance.values[i] *= sum_of_squares(quantized - site.weight);
  }
}

// The estimate in the model's site order (the estimators list weights before outputs). Values stay
// as estimated: a Hutchinson trace may be negative, which validate_importance reports when used.
Importance in_site_order(const QuantizedModel& model, const Importance& importance) {
  Importance ordered;
  for (const std::string& name : model.site_names()) {
    ordered.sites.push_back(name);
    ordered.values.push_back(importance.at(name));
  }
  return ordered;
}

}  // namespace

Importance fisher_importance(const std::vector<std::pair<std::string, Tensor>>& tensors, const SampledLoss& loss,
                             const GradientImportanceOptions& options) {
  QATD_CHECK(!options.times_quantization_error,
             "fisher_importance: times_quantization_error needs the quantizers (pass the QuantizedModel)");
  return fisher(tensors, {}, loss, options);
}

Importance hutchinson_importance(const std::vector<std::pair<std::string, Tensor>>& tensors, const SampledLoss& loss,
                                 const GradientImportanceOptions& options) {
  QATD_CHECK(!options.times_quantization_error,
             "hutchinson_importance: times_quantization_error needs the quantizers (pass the QuantizedModel)");
  return hutchinson(tensors, loss, options);
}

Importance fisher_importance(QuantizedModel& model, const SampledLoss& loss, const GradientImportanceOptions& options) {
  std::vector<const QuantSite*> outputs;
  for (const QuantSite& site : model.sites()) {
    if (site.kind == SiteKind::output) outputs.push_back(&site);
  }
  QATD_CHECK(!options.times_quantization_error || outputs.empty(),
             "fisher_importance: times_quantization_error needs weights, but the plan has output sites ({} ...)",
             outputs.empty() ? "" : outputs.front()->name);
  ModelScope scope(model);
  Importance importance = fisher(weight_sites(model), outputs, loss, options);
  if (options.times_quantization_error) scale_by_quantization_error(model, importance, "fisher_importance");
  return in_site_order(model, importance);
}

Importance fisher_importance(QuantizedModel& model, const Loss& loss, const GradientImportanceOptions& options) {
  return fisher_importance(model, SampledLoss([&loss](int64_t) { return loss(); }), options);
}

Importance hutchinson_importance(QuantizedModel& model, const SampledLoss& loss,
                                 const GradientImportanceOptions& options) {
  std::vector<std::string> outputs;
  for (const QuantSite& site : model.sites()) {
    if (site.kind == SiteKind::output) outputs.push_back(site.name);
  }
  QATD_CHECK(outputs.empty(),
             "hutchinson_importance: output sites have no weight to perturb: {} (estimate them with "
             "fisher_importance or give an importance file)",
             fmt::join(outputs, ", "));
  ModelScope scope(model);
  Importance importance = hutchinson(weight_sites(model), loss, options);
  if (options.times_quantization_error) scale_by_quantization_error(model, importance, "hutchinson_importance");
  return in_site_order(model, importance);
}

Importance hutchinson_importance(QuantizedModel& model, const Loss& loss, const GradientImportanceOptions& options) {
  return hutchinson_importance(model, SampledLoss([&loss](int64_t) { return loss(); }), options);
}

}  // namespace qatd::quant
