// The gradients of fake_quantize_observed and fake_quantize_learned against finite differences of
// the functions quant/fake_quantize.h says they differentiate, in float64, for every grid
// (symmetric/asymmetric x signed/unsigned), per tensor and per channel (first, middle and last
// axis), observed and learned scales, both surrogates:
//   x     straight-through: g inside [low, high] (bounds included), 0 outside, checked against that
//         definition; where the forward clips, it is locally constant and its finite difference
//         (exactly 0) must equal the gradient.
//   step  LSQ: the finite difference of F(s) = s clamp(r + x/s - x/s0, low, high) (r, z frozen),
//         times the gradient scale.
//   b     ste: the finite difference at beta = n of F(beta) (beta in L(beta) and the clamp bounds, z and
//         r frozen, rounding straight-through); interp: of (1 - a) Q_k + a Q_{k+1}, central at a
//         non-integer b, one-sided at an integer b (right) and at b = bits_max (left); outside
//         [bits_min, bits_max] the gradient and the finite difference of the forward are both 0.
// The reference functions are in tests/quant/fake_quant_reference.h; none calls the library's
// grid code. Inputs are placed at r + f with |f| <= 0.35 so no rounding tie is near, and the
// upstream gradient is 0 on elements whose r sits exactly on a clamp bound (F's kinks there make
// a finite difference meaningless; the x check still covers them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "quant/fake_quantize.h"
#include "tests/quant/fake_quant_reference.h"

