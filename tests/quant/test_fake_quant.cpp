// FakeQuantizer numerics: outputs on the grid, level counts, zero and symmetry, the bitwidth it
// uses, clipping, the enable toggle, observers, LSQ initialisation and hand-computed gradients,
// float32 against float64, and bad input. Gradients by finite differences: test_fake_quant_gradients.cpp.
#include <cmath>
#include <cstdio>
#include <set>

#include <catch2/catch.hpp>

#include "quant/fake_quantize.h"
#include "tests/quant/fake_quant_reference.h"
#include "tests/test_support.h"

namespace qatd::testing {
namespace {

using quant::FakeQuantizer;
using quant::QuantGrid;
using quant::ScaleSource;
using quant::Surrogate;

const char* source_name(ScaleSource source) {
  static std::string names[4];
  std::string& name = names[static_cast<int>(source)];
  name = quant::to_string(source);
  return name.c_str();
}

std::vector<double> values(const Tensor& tensor) { return tensor.to(DType::f64).to_vector<double>(); }

// Writes `value` into every element of a parameter or buffer (as a user or a checkpoint would).
void set_state(Tensor& tensor, double value) {
  NoGradGuard no_grad;
  tensor.fill_(value);
}

}  // namespace

TEST_CASE("fake quant outputs lie on the grid, with at most 2^n levels per channel", "[quant][fake_quant]") {
  int cases = 0;
  for (ScaleSource source :
       {ScaleSource::min_max, ScaleSource::moving_average, ScaleSource::percentile, ScaleSource::learned}) {
    for (auto [symmetric, is_signed] : {std::pair{true, true}, {true, false}, {false, true}, {false, false}}) {
      for (int64_t axis : {-1, 0, 1, 2}) {
        INFO("source " << source_name(source) << " symmetric " << symmetric << " signed " << is_signed << " axis "
                       << axis);
        quant::QuantizerSpec spec = make_spec(source, symmetric, is_signed, axis);
        spec.percentile = 90.0;  // clips some values
        FakeQuantizer quantizer(spec, bit_variable(3.6));
        Generator generator(17 + cases);
        Tensor x = mul(randn({4, 6, 5}, DType::f32, &generator), 2.0);
        x.data<float>()[0] = 0.0f;
        x.data<float>()[37] = 0.0f;
        QuantGrid grid = quantizer.grid(x);
        Tensor y = quantizer(x);
        REQUIRE(grid.bits == 4);
        const int64_t channels = axis < 0 ? 1 : x.size(axis);
        REQUIRE(grid.scale.numel() == channels);
        std::vector<double> scale = values(grid.scale);
        std::vector<double> zero = symmetric ? std::vector<double>(channels, 0.0) : values(grid.zero_point);
        std::vector<float> out = y.to_vector<float>();
        std::vector<std::set<double>> levels(channels);
        double q_min = reference_q_min(4, symmetric, is_signed), q_max = reference_q_max(4, is_signed);
        double worst_off_grid = 0.0;
        for (int64_t i = 0; i < x.numel(); ++i) {
          int64_t c = channel_of(i, x.shape(), axis);
          double k = out[i] / scale[c];
          worst_off_grid = std::max(worst_off_grid, std::abs(k - std::round(k)));
          double q = std::round(k) + zero[c];
          CHECK(q >= q_min);
          CHECK(q <= q_max);
          levels[c].insert(std::round(k));
        }
        CHECK(worst_off_grid < 1e-4);
        for (const auto& channel_levels : levels) CHECK(channel_levels.size() <= (symmetric && is_signed ? 15u : 16u));
        // Zero is exactly representable (asymmetric grids through the integer zero point).
        CHECK(out[0] == 0.0f);
        CHECK(out[37] == 0.0f);
        for (int64_t c = 0; c < channels; ++c) CHECK(zero[c] == std::round(zero[c]));

        // The export's integers dequantize to the forward bit for bit.
        Tensor q = quantizer.quantize_to_integers(x, grid);
        std::vector<int64_t> integers = q.to_vector<int64_t>();
        int64_t mismatches = 0;
        for (int64_t i = 0; i < x.numel(); ++i) {
          int64_t c = channel_of(i, x.shape(), axis);
          float dequantized = static_cast<float>(integers[i] - static_cast<int64_t>(zero[c])) * static_cast<float>(scale[c]);
          mismatches += dequantized != out[i];
        }
        CHECK(mismatches == 0);

        // Observer scales follow the documented formula from the state the forward used.
        if (source != ScaleSource::learned) {
          std::vector<double> low = values(quantizer.running_min), high = values(quantizer.running_max);
          for (int64_t c = 0; c < channels; ++c) {
            ReferenceGrid expected = reference_observer_grid(low[c], high[c], 4, symmetric, is_signed);
            CHECK(scale[c] == Approx(expected.scale).epsilon(1e-6));
            CHECK(zero[c] == expected.zero_point);
          }
        } else {
          std::vector<double> step = values(quantizer.step);
          for (int64_t c = 0; c < channels; ++c) CHECK(scale[c] == step[c]);
        }

        // A symmetric signed grid is symmetric: Q(-x) = -Q(x) exactly (the state is frozen in eval).
        if (symmetric && is_signed) {
          quantizer.eval();
          std::vector<float> mirrored = quantizer(neg(x)).to_vector<float>();
          int64_t asymmetric = 0;
          for (int64_t i = 0; i < x.numel(); ++i) asymmetric += mirrored[i] != -out[i];
          CHECK(asymmetric == 0);
        }
        ++cases;
      }
    }
  }
  std::printf("fake quant grid checks: %d configurations (4 sources x 4 grids x 4 granularities)\n", cases);
}

TEST_CASE("fake quant uses n = round(clamp(b, bits_min, bits_max)) bits", "[quant][fake_quant]") {
  Tensor x = linspace(-1.0, 1.0, 4001);
  for (auto [b, n] : {std::pair{1.2, 2}, {2.49, 2}, {2.5, 3}, {4.0, 4}, {5.5, 6}, {7.7, 8}, {11.0, 8}}) {
    INFO("b = " << b);
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, true, true), bit_variable(b));
    CHECK(quantizer.grid(x).bits == n);
    CHECK(quant::integer_bits(b, quantizer.spec) == n);
    std::vector<float> out = quantizer(x).to_vector<float>();
    std::set<float> distinct(out.begin(), out.end());
    // max|x| = 1 on the top level: every level of the narrow signed grid is used.
    CHECK(distinct.size() == static_cast<size_t>((1 << n) - 1));
    CHECK(*distinct.rbegin() == 1.0f);
    CHECK(*distinct.begin() == -1.0f);
  }
  CHECK(quant::grid_min(4, true) == -8);
  CHECK(quant::grid_max(4, true) == 7);
  CHECK(quant::grid_min(4, false) == 0);
  CHECK(quant::grid_max(4, false) == 15);
}

