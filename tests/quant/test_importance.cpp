// Importance: files (CSV, JSON) and their round trips, validation against a plan's sites, uniform
// and normalized importances, and the Fisher and Hutchinson estimates on models whose values are
// known exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "engine/engine.h"
#include "engine/nn/nn.h"
#include "quant/importance.h"
#include "quant/quantization_plan.h"
#include "tests/test_support.h"

namespace qatd::quant {
namespace {

std::string write_text(const std::string& name, const std::string& text) {
  std::string path = testing::temporary_path(name);
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

double relative_error(double ours, double reference) { return std::abs(ours - reference) / std::abs(reference); }

// Prints and checks one estimate against its exact value.
void check_estimate(const std::string& what, double ours, double reference, double tolerance) {
  double error = relative_error(ours, reference);
  std::printf("%-64s %.10g vs exact %.10g: relative error %.3e (tolerance %.0e)\n", what.c_str(), ours, reference,
              error, tolerance);
  CHECK(error <= tolerance);
}

// fc (4 -> 3, no bias) then out (3 -> 2).
class Regressor : public nn::UnaryModule {
 public:
  explicit Regressor(uint64_t seed) : generator(seed) {
    fc = register_module("fc", std::make_shared<nn::Linear>(4, 3, false, &generator));
    out = register_module("out", std::make_shared<nn::Linear>(3, 2, true, &generator));
  }
  Tensor forward(const Tensor& x) override { return (*out)(tanh((*fc)(x))); }
  std::string type_name() const override { return "Regressor"; }
  Generator generator;
  std::shared_ptr<nn::Linear> fc, out;
};

}  // namespace

TEST_CASE("importance CSV and JSON files round-trip exactly", "[quant]") {
  Importance importance{{"image_encoder.trunk.blocks.0.attn.qkv.weight", "head.output", "b.weight", "c.weight"},
                        {0.1, 1e-20, 123456.789, -2.5}};  // a Hutchinson trace may be negative
  std::string path = testing::temporary_path("importance.csv");
  write_importance_csv(path, importance);
  Importance csv = read_importance(path);
  CHECK(csv.sites == importance.sites);
  CHECK(csv.values == importance.values);
  CHECK(importance_to_csv(importance).rfind("site,importance\n", 0) == 0);

  std::string json_path = write_text("importance.json", R"({"head.output": 2.5, "b.weight": 1e-3, "c.weight": 7})");
  Importance json = read_importance(json_path);
  CHECK(json.at("head.output") == 2.5);
  CHECK(json.at("b.weight") == 1e-3);
  CHECK(json.at("c.weight") == 7.0);
  CHECK_THAT(error_of([&] { json.at("b.weigth"); }), Catch::Contains("did you mean 'b.weight'"));

  Importance spaced = parse_importance_csv("site,importance\r\n a.weight , 2 \r\n\r\nb.weight,3e2\n", "spaced.csv");
  CHECK(spaced.sites == std::vector<std::string>{"a.weight", "b.weight"});
  CHECK(spaced.values == std::vector<double>{2.0, 300.0});
  Tensor tensor = spaced.to_tensor();
  CHECK(tensor.dtype() == DType::f32);
  CHECK(tensor.to_vector<float>() == std::vector<float>{2.0f, 300.0f});
}

TEST_CASE("importance files with errors are rejected naming the file, line and site", "[quant]") {
  CHECK_THAT(error_of([] { parse_importance_csv("name,value\na,1\n", "imp.csv"); }),
             Catch::Contains("imp.csv:1") && Catch::Contains("header 'site,importance'"));
  CHECK_THAT(error_of([] { parse_importance_csv("site,importance\na,1\nb,x1\n", "imp.csv"); }),
             Catch::Contains("imp.csv:3") && Catch::Contains("site 'b'") && Catch::Contains("not a number"));
  CHECK_THAT(error_of([] { parse_importance_csv("site,importance\na,1\na,2\n", "imp.csv"); }),
             Catch::Contains("imp.csv:3") && Catch::Contains("'a' appears twice"));
  CHECK_THAT(error_of([] { parse_importance_csv("site,importance\na,1,2\n", "imp.csv"); }),
             Catch::Contains("imp.csv:2"));
  CHECK_THAT(error_of([] { parse_importance_csv("site,importance\na,nan\n", "imp.csv"); }),
             Catch::Contains("must be finite"));
  CHECK_THAT(error_of([] { parse_importance_csv("", "imp.csv"); }), Catch::Contains("empty importance file"));
  CHECK_THAT(error_of([] { parse_importance_json("[1, 2]", "imp.json"); }),
             Catch::Contains("imp.json") && Catch::Contains("JSON object"));
  CHECK_THAT(error_of([] { parse_importance_json(R"({"a": "high"})", "imp.json"); }),
             Catch::Contains("site 'a'") && Catch::Contains("not a number"));
  CHECK_THAT(error_of([] { parse_importance_json("{", "imp.json"); }), Catch::Contains("imp.json: JSON error"));
  CHECK_THAT(error_of([] { read_importance("importance.txt"); }), Catch::Contains(".csv or .json"));
  CHECK_THAT(error_of([] { read_importance("/nonexistent/importance.csv"); }),
             Catch::Contains("/nonexistent/importance.csv"));
}

TEST_CASE("importance is validated against the plan's sites, naming missing and unknown ones", "[quant]") {
  std::vector<std::string> sites = {"blocks.0.mlp.weight", "blocks.1.mlp.weight", "head.output"};
  Importance shuffled{{"head.output", "blocks.0.mlp.weight", "blocks.1.mlp.weight"}, {3.0, 1.0, 2.0}};
  Importance matched = validate_importance(shuffled, sites, "imp.csv");
  CHECK(matched.sites == sites);
  CHECK(matched.values == std::vector<double>{1.0, 2.0, 3.0});

  Importance wrong{{"blocks.0.mlp.weigth", "blocks.1.mlp.weight", "neck.output"}, {1.0, 0.0, 1.0}};
  std::string message = error_of([&] { validate_importance(wrong, sites, "imp.csv"); });
  CHECK_THAT(message, Catch::Contains("imp.csv") &&
                          Catch::Contains("missing from the importance (2): blocks.0.mlp.weight, head.output") &&
                          Catch::Contains("unknown sites (2): blocks.0.mlp.weigth (did you mean blocks.0.mlp.weight?)") &&
                          Catch::Contains("neck.output") &&
                          Catch::Contains("not positive (1): blocks.1.mlp.weight = 0"));

  Importance uniform = uniform_importance(sites);
  CHECK(uniform.sites == sites);
  CHECK(uniform.values == std::vector<double>{1.0, 1.0, 1.0});
  Importance normalized = normalize(matched, ImportanceNormalization::mean);
  CHECK(normalized.values == std::vector<double>{0.5, 1.0, 1.5});
  CHECK(normalize(matched, ImportanceNormalization::none).values == matched.values);
  CHECK(parse_importance_normalization("mean") == ImportanceNormalization::mean);
  CHECK_THAT(error_of([] { parse_importance_normalization("maen"); }), Catch::Contains("did you mean mean"));
}

TEST_CASE("Fisher importance is the mean squared gradient over K evaluations", "[quant]") {
  // loss_k = (k + 1) * (sum a1 w1^2 + sum a2 w2^2): the gradient is 2 (k + 1) a w, so
  // F = mean_k mean_j (2 (k + 1) a_j w_j)^2 exactly.
  Tensor w1 = from_vector<double>({0.5, -1.0, 2.0});
  Tensor w2 = from_vector<double>({1.5, 0.25, -0.75, 3.0}, {2, 2});
  Tensor a1 = from_vector<double>({1.0, 2.0, 3.0});
  Tensor a2 = from_vector<double>({0.5, 4.0, 1.0, 0.1}, {2, 2});
  SampledLoss loss = [&](int64_t k) {
    return (sum(a1 * w1 * w1) + sum(a2 * w2 * w2)) * static_cast<double>(k + 1);
  };
  const int64_t samples = 3;
  Importance fisher = fisher_importance({{"w1", w1}, {"w2", w2}}, loss, {.samples = samples});
  REQUIRE(fisher.sites == std::vector<std::string>{"w1", "w2"});
  auto exact = [&](const Tensor& a, const Tensor& w) {
    std::vector<double> av = a.to_vector<double>(), wv = w.to_vector<double>();
    double total = 0.0;
    for (int64_t k = 0; k < samples; ++k) {
      double mean = 0.0;
      for (size_t j = 0; j < av.size(); ++j) mean += std::pow(2.0 * (k + 1) * av[j] * wv[j], 2);
      total += mean / static_cast<double>(av.size());
    }
    return total / samples;
  };
  check_estimate("Fisher w1 (f64)", fisher.values[0], exact(a1, w1), 1e-14);
  check_estimate("Fisher w2 (f64)", fisher.values[1], exact(a2, w2), 1e-14);
  CHECK_FALSE(w1.requires_grad());  // restored
  CHECK_FALSE(w1.grad().defined());
}

TEST_CASE("Hutchinson importance gives Tr(H)/n of a quadratic loss (2 sum(a)/n) by finite differences",
          "[quant]") {
  for (DType dtype : {DType::f64, DType::f32}) {
    const double tolerance = dtype == DType::f64 ? 1e-9 : 1e-3;
    Tensor w1 = from_vector<double>({0.5, -1.0, 2.0}).to(dtype);
    Tensor w2 = from_vector<double>({1.5, 0.25, -0.75, 3.0}, {2, 2}).to(dtype);
    Tensor a1 = from_vector<double>({1.0, 2.0, 3.0}).to(dtype);
    Tensor a2 = from_vector<double>({0.5, 4.0, 1.0, 0.1}, {2, 2}).to(dtype);
    std::vector<float> w1_before = w1.to_vector<float>();
    SampledLoss loss = [&](int64_t) { return sum(a1 * w1 * w1) + sum(a2 * w2 * w2); };
    // A diagonal Hessian makes every Rademacher sample exact, so any K gives 2 sum(a) / n.
    Importance trace = hutchinson_importance({{"w1", w1}, {"w2", w2}}, loss, {.samples = 2, .seed = 7});
    std::string name(dtype_name(dtype));
    check_estimate("Hutchinson Tr(H)/n, w1 (" + name + "), exact 2 sum(a1) / 3", trace.values[0], 2.0 * 6.0 / 3.0,
                   tolerance);
    check_estimate("Hutchinson Tr(H)/n, w2 (" + name + "), exact 2 sum(a2) / 4", trace.values[1], 2.0 * 5.6 / 4.0,
                   tolerance);
    CHECK(w1.to_vector<float>() == w1_before);  // the weights are restored exactly
  }
}

TEST_CASE("Hutchinson with off-diagonal Hessian terms: exact per sample, unbiased over samples", "[quant]") {
  // loss = w1' A w1 + c (w1 . w2): H_11 = 2A (trace 2 tr(A)), H_12 = c I. With the steps
  // eps_i = 1e-3 rms(w_i), each sample's term is v1' (2A v1 + c (eps2 / eps1) v2) / n; replaying the
  // generator gives the exact value of the estimator.
  Tensor w1 = from_vector<double>({0.3, -0.2, 0.7, 1.1});
  Tensor w2 = from_vector<double>({-0.4, 0.9, 0.1, 0.6});
  const std::vector<double> a = {2.0, 0.5, -0.3, 0.1,  //
                                 0.5, 1.0, 0.8,  -0.6,  //
                                 -0.3, 0.8, 3.0, 0.4,  //
                                 0.1, -0.6, 0.4, 1.5};
  Tensor matrix = from_vector<double>(a, {4, 4});
  const double c = 0.7;
  std::vector<int64_t> calls;
  SampledLoss loss = [&](int64_t k) {
    calls.push_back(k);
    Tensor column = w1.unsqueeze(1);
    return sum(column * matmul(matrix, column)) + sum(w1 * w2) * c;
  };
  const int64_t samples = 4000;
  const uint64_t seed = 3;
  Importance trace = hutchinson_importance({{"w1", w1}, {"w2", w2}}, loss, {.samples = samples, .seed = seed});
  CHECK(calls.size() == 2 * samples);
  CHECK((calls[0] == 0 && calls[1] == 0 && calls[2] == 1 && calls[3] == 1));  // each sample's data twice

  auto rms = [](const Tensor& w) { return std::sqrt(sum(w * w).item() / static_cast<double>(w.numel())); };
  const double step_ratio = rms(w2) / rms(w1);
  Generator generator(seed);
  double replay = 0.0;
  for (int64_t k = 0; k < samples; ++k) {
    std::vector<double> v1 = (randint(0, 2, {4}, DType::f64, &generator) * 2.0 - 1.0).to_vector<double>();
    std::vector<double> v2 = (randint(0, 2, {4}, DType::f64, &generator) * 2.0 - 1.0).to_vector<double>();
    for (int i = 0; i < 4; ++i) {
      double hv = c * step_ratio * v2[i];
      for (int j = 0; j < 4; ++j) hv += 2.0 * a[i * 4 + j] * v1[j];
      replay += v1[i] * hv;
    }
  }
  replay /= samples * 4.0;
  check_estimate("Hutchinson w1 vs the replayed estimator", trace.values[0], replay, 1e-9);
  double exact = 2.0 * (2.0 + 1.0 + 3.0 + 1.5) / 4.0;
  check_estimate("Hutchinson w1 vs the exact Tr(H)/n (4000 samples)", trace.values[0], exact, 0.08);
  // w2 has no curvature of its own: its estimate is only the cross term's noise, c (v1 . v2) / n.
  std::printf("Hutchinson w2 (exact Tr(H)/n = 0): %.3e (tolerance 0.05 absolute)\n", trace.values[1]);
  CHECK(std::abs(trace.values[1]) <= 0.05);
}

TEST_CASE("Hutchinson's central differences are second-order accurate on a quartic loss", "[quant]") {
  // loss = sum w^4: H = diag(12 w^2), the difference quotient is 12 w^2 + 4 eps^2 v^2.
  Tensor w = from_vector<double>({0.9, -1.3, 0.6, 2.0, -0.4});
  std::vector<double> values = w.to_vector<double>();
  double exact = 0.0;
  for (double value : values) exact += 12.0 * value * value;
  exact /= static_cast<double>(values.size());
  Importance trace = hutchinson_importance({{"w", w}}, [&](int64_t) { return sum(pow(w, 4.0)); }, {.samples = 1});
  check_estimate("Hutchinson on sum(w^4), relative step 1e-3", trace.values[0], exact, 1e-5);
}

TEST_CASE("gradient importance over a quantized model: the float model's values, state restored", "[quant]") {
  Regressor model(21);
  Generator generator(5);
  Tensor x = randn({8, 4}, DType::f32, &generator);
  Tensor y = randn({8, 2}, DType::f32, &generator);
  Loss loss = [&] { return mse_loss(model(x), y); };

  // References on the float model, before any plan.
  Importance fisher_reference = fisher_importance({{"fc.weight", model.fc->weight}, {"out.weight", model.out->weight}},
                                                  [&](int64_t) { return loss(); }, {.samples = 2});
  Importance hutchinson_reference =
      hutchinson_importance({{"fc.weight", model.fc->weight}, {"out.weight", model.out->weight}},
                            [&](int64_t) { return loss(); }, {.samples = 16, .seed = 4});
  Tensor output;
  {
    NoGradGuard no_grad;
    output = model(x);
  }
  // The output site's Fisher: d mse / d output = 2 (output - y) / numel.
  Tensor output_gradient = (output - y) * (2.0 / static_cast<double>(output.numel()));
  double output_fisher = sum(output_gradient * output_gradient).item() / static_cast<double>(output.numel());

  QuantizationPlan plan = QuantizationPlan::from_toml_text(R"(
[quant]
[[quant.rules]]
pattern = "*"
weights = true
bits_init = 3
[[quant.rules]]
pattern = "out"
outputs = true
)");
  QuantizedModel quantized = apply_plan(model, plan);
  quantized.train(true);
  Tensor sentinel = full({3, 4}, 5.0);
  model.fc->weight.set_grad(sentinel);
  std::vector<float> weights_before = model.fc->weight.to_vector<float>();

  Importance fisher = fisher_importance(quantized, loss, {.samples = 2});
  CHECK(fisher.sites == quantized.site_names());
  check_estimate("model Fisher fc.weight vs the float model", fisher.at("fc.weight"), fisher_reference.values[0],
                 1e-6);
  check_estimate("model Fisher out.weight vs the float model", fisher.at("out.weight"), fisher_reference.values[1],
                 1e-6);
  check_estimate("model Fisher out.output vs 2 (output - y) / numel", fisher.at("out.output"), output_fisher, 1e-5);
  CHECK(model.fc->weight.grad().is_same(sentinel));
  CHECK(quantized.enabled());
  for (const QuantSite& site : quantized.sites()) CHECK(site.quantizer->is_training());

  CHECK_THAT(error_of([&] { hutchinson_importance(quantized, loss); }),
             Catch::Contains("output sites have no weight to perturb: out.output"));
  quantized.remove();

  QuantizedModel weights_only = apply_plan(model, QuantizationPlan::uniform_weights(3, false));
  Importance hutchinson = hutchinson_importance(weights_only, loss, {.samples = 16, .seed = 4});
  check_estimate("model Hutchinson fc.weight vs the float model", hutchinson.at("fc.weight"),
                 hutchinson_reference.values[0], 1e-6);
  CHECK(model.fc->weight.to_vector<float>() == weights_before);

  Importance weighted =
      hutchinson_importance(weights_only, loss, {.samples = 16, .times_quantization_error = true, .seed = 4});
  for (const QuantSite& site : weights_only.sites()) {
    NoGradGuard no_grad;
    Tensor error = site.quantizer->forward(site.weight) - site.weight;
    double squared = sum(error * error).item();
    REQUIRE(squared > 0.0);
    check_estimate("Hutchinson x ||Q(W) - W||^2, " + site.name, weighted.at(site.name),
                   hutchinson.at(site.name) * squared, 1e-6);
  }
  CHECK_THAT(error_of([&] { fisher_importance({{"fc.weight", model.fc->weight}}, SampledLoss([&](int64_t) { return loss(); }),
                                              {.times_quantization_error = true}); }),
             Catch::Contains("needs the quantizers"));
  CHECK_THAT(error_of([&] { fisher_importance(weights_only, loss, {.samples = 0}); }),
             Catch::Contains("samples must be at least 1"));
  CHECK_THAT(error_of([&] {
               fisher_importance({{"unused", zeros({2})}}, SampledLoss([&](int64_t) { return loss(); }));
             }),
             Catch::Contains("no gradient reached these sites") && Catch::Contains("unused"));

  std::string path = testing::temporary_path("hutchinson.csv");
  write_importance_csv(path, hutchinson);
  Importance reread = validate_importance(read_importance(path), weights_only.site_names(), path);
  CHECK(reread.values == hutchinson.values);
}

}  // namespace qatd::quant
