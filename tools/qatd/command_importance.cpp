// qatd importance: per-site importance of a quantization plan on SAM 2 (quant/importance.h), written as
// the CSV or JSON file the bit penalty reads.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/sam2_image_predictor.h"
#include "quant/importance.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "tools/qatd/quantized_sam2.h"

namespace qatd::cli {

namespace {

constexpr const char* kHelp = R"(usage: qatd importance --model-config FILE|PRESET --checkpoint FILE --config FILE.toml
                       --method uniform|fisher|hutchinson --out FILE.csv|FILE.json [options]

Estimates how much each site of the [quant] plan in --config matters and writes `site,importance`
CSV (or a JSON object) with one entry per site, in the plan's site order.

  uniform     1 for every site.
  fisher      the mean squared gradient of each site's tensor (weights: the weight; outputs: the
              module's output), averaged over --samples loss evaluations, with fake quantization on.
  hutchinson  HAWQ-v2's Hessian trace per parameter, Tr(H_i) / n_i, from --samples Rademacher
              vectors with finite-difference Hessian-vector products; weight sites only. It runs
              with fake quantization off: the curvature of the float model (through the rounding
              the loss is piecewise constant in the weights and the differences would vanish).

The loss needs no labels: for each image, a fixed 3 x 3 grid of single foreground clicks (at the
centres of a 3 x 3 tiling of the image) is decoded by the float model (fake quantization off);
its outputs are the pseudo-labels. The loss of a sample, for the same clicks, is the binary
cross-entropy of the model's low-resolution mask logits against the float masks binarized at 0,
plus the squared error of the predicted IoUs against the float ones, plus the binary cross-entropy
of the object score logit against the float one binarized at 0 (each a mean). Every mask token
counts (the single-mask one and the multimask ones, before SAM 2 selects among them), so every
output head of the mask decoder is reached. Only the image path runs (image encoder, prompt
encoder, mask decoder): a plan site of the video memory path is an error naming it. Images come
from --images DIR (every .jpg, .jpeg and .png in name order, resized as the predictor does;
sample k uses image k mod their number), or are --samples synthetic images (seeded shapes on a
gradient background). For fisher, unless the checkpoint carries quantizer state, the observers
are first calibrated with one pass over the images.
--times-quantization-error multiplies each weight site by ||Q(W) - W||^2 at its bits (HAWQ-v2's
sensitivity); --normalize mean divides by the mean, so the average site has importance 1.

)";

constexpr int64_t kGridSide = 3;

// One image with its prompts and the float model's pseudo-labels.
struct Sample {
  Tensor input;  // (1, 3, S, S), as SAM2Transforms gives it
  sam2::ImageHW size{0, 0};
  Tensor point_coords;  // (P, 1, 2) in model input space
  Tensor point_labels;  // (P, 1)
  Tensor mask_target;   // (P, T, h, w) float 0 / 1, T mask tokens
  Tensor iou_target;    // (P, T)
  Tensor object_target; // (P, 1) float 0 / 1; undefined when the model predicts no object score
};

std::vector<std::string> image_files(const std::string& directory) {
  namespace fs = std::filesystem;
  QATD_CHECK(fs::is_directory(directory), "qatd importance: --images {} is not a directory", directory);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::string extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && (extension == ".jpg" || extension == ".jpeg" || extension == ".png")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  QATD_CHECK(!files.empty(), "qatd importance: --images {} holds no .jpg, .jpeg or .png file", directory);
  return files;
}

// A size x size RGB image: a two-colour gradient with three filled ellipses and a little noise.
Tensor synthetic_image(int64_t size, Generator& generator) {
  auto colour = [&] {
    return std::array<double, 3>{255 * generator.uniform(), 255 * generator.uniform(), 255 * generator.uniform()};
  };
  const std::array<double, 3> top = colour(), bottom = colour();
  struct Ellipse {
    double x, y, rx, ry;
    std::array<double, 3> colour;
  };
  std::vector<Ellipse> ellipses;
  for (int i = 0; i < 3; ++i) {
    const double s = static_cast<double>(size);
    ellipses.push_back({s * generator.uniform(), s * generator.uniform(), s * (0.1 + 0.2 * generator.uniform()),
                        s * (0.1 + 0.2 * generator.uniform()), colour()});
  }
  std::vector<uint8_t> pixels(static_cast<size_t>(size * size * 3));
  for (int64_t y = 0; y < size; ++y) {
    const double t = static_cast<double>(y) / static_cast<double>(size);
    for (int64_t x = 0; x < size; ++x) {
      std::array<double, 3> value;
      for (int c = 0; c < 3; ++c) value[c] = (1 - t) * top[c] + t * bottom[c];
      for (const Ellipse& e : ellipses) {
        const double dx = (static_cast<double>(x) - e.x) / e.rx, dy = (static_cast<double>(y) - e.y) / e.ry;
        if (dx * dx + dy * dy <= 1.0) value = e.colour;
      }
      for (int c = 0; c < 3; ++c) {
        const double noisy = value[c] + 16.0 * (generator.uniform() - 0.5);
        pixels[static_cast<size_t>((y * size + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(noisy, 0.0, 255.0));
      }
    }
  }
  return from_vector(pixels, {size, size, 3});
}

// The clicks of one image: the centres of a kGridSide x kGridSide tiling, one prompt each.
sam2::PreparedPrompts grid_prompts(const sam2::SAM2Transforms& transforms, const sam2::ImageHW& size) {
  std::vector<float> coordinates;
  for (int64_t row = 0; row < kGridSide; ++row) {
    for (int64_t column = 0; column < kGridSide; ++column) {
      coordinates.push_back(static_cast<float>((column + 0.5) * static_cast<double>(size[1]) / kGridSide));
      coordinates.push_back(static_cast<float>((row + 0.5) * static_cast<double>(size[0]) / kGridSide));
    }
  }
  const int64_t prompts = kGridSide * kGridSide;
  Tensor coords = from_vector(coordinates, {prompts, 1, 2});
  Tensor labels = from_vector(std::vector<int32_t>(static_cast<size_t>(prompts), 1), {prompts, 1});
  return sam2::prepare_prompts(transforms, coords, labels, Tensor(), size);
}

// The mask decoder's outputs for every mask token of the sample's prompts (before any selection),
// recording gradients when grad mode is on.
sam2::MaskPrediction decode(sam2::SAM2Base& model, sam2::SAM2ImagePredictor& predictor, const Sample& sample) {
  predictor.set_image_tensor(sample.input, sample.size);
  const sam2::ImageFeatures& features = predictor.features();
  sam2::PromptEmbeddings prompts = model.sam_prompt_encoder->forward(sample.point_coords, sample.point_labels);
  const bool repeat_image = sample.point_coords.size(0) > 1;
  return model.sam_mask_decoder->predict_masks(features.image_embed, model.dense_pe(), prompts.sparse_embeddings,
                                               prompts.dense_embeddings, repeat_image, features.high_res_feats);
}

void set_targets(Sample& sample, const sam2::MaskPrediction& output) {
  sample.mask_target = gt(output.masks, 0.0).to(DType::f32);
  sample.iou_target = output.iou_pred.detach();
  if (output.object_score_logits.defined()) sample.object_target = gt(output.object_score_logits, 0.0).to(DType::f32);
}

Tensor sample_loss(const sam2::MaskPrediction& output, const Sample& sample) {
  Tensor loss = binary_cross_entropy_with_logits(output.masks, sample.mask_target) +
                mse_loss(output.iou_pred, sample.iou_target);
  if (sample.object_target.defined()) {
    loss = loss + binary_cross_entropy_with_logits(output.object_score_logits, sample.object_target);
  }
  return loss;
}

// Throws naming the plan's sites whose modules did not run while `run` did.
void check_sites_run(quant::QuantizedModel& quantized, const std::function<void()>& run) {
  std::vector<int64_t> calls(quantized.sites().size(), 0);
  std::vector<int> hooks;
  for (size_t i = 0; i < quantized.sites().size(); ++i) {
    int64_t* count = &calls[i];
    hooks.push_back(quantized.sites()[i].module->register_forward_hook([count](nn::Module&, const Tensor&) {
      ++*count;
      return Tensor();
    }));
  }
  try {
    run();
  } catch (...) {
    for (size_t i = 0; i < hooks.size(); ++i) quantized.sites()[i].module->remove_forward_hook(hooks[i]);
    throw;
  }
  std::vector<std::string> idle;
  for (size_t i = 0; i < hooks.size(); ++i) {
    quantized.sites()[i].module->remove_forward_hook(hooks[i]);
    if (calls[i] == 0) idle.push_back(quantized.sites()[i].name);
  }
  QATD_CHECK(idle.empty(),
             "qatd importance: the image path (image encoder, prompt encoder, mask decoder) never runs these plan "
             "sites, so their gradient-based importance is undefined: {} (leave them out of the plan, or use --method "
             "uniform)",
             fmt::join(idle, ", "));
}

std::vector<Sample> prepare_samples(sam2::SAM2ImagePredictor& predictor, const Arguments& arguments,
                                    int64_t samples, int64_t image_size) {
  std::vector<Tensor> images;
  if (arguments.has("images")) {
    for (const std::string& file : image_files(arguments.text("images", ""))) images.push_back(io::read_image(file));
  } else {
    Generator generator(static_cast<uint64_t>(arguments.integer("seed", 0)));
    for (int64_t k = 0; k < samples; ++k) images.push_back(synthetic_image(image_size, generator));
  }
  std::vector<Sample> prepared;
  NoGradGuard no_grad;
  for (const Tensor& image : images) {
    Sample sample;
    sample.input = predictor.transforms().transform_image(image);
    sample.size = {image.size(0), image.size(1)};
    sam2::PreparedPrompts prompts = grid_prompts(predictor.transforms(), sample.size);
    sample.point_coords = prompts.point_coords;
    sample.point_labels = prompts.point_labels;
    prepared.push_back(sample);
  }
  return prepared;
}

}  // namespace

int run_importance(const std::vector<std::string>& words) {
  Arguments arguments("importance", words,
                      {{"model-config", "FILE|PRESET", "model config (.yaml, .toml, .json) or preset"},
                       {"checkpoint", "FILE", "SAM 2 weights, or a qatd training checkpoint with learned bits"},
                       {"config", "FILE.toml", "the quantization plan: the [quant] section of this file"},
                       {"method", "NAME", "uniform, fisher or hutchinson"},
                       {"samples", "K", "loss evaluations / Rademacher vectors (default 4)"},
                       {"images", "DIR", "images for the loss (default: K seeded synthetic images)"},
                       {"seed", "N", "seed of the synthetic images and Rademacher vectors (default 0)"},
                       {"normalize", "MODE", "none (default) or mean"},
                       {"times-quantization-error", "", "multiply by ||Q(W) - W||^2 (weight sites only)"},
                       {"threads", "N", "CPU threads (default: all)"},
                       {"out", "FILE", "the importance file to write (.csv or .json)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"model-config", "checkpoint", "method", "out"}) {
    QATD_CHECK(arguments.has(required), "qatd importance: --{} is required (see qatd importance --help)", required);
  }
  const std::string method = arguments.text("method", "");
  QATD_CHECK(method == "uniform" || method == "fisher" || method == "hutchinson",
             "qatd importance: --method must be uniform, fisher or hutchinson, got '{}'", method);
  const std::string out = arguments.text("out", "");
  QATD_CHECK(out.ends_with(".csv") || out.ends_with(".json"), "qatd importance: --out must end in .csv or .json, got '{}'",
             out);
  const quant::ImportanceNormalization normalization =
      quant::parse_importance_normalization(arguments.text("normalize", "none"));
  quant::GradientImportanceOptions options;
  options.samples = arguments.integer("samples", 4);
  options.times_quantization_error = arguments.has("times-quantization-error");
  options.seed = static_cast<uint64_t>(arguments.integer("seed", 0));
  QATD_CHECK(options.samples >= 1, "qatd importance: --samples must be at least 1, got {}", options.samples);
  QATD_CHECK(method != "uniform" || !options.times_quantization_error,
             "qatd importance: --times-quantization-error needs a gradient method (fisher or hutchinson)");
  if (arguments.has("threads")) set_num_threads(static_cast<int>(arguments.integer("threads", 1)));

  const quant::QuantizationPlan plan = plan_from_arguments("importance", arguments, /*allow_weight_bits=*/false);
  QuantizedSam2 loaded = load_quantized_sam2("importance", arguments, plan);
  quant::QuantizedModel& quantized = *loaded.quantized;

  quant::Importance importance;
  if (method == "uniform") {
    importance = quant::uniform_importance(quantized.site_names());
  } else {
    sam2::SAM2ImagePredictor predictor(*loaded.model);
    std::vector<Sample> samples = prepare_samples(predictor, arguments, options.samples, loaded.model->image_size);
    {
      NoGradGuard no_grad;
      quantized.set_enabled(false);
      check_sites_run(quantized, [&] {
        for (Sample& sample : samples) set_targets(sample, decode(*loaded.model, predictor, sample));
      });
      quantized.set_enabled(true);
      if (!loaded.quantizer_state && method == "fisher") {
        quantized.train(true);
        for (const Sample& sample : samples) decode(*loaded.model, predictor, sample);
        quantized.train(false);
      }
    }
    const bool quantize = method == "fisher";
    auto loss = [&](int64_t k) {
      const Sample& sample = samples[static_cast<size_t>(k) % samples.size()];
      quantized.set_enabled(quantize);
      return sample_loss(decode(*loaded.model, predictor, sample), sample);
    };
    importance = quantize ? quant::fisher_importance(quantized, quant::SampledLoss(loss), options)
                          : quant::hutchinson_importance(quantized, quant::SampledLoss(loss), options);
  }
  importance = quant::normalize(importance, normalization);
  if (out.ends_with(".json")) {
    quant::write_importance_json(out, importance);
  } else {
    quant::write_importance_csv(out, importance);
  }
  const auto [lowest, highest] = std::minmax_element(importance.values.begin(), importance.values.end());
  std::printf("plan: %s; %zu sites; method %s%s%s, normalize %s\n", loaded.plan_source.c_str(),
              importance.sites.size(), method.c_str(),
              method == "uniform" ? "" : fmt::format(" over {} samples", options.samples).c_str(),
              options.times_quantization_error ? " x quantization error" : "", to_string(normalization).c_str());
  if (!importance.values.empty()) {
    const size_t low = static_cast<size_t>(lowest - importance.values.begin());
    const size_t high = static_cast<size_t>(highest - importance.values.begin());
    std::printf("lowest %.6g (%s), highest %.6g (%s)\n", *lowest, importance.sites[low].c_str(), *highest,
                importance.sites[high].c_str());
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace qatd::cli