TEST_CASE("fake quant clips outside the range and passes no gradient there", "[quant][fake_quant]") {
  SECTION("min_max observer, signed symmetric: calibrated to [-1, 1] in eval mode") {
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, true, true), bit_variable(4.0));
    quantizer.eval();
    quantizer(linspace(-1.0, 1.0, 11));
    Tensor x = from_vector<float>({-3.0f, -1.5f, -0.5f, 0.0f, 0.7f, 2.5f});
    x.set_requires_grad(true);
    Tensor y = quantizer(x);
    std::vector<float> out = y.to_vector<float>();
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == -1.0f);
    CHECK(out[5] == 1.0f);
    // The kernel multiplies by inv_scale = 1 / fl(1/7) = 6.9999998 (as torch does): -3.4999999 rounds to -3.
    CHECK(out[2] == Approx(-3.0 / 7.0));
    y.backward(ones_like(y));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 0, 1, 1, 1, 0});
    CHECK(values(quantizer.running_min)[0] == -1.0);  // frozen in eval after the first call
  }
  SECTION("learned step 0.25 at 3 bits: the grid ends at +-0.75") {
    FakeQuantizer quantizer(make_spec(ScaleSource::learned, true, true), bit_variable(3.0));
    set_state(quantizer.step, 0.25);
    std::vector<float> out = quantizer(from_vector<float>({2.0f, -2.0f, 0.3f})).to_vector<float>();
    CHECK(out == std::vector<float>{0.75f, -0.75f, 0.25f});
  }
  SECTION("asymmetric unsigned observer on [-1, 3] at 2 bits: levels (q - 1) 4/3") {
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, false, false), bit_variable(2.0));
    quantizer(from_vector<float>({-1.0f, 3.0f}));
    QuantGrid grid = quantizer.grid(from_vector<float>({0.0f}));
    CHECK(values(grid.scale)[0] == Approx(4.0 / 3.0));
    CHECK(values(grid.zero_point)[0] == 1.0);
    quantizer.eval();
    std::vector<float> out = quantizer(from_vector<float>({-10.0f, 10.0f, 0.0f, 1.5f})).to_vector<float>();
    CHECK(out[0] == Approx(-4.0 / 3.0));
    CHECK(out[1] == Approx(8.0 / 3.0));
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == Approx(4.0 / 3.0));
  }
}