namespace qatd::testing {
namespace {

using quant::Surrogate;

constexpr double kBitsMin = 2.0, kBitsMax = 6.0;

// Tolerances. The forward, the x gradient and the clipped finite difference are exact arithmetic.
// F(s) and the interp function are linear in s and b, so their finite differences are exact up to
// rounding; the b gradient is returned in float32 (one-element f32 bits), hence 1e-6 for b. F(beta)
// is smooth (powers of 2): central differences with h = 1e-4 are accurate to ~1e-9.
constexpr double kForwardTolerance = 0.0;
constexpr double kInputTolerance = 0.0;
constexpr double kStepTolerance = 1e-9;
constexpr double kBitsTolerance = 1e-6;

// The worst error of each check over the cases run.
struct Worst {
  double forward = 0, input = 0, clipped = 0, step = 0, ste = 0, interp_central = 0, interp_right = 0,
         interp_left = 0, outside = 0;
  int clipped_elements = 0;
  void merge(const Worst& other) {
    forward = std::max(forward, other.forward);
    input = std::max(input, other.input);
    clipped = std::max(clipped, other.clipped);
    step = std::max(step, other.step);
    ste = std::max(ste, other.ste);
    interp_central = std::max(interp_central, other.interp_central);
    interp_right = std::max(interp_right, other.interp_right);
    interp_left = std::max(interp_left, other.interp_left);
    outside = std::max(outside, other.outside);
    clipped_elements += other.clipped_elements;
  }
};

struct Config {
  bool learned = false;
  bool symmetric = true;
  bool is_signed = true;
  int64_t axis = -1;  // -1: per tensor
};

std::string describe(const Config& config) {
  return std::string(config.learned ? "learned " : "observed ") + (config.symmetric ? "sym " : "asym ") +
         (config.is_signed ? "signed " : "unsigned ") +
         (config.axis < 0 ? "per-tensor" : "axis " + std::to_string(config.axis));
}

const Shape kShape = {3, 4, 5};

// One channel's site parameters: ranges that straddle 0 unevenly, steps of different sizes.
std::vector<ReferenceSite> make_sites(const Config& config, int64_t channels) {
  std::vector<ReferenceSite> sites;
  for (int64_t c = 0; c < channels; ++c) {
    ReferenceSite site;
    site.learned = config.learned;
    site.symmetric = config.symmetric;
    site.is_signed = config.is_signed;
    site.min = -0.4 - 0.17 * static_cast<double>(c);
    site.max = 0.9 + 0.11 * static_cast<double>(c);
    site.step = 0.06 + 0.013 * static_cast<double>(c);
    sites.push_back(site);
  }
  return sites;
}

Tensor channel_tensor(const std::vector<ReferenceSite>& sites, double ReferenceSite::*field) {
  std::vector<double> values;
  for (const ReferenceSite& site : sites) values.push_back(site.*field);
  return from_vector(values);
}

struct Inputs {
  std::vector<double> x, g;
  std::vector<int64_t> r;    // round(x / s) at n, zero-point relative
  std::vector<bool> inside;  // low <= r <= high
};

// x = s (k + f) with k over [low - 3, high + 3] (every bound hit when the tensor is large enough) and
// |f| <= 0.35; g in [-1, 1], 0 where k is a clamp bound.
Inputs make_inputs(const std::vector<ReferenceSite>& sites, const Config& config, int64_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> fraction(-0.35, 0.35), upstream(-1.0, 1.0);
  Inputs inputs;
  const int64_t numel = kShape[0] * kShape[1] * kShape[2];
  for (int64_t i = 0; i < numel; ++i) {
    const ReferenceGrid grid = sites[channel_of(i, kShape, config.axis)].grid(n);
    const int64_t low = static_cast<int64_t>(grid.q_min - grid.zero_point);
    const int64_t high = static_cast<int64_t>(grid.q_max - grid.zero_point);
    // Half the elements near the bounds so that both sides of each bound are well covered.
    int64_t k;
    if (i % 2 == 0) {
      k = std::uniform_int_distribution<int64_t>(low - 3, high + 3)(random);
    } else {
      const int64_t bound = (i % 4 == 1) ? low : high;
      k = bound + std::uniform_int_distribution<int64_t>(-2, 2)(random);
    }
    inputs.x.push_back(grid.scale * (static_cast<double>(k) + fraction(random)));
    inputs.r.push_back(k);
    inputs.inside.push_back(k >= low && k <= high);
    inputs.g.push_back(k == low || k == high ? 0.0 : upstream(random));
  }
  return inputs;
}

// sum_i g_i f(x_i, channel of i).
double weighted_sum(const Inputs& inputs, const Config& config, const std::function<double(double, int64_t)>& f) {
  double total = 0.0;
  for (size_t i = 0; i < inputs.x.size(); ++i) {
    total += inputs.g[i] * f(inputs.x[i], channel_of(i, kShape, config.axis));
  }
  return total;
}

double relative_error(double ours, double reference) {
  return std::abs(ours - reference) / std::max(std::abs(reference), 1e-12);
}

struct OpResult {
  Tensor y, dx, dbits, dstep;
};

// Runs the op on `x` (float64) with bits b; the step gradient is scaled by grad_scale.
OpResult run_op(const Config& config, Surrogate surrogate, const std::vector<ReferenceSite>& sites,
                const std::vector<double>& x_values, double b, double grad_scale, const std::vector<double>* upstream) {
  quant::FakeQuantizeOptions options;
  if (config.axis >= 0) options.channel_axis = config.axis;
  options.symmetric = config.symmetric;
  options.is_signed = config.is_signed;
  options.surrogate = surrogate;
  options.bits_min = kBitsMin;
  options.bits_max = kBitsMax;
  Tensor x = from_vector(x_values, kShape);
  Tensor bits = bit_variable(b);
  const bool grads = upstream != nullptr;
  x.set_requires_grad(grads);
  bits.set_requires_grad(grads);
  Tensor min = channel_tensor(sites, &ReferenceSite::min), max = channel_tensor(sites, &ReferenceSite::max);
  Tensor step;
  OpResult result;
  if (config.learned) {
    step = channel_tensor(sites, &ReferenceSite::step);
    step.set_requires_grad(grads);
    // A symmetric learned grid needs no range: pass none, as FakeQuantizer does.
    result.y = quant::fake_quantize_learned(x, bits, step, config.symmetric ? Tensor() : min, grad_scale, options);
  } else {
    result.y = quant::fake_quantize_observed(x, bits, min, max, options);
  }
  if (grads) {
    result.y.backward(from_vector(*upstream, kShape));
    result.dx = x.grad();
    result.dbits = bits.grad();
    if (config.learned) result.dstep = step.grad();
  }
  return result;
}

double bits_gradient(const OpResult& result) { return result.dbits.to(DType::f64).to_vector<double>()[0]; }

// One bit value b with one surrogate: every check that applies there.
Worst check_case(const Config& config, Surrogate surrogate, double b_requested, uint64_t seed) {
  const int64_t channels = config.axis < 0 ? 1 : kShape[config.axis];
  const std::vector<ReferenceSite> sites = make_sites(config, channels);
  const double b = static_cast<double>(static_cast<float>(b_requested));  // as the f32 bit variable holds it
  const int64_t n = static_cast<int64_t>(std::round(std::clamp(b, kBitsMin, kBitsMax)));
  const Inputs inputs = make_inputs(sites, config, n, seed);
  const double positive_levels = reference_levels(static_cast<double>(n), config.symmetric, config.is_signed);
  const double grad_scale = 1.0 / std::sqrt(static_cast<double>(inputs.x.size() / channels) * positive_levels);
  const OpResult result = run_op(config, surrogate, sites, inputs.x, b, grad_scale, &inputs.g);
  Worst worst;
  INFO(describe(config) << " surrogate " << quant::to_string(surrogate) << " b " << b);

  // Forward: the reference grid at n.
  const std::vector<double> y = result.y.to_vector<double>(), dx = result.dx.to_vector<double>();
  for (size_t i = 0; i < inputs.x.size(); ++i) {
    const ReferenceGrid grid = sites[channel_of(i, kShape, config.axis)].grid(n);
    // Compared exactly first: the compiler may fuse y - (q - z) s into one FMA, whose result is the
    // product's rounding error even when y equals the rounded product.
    const double expected = grid.apply(inputs.x[i]);
    if (y[i] != expected) worst.forward = std::max(worst.forward, std::abs(y[i] - expected));
    // x: the straight-through definition (g inside, bounds included; 0 outside).
    worst.input = std::max(worst.input, std::abs(dx[i] - (inputs.inside[i] ? inputs.g[i] : 0.0)));
  }
  // x where the forward clips: a finite difference of sum y (locally constant there, so exactly 0).
  std::vector<double> shifted = inputs.x;
  auto total = [&](const std::vector<double>& x) {
    const std::vector<double> out = run_op(config, surrogate, sites, x, b, grad_scale, nullptr).y.to_vector<double>();
    double sum = 0.0;
    for (size_t i = 0; i < out.size(); ++i) sum += out[i];  // all-ones weights: every element counts
    return sum;
  };
  for (size_t i = 0; i < inputs.x.size(); ++i) {
    if (inputs.inside[i]) continue;
    const double h = 0.1 * sites[channel_of(i, kShape, config.axis)].grid(n).scale;
    shifted[i] = inputs.x[i] + h;
    const double plus = total(shifted);
    shifted[i] = inputs.x[i] - h;
    const double minus = total(shifted);
    shifted[i] = inputs.x[i];
    worst.clipped = std::max(worst.clipped, std::abs((plus - minus) / (2 * h) - dx[i]));
    ++worst.clipped_elements;
  }

  // LSQ step: FD of F(s) per channel, times the gradient scale.
  if (config.learned) {
    const std::vector<double> dstep = result.dstep.to_vector<double>();
    for (int64_t c = 0; c < channels; ++c) {
      const double s0 = sites[c].step, h = 1e-3 * s0;
      auto F = [&](double s) {
        return weighted_sum(inputs, config, [&](double x, int64_t channel) {
          return channel == c ? sites[c].lsq_relaxation(x, s, s0, n) : 0.0;
        });
      };
      const double expected = grad_scale * (F(s0 + h) - F(s0 - h)) / (2 * h);
      worst.step = std::max(worst.step, relative_error(dstep[c], expected));
    }
  }

  const double ours = bits_gradient(result);
  if (b < kBitsMin || b > kBitsMax) {
    // Outside the range: the gradient is 0, and so is a finite difference of the forward in b.
    const double h = 0.05;
    auto forward_sum = [&](double bits) {
      const std::vector<double> out =
          run_op(config, surrogate, sites, inputs.x, bits, grad_scale, nullptr).y.to_vector<double>();
      double sum = 0.0;
      for (size_t i = 0; i < out.size(); ++i) sum += inputs.g[i] * out[i];
      return sum;
    };
    const double fd = (forward_sum(b + h) - forward_sum(b - h)) / (2 * h);
    worst.outside = std::max(std::abs(ours), std::abs(fd));
  } else if (surrogate == Surrogate::ste) {
    const double h = 1e-4;
    auto F = [&](double beta) {
      return weighted_sum(inputs, config,
                          [&](double x, int64_t c) { return sites[c].ste_relaxation(x, beta, n); });
    };
    const double fd = (F(n + h) - F(n - h)) / (2 * h);
    worst.ste = relative_error(ours, fd);
  } else {
    const bool integer = b == std::floor(b);
    const int64_t k = b >= kBitsMax ? static_cast<int64_t>(kBitsMax) - 1 : static_cast<int64_t>(std::floor(b));
    auto G = [&](double bits) {
      return weighted_sum(inputs, config, [&](double x, int64_t c) { return sites[c].interpolated(x, bits, k); });
    };
    if (!integer) {
      const double h = 0.1;
      worst.interp_central = relative_error(ours, (G(b + h) - G(b - h)) / (2 * h));
    } else if (b < kBitsMax) {
      const double h = 0.25;
      worst.interp_right = relative_error(ours, (G(b + h) - G(b)) / h);
    } else {
      const double h = 0.25;
      worst.interp_left = relative_error(ours, (G(b) - G(b - h)) / h);
    }
  }
  CHECK(worst.forward <= kForwardTolerance);
  CHECK(worst.input <= kInputTolerance);
  CHECK(worst.clipped <= kInputTolerance);
  CHECK(worst.step <= kStepTolerance);
  CHECK(worst.ste <= kBitsTolerance);
  CHECK(worst.interp_central <= kBitsTolerance);
  CHECK(worst.interp_right <= kBitsTolerance);
  CHECK(worst.interp_left <= kBitsTolerance);
  CHECK(worst.outside == 0.0);
  return worst;
}

}  // namespace

TEST_CASE("fake quant gradients match finite differences of the functions they differentiate",
          "[quant][fake_quant][gradcheck]") {
  std::printf("\nfake quant gradients vs finite differences (float64; bits in [%g, %g]; errors: forward, x and clipped "
              "x absolute, the rest relative)\n",
              kBitsMin, kBitsMax);
  std::printf("%-34s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "configuration", "forward", "x STE", "x clip FD",
              "LSQ step", "ste b", "interp b", "interp >", "interp <", "outside");
  Worst all;
  uint64_t seed = 1;
  int configurations = 0;
  for (bool learned : {false, true}) {
    for (auto [symmetric, is_signed] : {std::pair{true, true}, {true, false}, {false, true}, {false, false}}) {
      for (int64_t axis : {-1, 0, 1, 2}) {
        const Config config{learned, symmetric, is_signed, axis};
        Worst worst;
        // ste at n = 4 (b = 4.3), at bits_min and at bits_max; interp central (4.3), right (3, bits_min),
        // left (bits_max); below and above the range for both.
        for (double b : {4.3, kBitsMin, kBitsMax, 1.4, 6.6}) worst.merge(check_case(config, Surrogate::ste, b, ++seed));
        for (double b : {4.3, 3.0, kBitsMin, kBitsMax, 1.4, 6.6}) {
          worst.merge(check_case(config, Surrogate::interp, b, ++seed));
        }
        std::printf("%-34s %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e\n", describe(config).c_str(),
                    worst.forward, worst.input, worst.clipped, learned ? worst.step : 0.0, worst.ste,
                    worst.interp_central, worst.interp_right, worst.interp_left, worst.outside);
        all.merge(worst);
        ++configurations;
      }
    }
  }
  std::printf("%-34s %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e\n", "worst", all.forward, all.input,
              all.clipped, all.step, all.ste, all.interp_central, all.interp_right, all.interp_left, all.outside);
  std::printf("%-34s %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e %9.1e\n", "tolerance", kForwardTolerance,
              kInputTolerance, kInputTolerance, kStepTolerance, kBitsTolerance, kBitsTolerance, kBitsTolerance,
              kBitsTolerance, 0.0);
  std::printf("%d configurations x 11 bit values; %d clipped elements checked by finite differences\n",
              configurations, all.clipped_elements);
  CHECK(all.clipped_elements > 1000);
}

TEST_CASE("the ste surrogate of an observer under the eps guard: the scale is constant in b",
          "[quant][fake_quant][gradcheck]") {
  // A range [0, 0] gives s = eps at every bitwidth: F(beta) moves only through the clamp bounds,
  // and only clipped elements contribute.
  ReferenceSite site;
  quant::FakeQuantizeOptions options;
  options.bits_min = kBitsMin;
  options.bits_max = kBitsMax;
  const int64_t n = 3;
  const double s = site.grid(n).scale;
  REQUIRE(s == kFloatEpsilon);
  const std::vector<double> x = {0.2 * s, -1.1 * s, 1.9 * s, 5.3 * s, -7.2 * s, 40.0 * s};
  const std::vector<double> g = {1.0, -0.5, 0.25, 2.0, -1.5, 0.75};
  Tensor input = from_vector(x), bits = bit_variable(3.2);
  quant::fake_quantize_observed(input, bits, zeros({1}, DType::f64), zeros({1}, DType::f64), options)
      .backward(from_vector(g));
  const double ours = bits.grad().to(DType::f64).to_vector<double>()[0];
  const double h = 1e-4;
  auto F = [&](double beta) {
    double total = 0.0;
    for (size_t i = 0; i < x.size(); ++i) total += g[i] * site.ste_relaxation(x[i], beta, n);
    return total;
  };
  const double fd = (F(n + h) - F(n - h)) / (2 * h);
  // Clipped: 5.3 and 40 above 3 (s ln2 4 each), -7.2 below -3 (-s ln2 4).
  const double by_hand = s * std::log(2.0) * 4.0 * (2.0 + 0.75 + 1.5);
  const double error = relative_error(ours, fd);
  std::printf("ste b under the eps guard: ours %.6e, finite difference %.6e, by hand %.6e; relative error %.1e "
              "(tolerance %.0e)\n",
              ours, fd, by_hand, error, kBitsTolerance);
  CHECK(error <= kBitsTolerance);
  CHECK(relative_error(fd, by_hand) <= 1e-6);
}

}  // namespace qatd::testing
