// Times the SAM 2 image path (image encoder, prompt encoder, mask decoder for one two-point
// prompt) forward, or forward and backward of a scalar loss, for one model and image size, and
// prints the median time and the process's peak resident memory. One configuration per process,
// so that peak memory belongs to it; tools/bench/compare_sam2_image.py runs the matrix against the
// official code on PyTorch.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "models/sam2/sam2_base.h"

using namespace qatd;

int main(int argc, char** argv) {
  std::string preset = "sam2.1_hiera_t", mode = "forward";
  int64_t size = 1024, iterations = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--preset") preset = value;
    else if (key == "--size") size = std::stoll(value);
    else if (key == "--mode") mode = value;
    else if (key == "--iterations") iterations = std::stoll(value);
    else {
      std::fprintf(stderr, "usage: %s [--preset P] [--size S] [--mode forward|forward_backward] [--iterations N]\n", argv[0]);
      return 2;
    }
  }
  bool backward = mode == "forward_backward";
  sam2::SAM2Config config = sam2::preset_config(preset);
  config.image_size = size;
  Generator generator(0);
  sam2::SAM2Base model(config, &generator);
  model.eval();
  if (!backward) model.requires_grad_(false);
  Tensor image = randn({1, 3, size, size}, DType::f32, &generator);
  Tensor points = from_vector(std::vector<float>{0.3f * size, 0.4f * size, 0.6f * size, 0.5f * size}, {1, 2, 2});
  Tensor labels = from_vector(std::vector<int32_t>{1, 0}, {1, 2});

  std::vector<double> milliseconds;
  for (int64_t iteration = 0; iteration < iterations + 1; ++iteration) {
    auto start = std::chrono::steady_clock::now();
    {
      std::optional<NoGradGuard> no_grad;
      if (!backward) no_grad.emplace();
      sam2::BackboneOutput backbone = model.forward_image(image);
      sam2::ImageFeatures features = model.image_features(backbone);
      sam2::PromptEmbeddings prompts = model.sam_prompt_encoder->forward(points, labels);
      sam2::MaskDecoderOutput out = model.sam_mask_decoder->forward(
          features.image_embed, model.dense_pe(), prompts.sparse_embeddings, prompts.dense_embeddings, true, false,
          features.high_res_feats);
      if (backward) {
        model.zero_grad();
        add(add(sum(out.masks), sum(out.iou_pred)), sum(out.object_score_logits)).backward();
      }
    }
    double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (iteration > 0) milliseconds.push_back(elapsed);  // the first run warms caches and the allocator
  }
  std::sort(milliseconds.begin(), milliseconds.end());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("{\"impl\": \"qatd\", \"preset\": \"%s\", \"size\": %lld, \"mode\": \"%s\", \"threads\": %d, "
              "\"median_ms\": %.2f, \"peak_rss_mb\": %.1f}\n",
              preset.c_str(), static_cast<long long>(size), mode.c_str(), num_threads(),
              milliseconds[milliseconds.size() / 2], usage.ru_maxrss / 1024.0);
  return 0;
}