TEST_CASE("a disabled fake quantizer returns its input and records nothing", "[quant][fake_quant]") {
  for (ScaleSource source : {ScaleSource::min_max, ScaleSource::learned}) {
    FakeQuantizer quantizer(make_spec(source, false, false), bit_variable(4.0));
    quantizer.set_enabled(false);
    CHECK_FALSE(quantizer.enabled());
    Tensor x = randn({3, 4});
    Tensor y = quantizer(x);
    CHECK(y.is_same(x));
    CHECK(std::isinf(values(quantizer.running_min)[0]));
    if (source == ScaleSource::learned) CHECK(values(quantizer.step)[0] == 0.0);
    quantizer.set_enabled(true);
    CHECK_FALSE(quantizer(x).is_same(x));
    CHECK(values(quantizer.running_min)[0] == Approx(values(amin(x))[0]));
  }
}

TEST_CASE("observers: min_max accumulates, moving_average is an EMA, eval freezes", "[quant][fake_quant]") {
  Tensor first = from_vector<float>({-1.0f, 2.0f}), second = from_vector<float>({-3.0f, 1.0f});
  Tensor wide = from_vector<float>({-10.0f, 10.0f});
  SECTION("min_max") {
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, false, false), bit_variable(8.0));
    quantizer(first);
    quantizer(second);
    CHECK(values(quantizer.running_min)[0] == -3.0);
    CHECK(values(quantizer.running_max)[0] == 2.0);
    quantizer.eval();
    quantizer(wide);
    CHECK(values(quantizer.running_min)[0] == -3.0);
    CHECK(values(quantizer.running_max)[0] == 2.0);
  }
  SECTION("moving_average with averaging_constant 0.25") {
    quant::QuantizerSpec spec = make_spec(ScaleSource::moving_average, false, false);
    spec.averaging_constant = 0.25;
    FakeQuantizer quantizer(spec, bit_variable(8.0));
    quantizer(first);
    CHECK(values(quantizer.running_min)[0] == -1.0);
    CHECK(values(quantizer.running_max)[0] == 2.0);
    quantizer(second);
    CHECK(values(quantizer.running_min)[0] == Approx(-1.0 + 0.25 * (-3.0 + 1.0)));
    CHECK(values(quantizer.running_max)[0] == Approx(2.0 + 0.25 * (1.0 - 2.0)));
    quantizer.eval();
    quantizer(wide);
    CHECK(values(quantizer.running_min)[0] == Approx(-1.5));
  }
  SECTION("an eval-only quantizer calibrates on its first call, then stays frozen") {
    FakeQuantizer quantizer(make_spec(ScaleSource::moving_average, true, true), bit_variable(8.0));
    quantizer.eval();
    quantizer(first);
    quantizer(wide);
    CHECK(values(quantizer.running_min)[0] == -1.0);
    CHECK(values(quantizer.running_max)[0] == 2.0);
  }
  SECTION("per channel along axis 1") {
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, false, true, 1), bit_variable(8.0));
    quantizer(from_vector<float>({1.0f, -2.0f, 3.0f, -4.0f, 5.0f, 6.0f}, {2, 3}));
    CHECK(values(quantizer.running_min) == std::vector<double>{-4.0, -2.0, 3.0});
    CHECK(values(quantizer.running_max) == std::vector<double>{1.0, 5.0, 6.0});
  }
  SECTION("percentile: of |x| when signed symmetric, both tails otherwise, averaged over calls") {
    Tensor x = linspace(-1.0, 3.0, 401);  // x_i = -1 + 0.01 i
    std::vector<double> xs = values(x), magnitudes;
    for (double v : xs) magnitudes.push_back(std::abs(v));
    std::sort(magnitudes.begin(), magnitudes.end());
    std::sort(xs.begin(), xs.end());
    auto quantile = [](const std::vector<double>& sorted, double fraction) {
      double position = fraction * (sorted.size() - 1);
      size_t below = static_cast<size_t>(position);
      double weight = position - below;
      return below + 1 < sorted.size() ? sorted[below] + weight * (sorted[below + 1] - sorted[below]) : sorted[below];
    };
    quant::QuantizerSpec spec = make_spec(ScaleSource::percentile, true, true);
    spec.percentile = 90.0;
    spec.averaging_constant = 0.5;
    FakeQuantizer symmetric(spec, bit_variable(8.0));
    symmetric(x);
    CHECK(values(symmetric.running_max)[0] == Approx(quantile(magnitudes, 0.9)).epsilon(1e-6));
    CHECK(values(symmetric.running_min)[0] == Approx(-quantile(magnitudes, 0.9)).epsilon(1e-6));
    symmetric(mul(x, 2.0));
    CHECK(values(symmetric.running_max)[0] == Approx(1.5 * quantile(magnitudes, 0.9)).epsilon(1e-6));
    spec.symmetric = false;
    FakeQuantizer asymmetric(spec, bit_variable(8.0));
    asymmetric(x);
    CHECK(values(asymmetric.running_min)[0] == Approx(quantile(xs, 0.1)).epsilon(1e-6));
    CHECK(values(asymmetric.running_max)[0] == Approx(quantile(xs, 0.9)).epsilon(1e-6));
  }
}

