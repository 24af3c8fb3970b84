// Repeated evaluations are bit-identical: the same forward and backward, run again in the same
// process (with the heap in another state) or with another number of threads, gives the same
// bits, as a trainer that must reproduce its losses exactly after a resume needs. Covers the
// kernels whose summation order could follow the thread count or a buffer's address (reductions,
// layer norm, softmax, attention, GEMM on odd sizes and offset views, convolutions, the vectorized
// transcendental functions) and the SAM 2 micro model end to end.
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_image_predictor.h"

namespace qatd {
namespace {

// Named results of one evaluation, as float64 (exact for float32 values, -0 and NaN included).
using Results = std::vector<std::pair<std::string, std::vector<double>>>;

int64_t differing_elements(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return static_cast<int64_t>(std::max(a.size(), b.size()));
  int64_t count = 0;
  for (size_t i = 0; i < a.size(); ++i) count += std::memcmp(&a[i], &b[i], sizeof(double)) != 0;
  return count;
}

// Prints and counts the elements of `other` whose bits differ from `reference`.
int64_t compare(const std::string& label, const Results& reference, const Results& other) {
  REQUIRE(reference.size() == other.size());
  int64_t total = 0, elements = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    INFO(label << ": " << reference[i].first);
    REQUIRE(reference[i].first == other[i].first);
    const int64_t differing = differing_elements(reference[i].second, other[i].second);
    if (differing > 0) std::printf("  %s: %s differs in %lld elements\n", label.c_str(), reference[i].first.c_str(),
                                   static_cast<long long>(differing));
    total += differing;
    elements += static_cast<int64_t>(reference[i].second.size());
  }
  std::printf("%-58s %lld of %lld elements differ\n", label.c_str(), static_cast<long long>(total),
              static_cast<long long>(elements));
  return total;
}

// Restores the thread count when a test ends, whatever it set.
struct ThreadCountGuard {
  int saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

// Heap blocks of odd sizes kept alive across a call: memory that kernels take from malloc (16-byte
// aligned only) then lands at other addresses than in the previous evaluation.
struct HeapClutter {
  std::vector<std::unique_ptr<char[]>> blocks;
  explicit HeapClutter(int seed) {
    for (int i = 0; i < 64; ++i) blocks.emplace_back(new char[static_cast<size_t>(16 * ((seed * 7 + i * 13) % 61) + 8)]);
  }
};

// Runs `evaluate` on 1 thread, then again on 1 thread with a cluttered heap, then on 2 and 3
// threads, and requires every run to match the first bit for bit.
void require_reproducible(const std::string& name, const std::function<Results()>& evaluate) {
  ThreadCountGuard guard;
  set_num_threads(1);
  const Results reference = evaluate();
  {
    HeapClutter clutter(1);
    CHECK(compare(name + ", 1 thread, run again", reference, evaluate()) == 0);
  }
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    HeapClutter clutter(threads);
    CHECK(compare(name + ", " + std::to_string(threads) + " threads", reference, evaluate()) == 0);
    CHECK(compare(name + ", " + std::to_string(threads) + " threads, run again", reference, evaluate()) == 0);
  }
}

// Forward output and the gradients of every input for a random upstream gradient.
Results forward_backward(const std::vector<Tensor>& inputs, const std::function<Tensor(const std::vector<Tensor>&)>& op) {
  std::vector<Tensor> leaves;
  for (const Tensor& input : inputs) leaves.push_back(input.detach().set_requires_grad(true));
  Tensor output = op(leaves);
  Generator generator(99);
  output.backward(randn(output.shape(), output.dtype(), &generator));
  Results results = {{"output", output.to_vector<double>()}};
  for (size_t i = 0; i < leaves.size(); ++i) {
    results.push_back({"grad " + std::to_string(i), leaves[i].grad().to_vector<double>()});
  }
  return results;
}

std::vector<Tensor> random_inputs(const std::vector<Shape>& shapes, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> inputs;
  for (const Shape& shape : shapes) inputs.push_back(randn(shape, DType::f32, &generator));
  return inputs;
}

struct OpCase {
  std::string name;
  std::vector<Shape> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> run;
};

}  // namespace

