// Forward and forward+backward timings of the engine's heavy ops at SAM 2 sizes (Google
// Benchmark). tools/bench/compare_ops.py runs this and the same ops in PyTorch on the same
// machine with the same thread count, and prints the ratios.
#include <functional>

#include <benchmark/benchmark.h>

#include "engine/engine.h"

namespace {

using qatd::Shape;
using qatd::Tensor;

struct OpBenchmark {
  const char* name;
  std::vector<Shape> inputs;  // every input is float32 and differentiable
  std::function<Tensor(const std::vector<Tensor>&)> run;
};

std::vector<Tensor> make_inputs(const OpBenchmark& op) {
  qatd::Generator generator(0);
  std::vector<Tensor> inputs;
  for (const Shape& shape : op.inputs) inputs.push_back(qatd::mul(qatd::randn(shape, qatd::DType::f32, &generator), 0.5));
  return inputs;
}

void forward(benchmark::State& state, const OpBenchmark& op) {
  std::vector<Tensor> inputs = make_inputs(op);
  qatd::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(op.run(inputs).raw_data());
}

void forward_backward(benchmark::State& state, const OpBenchmark& op) {
  std::vector<Tensor> inputs = make_inputs(op);
  for (Tensor& input : inputs) input.set_requires_grad(true);
  Tensor upstream = qatd::ones_like(op.run(inputs));
  for (auto _ : state) {
    for (Tensor& input : inputs) input.set_grad(Tensor());
    op.run(inputs).backward(upstream);
    benchmark::DoNotOptimize(inputs[0].grad().raw_data());
  }
}

const std::vector<OpBenchmark>& benchmarks() {
  using Inputs = std::vector<Tensor>;
  static const std::vector<OpBenchmark> table = {
      {"matmul_1024", {{1024, 1024}, {1024, 1024}}, [](const Inputs& x) { return qatd::matmul(x[0], x[1]); }},
      {"linear_65536x96_to_384", {{65536, 96}, {384, 96}, {384}},
       [](const Inputs& x) { return qatd::linear(x[0], x[1], x[2]); }},
      {"linear_4096x384_to_1536", {{4096, 384}, {1536, 384}, {1536}},
       [](const Inputs& x) { return qatd::linear(x[0], x[1], x[2]); }},
      {"conv2d_patch_embed_7x7s4_3to96_1024", {{1, 3, 1024, 1024}, {96, 3, 7, 7}, {96}},
       [](const Inputs& x) {
         return qatd::conv2d(x[0], x[1], x[2], qatd::Conv2dOptions{.stride = {4, 4}, .padding = {3, 3}});
       }},
      {"conv2d_1x1_256_64x64", {{1, 256, 64, 64}, {256, 256, 1, 1}, {256}},
       [](const Inputs& x) { return qatd::conv2d(x[0], x[1], x[2]); }},
      {"conv2d_depthwise_7x7_256_64x64", {{1, 256, 64, 64}, {256, 1, 7, 7}, {256}},
       [](const Inputs& x) {
         return qatd::conv2d(x[0], x[1], x[2], qatd::Conv2dOptions{.padding = {3, 3}, .groups = 256});
       }},
      {"layer_norm_65536x96", {{65536, 96}, {96}, {96}},
       [](const Inputs& x) { return qatd::layer_norm(x[0], {96}, x[1], x[2]); }},
      {"layer_norm_4096x384", {{4096, 384}, {384}, {384}},
       [](const Inputs& x) { return qatd::layer_norm(x[0], {384}, x[1], x[2]); }},
      {"softmax_16x1024x1024", {{16, 1024, 1024}}, [](const Inputs& x) { return qatd::softmax(x[0], -1); }},
      {"attention_global_4h_4096x96", {{1, 4, 4096, 96}, {1, 4, 4096, 96}, {1, 4, 4096, 96}},
       [](const Inputs& x) { return qatd::scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"attention_windowed_256w_64x96", {{256, 1, 64, 96}, {256, 1, 64, 96}, {256, 1, 64, 96}},
       [](const Inputs& x) { return qatd::scaled_dot_product_attention(x[0], x[1], x[2]); }},
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  for (const OpBenchmark& op : benchmarks()) {
    benchmark::RegisterBenchmark((std::string(op.name) + "/forward").c_str(), forward, op)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string(op.name) + "/forward_backward").c_str(), forward_backward, op)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("qatd op benchmarks on %d CPU threads\n", qatd::num_threads());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