TEST_CASE("LSQ: step initialised to 2 mean|x| / sqrt(q_max) on the first call", "[quant][fake_quant]") {
  Tensor x = from_vector<float>({0.5f, -1.0f, 2.0f, -0.25f, 0.0f, 3.0f}, {2, 3});
  FakeQuantizer per_tensor(make_spec(ScaleSource::learned, true, true), bit_variable(4.0));
  per_tensor.eval();  // initialisation happens in any mode
  per_tensor(x);
  CHECK(values(per_tensor.step)[0] == Approx(2.0 * (6.75 / 6.0) / std::sqrt(7.0)).epsilon(1e-6));
  FakeQuantizer per_channel(make_spec(ScaleSource::learned, true, false, 0), bit_variable(3.0));
  per_channel(x);
  std::vector<double> step = values(per_channel.step);
  REQUIRE(step.size() == 2);
  CHECK(step[0] == Approx(2.0 * (3.5 / 3.0) / std::sqrt(7.0)).epsilon(1e-6));
  CHECK(step[1] == Approx(2.0 * (3.25 / 3.0) / std::sqrt(7.0)).epsilon(1e-6));
  CHECK(per_channel.step.requires_grad());
  REQUIRE(per_channel.named_parameters().size() == 1);
  CHECK(per_channel.named_parameters()[0].first == "step");
  // A later call keeps the step (an optimizer owns it now).
  per_channel(mul(x, 10.0));
  CHECK(values(per_channel.step) == step);
}

