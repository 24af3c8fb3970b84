// Fake-quantization throughput on a 64x256x256 float32 tensor (Google Benchmark), next to this
// machine's memory bandwidth measured in the same binary. tools/bench/compare_fake_quant.py runs
// this and PyTorch's fake-quant ops side by side.
//
// Cases: observed scale (fake_quantize_observed, fixed range: the op itself, no observer pass) or
// learned (LSQ), per tensor or per channel (axis 0, 64 channels), 8 bits signed symmetric;
// forward (no grad), and forward+backward with gradients to x, b (ste or interp) and the step.
// Bytes each pass must move, N = numel, 4 bytes per float:
//   forward           read x, write y                                  2 x 4N
//   forward+backward  forward, then read g and x, write dx              5 x 4N
// Reference bandwidth over arrays of N floats (STREAM's counting, no write-allocate):
//   copy   b = a          2 x 4N
//   triad  a = b + s c    3 x 4N
// GB/s = bytes / time, 1 GB = 1e9 bytes. Threads: OMP_NUM_THREADS.
#include <omp.h>

#include <vector>

#include <benchmark/benchmark.h>

#include "engine/engine.h"
#include "quant/fake_quantize.h"

namespace {

using qatd::Tensor;

const qatd::Shape kShape = {64, 256, 256};
constexpr int64_t kNumel = 64 * 256 * 256;
constexpr double kBytesPerFloat = 4.0;

enum class Source { observed, learned };
enum class Phase { forward, forward_backward };

struct Case {
  Source source;
  bool per_channel;
  Phase phase;
  qatd::quant::Surrogate surrogate;
};

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["bytes"] = benchmark::Counter(bytes);
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void fake_quant(benchmark::State& state, Case c) {
  qatd::Generator generator(0);
  Tensor x = qatd::randn(kShape, qatd::DType::f32, &generator);
  const int64_t channels = c.per_channel ? kShape[0] : 1;
  qatd::quant::FakeQuantizeOptions options;
  if (c.per_channel) options.channel_axis = 0;
  options.surrogate = c.surrogate;
  options.bits_min = 2.0;
  options.bits_max = 8.0;
  Tensor bits = qatd::full({1}, 8.0, qatd::DType::f32);
  qatd::quant::ChannelRange range = qatd::quant::channel_min_max(x, options.channel_axis);
  Tensor range_min = qatd::from_vector(range.min), range_max = qatd::from_vector(range.max);
  Tensor step = qatd::full({channels}, qatd::quant::lsq_initial_step(0.8, 8, true, true), qatd::DType::f32);
  const double grad_scale = qatd::quant::lsq_gradient_scale(kNumel / channels, 8, true, true);
  auto run = [&] {
    return c.source == Source::observed
               ? qatd::quant::fake_quantize_observed(x, bits, range_min, range_max, options)
               : qatd::quant::fake_quantize_learned(x, bits, step, Tensor(), grad_scale, options);
  };
  if (c.phase == Phase::forward) {
    qatd::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(run().raw_data());
    set_bytes(state, 2 * kBytesPerFloat * kNumel);
    return;
  }
  x.set_requires_grad(true);
  bits.set_requires_grad(true);
  step.set_requires_grad(true);
  const Tensor upstream = qatd::ones_like(x);
  for (auto _ : state) {
    x.set_grad(Tensor());
    bits.set_grad(Tensor());
    step.set_grad(Tensor());
    run().backward(upstream);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
  set_bytes(state, 5 * kBytesPerFloat * kNumel);
}

// STREAM-like kernels over arrays of kNumel floats, first touched by the threads that use them.
struct StreamArrays {
  std::vector<float> a, b, c;
  StreamArrays() : a(kNumel), b(kNumel), c(kNumel) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < kNumel; ++i) {
      a[i] = 1.0f;
      b[i] = 2.0f;
      c[i] = 0.5f;
    }
  }
};

void stream_copy(benchmark::State& state) {
  StreamArrays arrays;
  float* __restrict a = arrays.a.data();
  float* __restrict b = arrays.b.data();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < kNumel; ++i) b[i] = a[i];
    benchmark::DoNotOptimize(b);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * kBytesPerFloat * kNumel);
}

void stream_triad(benchmark::State& state) {
  StreamArrays arrays;
  float* __restrict a = arrays.a.data();
  const float* __restrict b = arrays.b.data();
  const float* __restrict c = arrays.c.data();
  const float scalar = 3.0f;
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < kNumel; ++i) a[i] = b[i] + scalar * c[i];
    benchmark::DoNotOptimize(a);
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3 * kBytesPerFloat * kNumel);
}

}  // namespace

int main(int argc, char** argv) {
  using qatd::quant::Surrogate;
  for (Source source : {Source::observed, Source::learned}) {
    for (bool per_channel : {false, true}) {
      const std::string name = std::string("fake_quant_") + (source == Source::observed ? "observed" : "learned") +
                               (per_channel ? "_per_channel" : "_per_tensor");
      benchmark::RegisterBenchmark((name + "/forward").c_str(), fake_quant,
                                   Case{source, per_channel, Phase::forward, Surrogate::ste})
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      for (Surrogate surrogate : {Surrogate::ste, Surrogate::interp}) {
        benchmark::RegisterBenchmark(
            (name + "/forward_backward_" + qatd::quant::to_string(surrogate)).c_str(), fake_quant,
            Case{source, per_channel, Phase::forward_backward, surrogate})
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::RegisterBenchmark("memory_bandwidth/copy", stream_copy)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("memory_bandwidth/triad", stream_triad)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("threads", std::to_string(omp_get_max_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