TEST_CASE("ops give bit-identical results across runs and thread counts", "[determinism]") {
  using Inputs = std::vector<Tensor>;
  const std::vector<OpCase> cases = {
      {"sum of 1M elements", {{1000003}}, [](const Inputs& x) { return sum(x[0]); }},
      {"sum over rows and columns", {{37, 4099, 11}},
       [](const Inputs& x) { return add(sum(x[0], {1}).sum(), sum(x[0], {2}).sum()); }},
      {"mean and variance terms", {{64, 5000}}, [](const Inputs& x) { return mean(mul(x[0], x[0]), {1}); }},
      {"layer norm, rows (65536 x 24)", {{65536, 24}, {24}, {24}},
       [](const Inputs& x) { return layer_norm(x[0], {24}, x[1], x[2]); }},
      {"layer norm 2d, columns (2 x 19 x 45 x 47)", {{2, 19, 45, 47}, {19}, {19}},
       [](const Inputs& x) { return layer_norm2d(x[0], x[1], x[2]); }},
      {"softmax, rows of 1001", {{300, 1001}}, [](const Inputs& x) { return softmax(x[0], 1); }},
      {"log softmax, columns", {{3, 257, 517}}, [](const Inputs& x) { return log_softmax(x[0], 1); }},
      {"matmul 333 x 517 x 129", {{333, 517}, {517, 129}}, [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul of offset views", {{301, 520}, {519, 133}},
       [](const Inputs& x) { return matmul(x[0].narrow(1, 1, 517), x[1].narrow(0, 2, 517).narrow(1, 3, 127)); }},
      {"batched matmul 7 x 65 x 97 x 33", {{7, 65, 97}, {7, 97, 33}},
       [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"linear 4099 x 61 -> 211", {{4099, 61}, {211, 61}, {211}},
       [](const Inputs& x) { return linear(x[0], x[1], x[2]); }},
      {"attention, 3 heads of 1000 x 40", {{1, 3, 1000, 40}, {1, 3, 777, 40}, {1, 3, 777, 24}},
       [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"attention, 150 windows of 49 x 16", {{150, 49, 16}, {150, 49, 16}, {150, 49, 16}},
       [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"conv2d 3x3, 37 -> 29 channels", {{1, 37, 61, 59}, {29, 37, 3, 3}, {29}},
       [](const Inputs& x) { return conv2d(x[0], x[1], x[2], Conv2dOptions{.padding = {1, 1}}); }},
      {"conv2d 1x1, 45 -> 11 channels, 2 images", {{2, 45, 33, 35}, {11, 45, 1, 1}, {11}},
       [](const Inputs& x) { return conv2d(x[0], x[1], x[2]); }},
      {"gelu and exp of 1M + 3 elements", {{1000003}},
       [](const Inputs& x) { return add(gelu(x[0]), exp(mul(x[0], 0.5))); }},
  };
  for (const OpCase& item : cases) {
    SECTION(item.name) {
      const Inputs inputs = random_inputs(item.inputs, 7);
      require_reproducible(item.name, [&] { return forward_backward(inputs, item.run); });
    }
  }
}

TEST_CASE("SAM 2 micro forward and backward are bit-identical across runs and thread counts",
          "[determinism][sam2]") {
  const std::string directory = std::string(QATD_TEST_DATA_DIR) + "/fixtures/sam2_micro_a/";
  std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(directory + "meta.json", directory + "model.safetensors");
  const Tensor image = io::read_image(directory + "image.png");
  const Tensor points = from_vector(std::vector<float>{60.0f, 50.0f, 100.0f, 120.0f}, {2, 2});
  const Tensor labels = from_vector(std::vector<int32_t>{1, 0}, {2});
  auto evaluate = [&] {
    model->zero_grad();
    sam2::SAM2ImagePredictor predictor(*model);
    predictor.set_image_tensor(predictor.transforms().transform_image(image), {image.shape()[0], image.shape()[1]});
    sam2::PreparedPrompts prompts =
        sam2::prepare_prompts(predictor.transforms(), points, labels, Tensor(), predictor.original_size(), true);
    sam2::DecoderPass pass = predictor.decode(prompts.point_coords, prompts.point_labels, Tensor(), true);
    Generator generator(3);
    Tensor loss = add(sum(mul(pass.decoder.masks, randn(pass.decoder.masks.shape(), DType::f32, &generator))),
                      sum(pass.decoder.iou_pred));
    loss.backward();
    Results results = {{"image embedding", predictor.features().image_embed.to_vector<double>()},
                       {"masks", pass.decoder.masks.to_vector<double>()},
                       {"iou", pass.decoder.iou_pred.to_vector<double>()},
                       {"loss", loss.to_vector<double>()}};
    for (const auto& [name, parameter] : model->named_parameters()) {
      if (parameter.grad().defined()) results.push_back({"grad " + name, parameter.grad().to_vector<double>()});
    }
    return results;
  };
  require_reproducible("SAM 2 micro forward + backward", evaluate);
}

}  // namespace qatd