TEST_CASE("fake quant gradients on hand-computed cases", "[quant][fake_quant]") {
  // x / s = {0.6, -1.8, 4, 0.48} at s = 0.5, 3 bits signed symmetric (q in [-3, 3]): r = {1, -2, 3 (clipped), 0}.
  Tensor upstream = from_vector<float>({1.0f, 2.0f, 3.0f, 4.0f});
  auto input = [] {
    Tensor x = from_vector<float>({0.3f, -0.9f, 2.0f, 0.24f});
    x.set_requires_grad(true);
    return x;
  };
  SECTION("learned, ste: LSQ step gradient, straight-through x gradient, b through the clamp bound") {
    Tensor x = input(), bits = bit_variable(3.0);
    FakeQuantizer quantizer(make_spec(ScaleSource::learned, true, true), bits);
    set_state(quantizer.step, 0.5);
    Tensor y = quantizer(x);
    CHECK(y.to_vector<float>() == std::vector<float>{0.5f, -1.0f, 1.5f, 0.0f});
    y.backward(upstream);
    // sum g (r - x/s) inside, g q_max above: 1 * 0.4 + 2 * (-0.2) + 3 * 3 + 4 * (-0.48) = 7.08,
    // scaled by 1 / sqrt(numel * q_max) = 1 / sqrt(12).
    CHECK(values(quantizer.step.grad())[0] == Approx(7.08 / std::sqrt(12.0)).epsilon(1e-5));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 2, 0, 4});
    // d/db of s q_max(b) = s ln2 2^(b-1) on the clipped element: 3 * 0.5 * ln2 * 4.
    CHECK(values(bits.grad())[0] == Approx(6.0 * std::log(2.0)).epsilon(1e-5));
  }
  SECTION("learned, interp: b gets sum g (Q_4(x) - Q_3(x)) at integer b (right derivative)") {
    Tensor x = input(), bits = bit_variable(3.0);
    FakeQuantizer quantizer(make_spec(ScaleSource::learned, true, true, -1, Surrogate::interp), bits);
    set_state(quantizer.step, 0.5);
    quantizer(x).backward(upstream);
    // Q_4 = {0.5, -1, 2, 0}, Q_3 = {0.5, -1, 1.5, 0}: 3 * 0.5.
    CHECK(values(bits.grad())[0] == Approx(1.5).epsilon(1e-6));
    CHECK(values(quantizer.step.grad())[0] == Approx(7.08 / std::sqrt(12.0)).epsilon(1e-5));
  }
  SECTION("min_max observer, ste: b enters s(b) = max|x| / (2^(b-1) - 1)") {
    Tensor x = input(), bits = bit_variable(3.0);
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, true, true), bits);
    quantizer(x).backward(upstream);
    // s = 2 / 3; x / s = {0.45, -1.35, 3, 0.36}, r = {0, -1, 3, 0}, all inside;
    // s'(3) = -s ln2 2^2 / 3 = -(8/9) ln2; sum g (r - x/s) = -0.45 + 0.7 + 0 - 1.44 = -1.19.
    CHECK(values(bits.grad())[0] == Approx(8.0 / 9.0 * 1.19 * std::log(2.0)).epsilon(1e-5));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  }
  SECTION("b outside [bits_min, bits_max] gets no gradient") {
    Tensor x = input(), bits = bit_variable(9.0);
    FakeQuantizer quantizer(make_spec(ScaleSource::min_max, true, true), bits);
    quantizer(x).backward(upstream);
    CHECK(values(bits.grad())[0] == 0.0);
  }
}

TEST_CASE("fake quant in float32 agrees with float64", "[quant][fake_quant]") {
  for (Surrogate surrogate : {Surrogate::ste, Surrogate::interp}) {
    for (ScaleSource source : {ScaleSource::min_max, ScaleSource::learned}) {
      INFO("source " << source_name(source) << " surrogate " << quant::to_string(surrogate));
      Generator generator(5);
      Tensor x32 = randn({3, 5, 7}, DType::f32, &generator);
      Tensor x64 = x32.to(DType::f64);
      Tensor upstream = randn({3, 5, 7}, DType::f64, &generator);
      Tensor bits32 = bit_variable(4.3), bits64 = bit_variable(4.3);
      quant::QuantizerSpec spec = make_spec(source, false, true, 1, surrogate);
      FakeQuantizer q32(spec, bits32), q64(spec, bits64);
      x32.set_requires_grad(true);
      x64.set_requires_grad(true);
      Tensor y32 = q32(x32), y64 = q64(x64);
      y32.backward(upstream.to(DType::f32));
      y64.backward(upstream);
      double forward = report_difference("fake quant f32 vs f64 forward", y32, y64);
      double input_grad = report_difference("fake quant f32 vs f64 x grad", x32.grad(), x64.grad());
      double bits_grad = report_difference("fake quant f32 vs f64 b grad", bits32.grad(), bits64.grad());
      CHECK(forward <= 1e-6);
      CHECK(input_grad <= 1e-6);
      CHECK(bits_grad <= 1e-4);
      if (source == ScaleSource::learned) {
        CHECK(report_difference("fake quant f32 vs f64 step grad", q32.step.grad(), q64.step.grad()) <= 1e-4);
      }
    }
  }
}

TEST_CASE("fake quant rejects bad input with clear errors", "[quant][fake_quant][errors]") {
  quant::QuantizerSpec spec = make_spec(ScaleSource::min_max, true, true);
  REQUIRE_THROWS_WITH(FakeQuantizer(spec, zeros({2})),
                      Catch::Contains("FakeQuantizer") && Catch::Contains("one-element f32") && Catch::Contains("[2]"));
  REQUIRE_THROWS_WITH(FakeQuantizer(spec, full({1}, 4.0, DType::f64)),
                      Catch::Contains("FakeQuantizer") && Catch::Contains("f64"));
  REQUIRE_THROWS_WITH(FakeQuantizer(spec, Tensor()), Catch::Contains("FakeQuantizer") && Catch::Contains("undefined"));
  quant::QuantizerSpec inverted = spec;
  inverted.bits_min = 6.0;
  inverted.bits_max = 4.0;
  inverted.bits_init = 5.0;
  REQUIRE_THROWS_WITH(FakeQuantizer(inverted, bit_variable(5.0)), Catch::Contains("bits_min 6 is greater than bits_max 4"));
  quant::QuantizerSpec one_bit = spec;
  one_bit.bits_min = 1.0;
  REQUIRE_THROWS_WITH(FakeQuantizer(one_bit, bit_variable(4.0)),
                      Catch::Contains("FakeQuantizer") && Catch::Contains("bits_min >= 2"));

  FakeQuantizer per_channel(make_spec(ScaleSource::min_max, true, true, 3), bit_variable(4.0));
  REQUIRE_THROWS_WITH(per_channel(zeros({2, 3})), Catch::Contains("FakeQuantizer") &&
                                                     Catch::Contains("channel axis 3 is out of range") &&
                                                     Catch::Contains("[2, 3]"));
  FakeQuantizer quantizer(spec, bit_variable(4.0));
  REQUIRE_THROWS_WITH(quantizer(zeros({2, 3}, DType::i64)), Catch::Contains("f32 or f64") && Catch::Contains("i64"));
  REQUIRE_THROWS_WITH(quantizer(zeros({0, 3})), Catch::Contains("empty"));
  REQUIRE_THROWS_WITH(quantizer(Tensor()), Catch::Contains("FakeQuantizer") && Catch::Contains("undefined"));

  FakeQuantizer learned(make_spec(ScaleSource::learned, true, true, 0), bit_variable(4.0));
  learned(randn({3, 4}));
  REQUIRE_THROWS_WITH(learned(randn({5, 4})), Catch::Contains("FakeQuantizer") &&
                                                  Catch::Contains("learned step has shape [3]") &&
                                                  Catch::Contains("5 channel(s)"));
  REQUIRE_THROWS_WITH(learned.allocate_state(4), Catch::Contains("learned step has shape [3]"));
  quant::FakeQuantizeOptions options;
  REQUIRE_THROWS_WITH(quant::fake_quantize_learned(randn({3, 4}), bit_variable(4.0), ones({2}), Tensor(), 1.0, options),
                      Catch::Contains("fake_quantize_learned") && Catch::Contains("learned step") &&
                          Catch::Contains("one value") && Catch::Contains("[2]"));
  options.channel_axis = 1;
  REQUIRE_THROWS_WITH(quant::fake_quantize_learned(randn({3, 4}), bit_variable(4.0), ones({3}), Tensor(), 1.0, options),
                      Catch::Contains("must have shape [4]") && Catch::Contains("axis 1") && Catch::Contains("[3]"));
  REQUIRE_THROWS_WITH(
      quant::fake_quantize_observed(randn({3, 4}), bit_variable(4.0), full({4}, INFINITY), full({4}, -INFINITY), options),
      Catch::Contains("fake_quantize_observed") && Catch::Contains("seen no data"));
  REQUIRE_THROWS_WITH(quant::fake_quantize_observed(randn({3, 4}), full({1, 1}, 4.0, DType::f64), zeros({4}), ones({4}),
                                                    options),
                      Catch::Contains("fake_quantize_observed") && Catch::Contains("bits") && Catch::Contains("f64"));
  REQUIRE_THROWS_WITH(quant::fake_quantize_observed(randn({3, 4}), bit_variable(NAN), zeros({4}), ones({4}), options),
                      Catch::Contains("bit variable is nan"));
}

}  // namespace qatd::testing
