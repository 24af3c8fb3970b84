#include "models/sam2/parity.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/checkpoint.h"
#include "models/sam2/sam2_image_predictor.h"
#include "models/sam2/sam2_video_predictor.h"
#include "models/sam2/video_frames.h"

namespace qatd::sam2 {

namespace {

namespace fs = std::filesystem;

// Differences below this fraction of a tensor's largest value are float32 noise.
constexpr double kFloat32Noise = 1e-5;
// Gradients below this fraction of the largest reference gradient norm are float32 noise.
constexpr double kZeroGradientFloor = 1e-5;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream stream(path);
  QATD_CHECK(stream.good(), "parity: cannot read {}", path.string());
  try {
    return nlohmann::json::parse(stream);
  } catch (const nlohmann::json::exception& error) {
    fail("parity: {} is not valid JSON: {}", path.string(), error.what());
  }
}

// Compares tensors by ||ours - ref|| / ||ref|| in float64; NaN never passes.
class Comparer {
 public:
  Comparer(const io::SafetensorsFile& reference, ParityReport& report) : reference_(reference), report_(report) {}

  // A reference whose norm is below `zero_floor` is numerically zero (float32 noise of a quantity
  // that is exactly zero, such as the gradient of an attention key bias, which softmax's shift
  // invariance cancels): it passes when ||ours - ref|| is below the floor too.
  void set_zero_floor(double floor) { zero_floor_ = floor; }

  void check(const std::string& name, const Tensor& ours, double tolerance, bool gradient = false) {
    if (!reference_.contains(name)) return;
    ParityRow row;
    row.name = name;
    row.tolerance = tolerance;
    row.gradient = gradient;
    Tensor expected = reference_.get(name);
    row.shape = expected.shape();
    if (!ours.defined()) {
      row.problem = "not computed";
    } else if (ours.shape() != expected.shape()) {
      row.problem = fmt::format("shape {} vs reference {}", shape_str(ours.shape()), shape_str(expected.shape()));
    } else {
      std::vector<double> a = ours.detach().to(DType::f64).to_vector<double>();
      std::vector<double> b = expected.to(DType::f64).to_vector<double>();
      double difference = 0.0, norm = 0.0;
      for (size_t i = 0; i < a.size(); ++i) {
        double d = a[i] - b[i];
        if (std::isnan(d)) row.problem = "NaN";
        difference += d * d;
        norm += b[i] * b[i];
        row.max_abs = std::max(row.max_abs, std::abs(d));
      }
      row.relative_error = norm > 0.0 ? std::sqrt(difference / norm) : std::sqrt(difference);
      if (row.problem.empty() && std::sqrt(norm) < zero_floor_ && row.relative_error > tolerance) {
        row.zero_reference = true;
        row.passed = std::sqrt(difference) < zero_floor_;
        row.problem = row.passed ? "" : "differs from a numerically zero reference";
        report_.rows.push_back(row);
        return;
      }
    }
    row.passed = row.problem.empty() && row.relative_error <= tolerance;
    report_.rows.push_back(row);
    checked_.insert(name);
  }

  void missing(const std::string& name, const std::string& problem, bool gradient) {
    ParityRow row;
    row.name = name;
    row.shape = reference_.shape(name);
    row.gradient = gradient;
    row.problem = problem;
    report_.rows.push_back(row);
  }

  // A tensor the reference stores in bfloat16: float32 differences of 1e-7 flip a value to the
  // neighbouring bfloat16 now and then, so every element must equal the reference or be one
  // bfloat16 step (2^-7 relative, at most) from it.
  void check_bfloat16(const std::string& name, const Tensor& ours) {
    if (!reference_.contains(name)) return;
    check(name, ours, 0.0);
    ParityRow& row = report_.rows.back();
    if (!row.problem.empty() || row.passed) return;
    std::vector<double> a = ours.to(DType::f64).to_vector<double>();
    std::vector<double> b = reference_.get(name).to(DType::f64).to_vector<double>();
    // Near zero the float32 differences themselves, not the rounding, dominate: allow them too.
    double largest = 0.0;
    for (double value : b) largest = std::max(largest, std::abs(value));
    bool within_one_step = true;
    for (size_t i = 0; i < a.size() && within_one_step; ++i) {
      double step = std::ldexp(std::max(std::abs(a[i]), std::abs(b[i])), -7);
      within_one_step = std::abs(a[i] - b[i]) <= std::max(step, kFloat32Noise * largest);
    }
    row.passed = within_one_step;
    row.bfloat16_steps = within_one_step;
    if (!within_one_step) row.problem = "more than one bfloat16 step from the reference";
  }

  bool checked(const std::string& name) const { return checked_.count(name) > 0; }

 private:
  const io::SafetensorsFile& reference_;
  ParityReport& report_;
  std::set<std::string> checked_;
  double zero_floor_ = 0.0;
};

Tensor points_tensor(const nlohmann::json& points) {
  std::vector<float> values;
  for (const auto& point : points) {
    QATD_CHECK(point.is_array() && point.size() == 2, "parity: meta.json prompts.points must hold [x, y] pairs");
    values.push_back(point[0].get<float>());
    values.push_back(point[1].get<float>());
  }
  return from_vector(values, {static_cast<int64_t>(values.size() / 2), 2});
}

Tensor labels_tensor(const nlohmann::json& labels) {
  std::vector<int32_t> values = labels.get<std::vector<int32_t>>();
  return from_vector(values, {static_cast<int64_t>(values.size())});
}

void check_image_path(const fs::path& directory, const nlohmann::json& meta, const ParityOptions& options,
                      ParityReport& report) {
  io::SafetensorsFile io_file = io::SafetensorsFile::open((directory / "image_io.safetensors").string());
  Comparer compare(io_file, report);
  const double forward = options.forward_tolerance, gradient = options.gradient_tolerance;

  SAM2Base model(from_json(meta.at("model"), (directory / "meta.json").string()));
  model.load_official_state(load_checkpoint_state((directory / "model.pt").string()));
  model.eval();

  Tensor rgb = io::read_image((directory / "image.png").string());
  compare.check("image.rgb", rgb, 0.0);
  SAM2ImagePredictor predictor(model);
  ImageHW size{rgb.shape()[0], rgb.shape()[1]};
  Tensor input = predictor.transforms().transform_image(rgb);
  compare.check("image.input", input, forward);
  input.set_requires_grad(true);
  predictor.set_image_tensor(input, size);

  const BackboneOutput& backbone = predictor.backbone();
  for (size_t i = 0; i < backbone.trunk_features.size(); ++i) {
    compare.check(fmt::format("trunk.stage{}", i), backbone.trunk_features[i], forward);
  }
  for (size_t i = 0; i < backbone.backbone_fpn.size(); ++i) {
    compare.check(fmt::format("backbone_fpn.{}", i), backbone.backbone_fpn[i], forward);
    compare.check(fmt::format("vision_pos_enc.{}", i), backbone.vision_pos_enc[i], forward);
  }
  const ImageFeatures& features = predictor.features();
  compare.check("image_embed", features.image_embed, forward);
  for (size_t i = 0; i < features.high_res_feats.size(); ++i) {
    compare.check(fmt::format("high_res_feats.{}", i), features.high_res_feats[i], forward);
  }

  const nlohmann::json& prompts = meta.at("prompts");
  Tensor points = points_tensor(prompts.at("points"));
  Tensor labels = labels_tensor(prompts.at("labels"));
  compare.check("prompt.points", points, 0.0);
  compare.check("prompt.labels", labels, 0.0);
  PreparedPrompts prepared = prepare_prompts(predictor.transforms(), points, labels, Tensor(), size);
  compare.check("prompt.points_transformed", prepared.point_coords, forward);
  compare.check("dense_pe", model.dense_pe(), forward);

  // The decoder pass the reference differentiates: the two-point prompt, multimask output.
  DecoderPass pass = predictor.decode(prepared.point_coords, prepared.point_labels, Tensor(), true);
  compare.check("sparse_embeddings", pass.sparse_embeddings, forward);
  compare.check("dense_embeddings", pass.dense_embeddings, forward);
  compare.check("decoder.low_res_masks", pass.decoder.masks, forward);
  compare.check("decoder.iou", pass.decoder.iou_pred, forward);
  compare.check("decoder.sam_tokens", pass.decoder.sam_tokens_out, forward);
  compare.check("decoder.object_score_logits", pass.decoder.object_score_logits, forward);

  {
    ImagePrediction multimask = predictor.predict(points, labels, Tensor(), Tensor(), true, true);
    compare.check("predict.points.masks", multimask.masks, forward);
    compare.check("predict.points.iou", multimask.iou, forward);
    compare.check("predict.points.low_res", multimask.low_res, forward);
    if (prompts.contains("box")) {
      std::vector<float> box_values = prompts.at("box").get<std::vector<float>>();
      Tensor box = from_vector(box_values, {4});
      compare.check("prompt.box", box, 0.0);
      ImagePrediction single = predictor.predict(points.narrow(0, 0, 1), labels.narrow(0, 0, 1), box, Tensor(), false,
                                                 true);
      compare.check("predict.box.masks", single.masks, forward);
      compare.check("predict.box.iou", single.iou, forward);
      compare.check("predict.box.low_res", single.low_res, forward);
    }
  }

  // Backward of the documented loss, seeded with the reference's upstream gradients.
  if (!io_file.contains("grad_seed.low_res_masks")) return;
  Tensor loss = add(add(sum(mul(pass.decoder.masks, io_file.get("grad_seed.low_res_masks"))),
                        sum(mul(pass.decoder.iou_pred, io_file.get("grad_seed.iou")))),
                    sum(mul(pass.decoder.object_score_logits, io_file.get("grad_seed.object_score_logits"))));
  compare.check("loss", loss.reshape({1}), forward);
  loss.backward();
  compare.check("grad.image.input", input.grad(), gradient, true);

  fs::path grads_path = directory / "image_grads.safetensors";
  if (!fs::exists(grads_path)) return;
  io::SafetensorsFile grads = io::SafetensorsFile::open(grads_path.string());
  Comparer compare_grads(grads, report);
  double largest = 0.0;
  for (const std::string& key : grads.names()) largest = std::max(largest, norm(grads.get(key).to(DType::f64)).item());
  compare_grads.set_zero_floor(kZeroGradientFloor * largest);
  std::map<std::string, Tensor> parameters;
  for (auto& [name, parameter] : model.named_parameters()) parameters[name] = parameter;
  for (const std::string& key : grads.names()) {
    std::string name = key.rfind("grad.", 0) == 0 ? key.substr(5) : key;
    auto found = parameters.find(name);
    if (found == parameters.end()) {
      compare_grads.missing(key, "no such parameter in the model", true);
      continue;
    }
    Tensor grad = found->second.grad();
    compare_grads.check(key, grad.defined() ? grad : zeros_like(found->second), gradient, true);
  }
}

// SAM2VideoPredictor on frames/: the prompts of meta.json's "video" block on frame 0 (object 1
// gets points, object 2 a box), then propagate_in_video over every frame.
void check_video_path(const fs::path& directory, const nlohmann::json& meta, const ParityOptions& options,
                      ParityReport& report) {
  fs::path video_path = directory / "video_io.safetensors";
  QATD_CHECK(fs::exists(video_path), "parity: {} is missing (use --only image for the image path alone)",
             video_path.string());
  QATD_CHECK(meta.contains("video"), "parity: meta.json has no \"video\" block");
  io::SafetensorsFile io_file = io::SafetensorsFile::open(video_path.string());
  Comparer compare(io_file, report);
  const double forward = options.forward_tolerance;
  const nlohmann::json& video = meta.at("video");

  SAM2Base model(from_json(meta.at("model"), (directory / "meta.json").string()));
  model.load_official_state(load_checkpoint_state((directory / "model.pt").string()));
  model.eval();

  std::vector<std::string> frame_paths;
  for (const auto& frame : video.at("frames")) frame_paths.push_back((directory / frame.get<std::string>()).string());
  VideoFrames frames = load_video_frame_files(frame_paths, model.image_size);
  compare.check("video.images", frames.images, forward);

  SAM2VideoPredictor predictor(model);
  InferenceState state = predictor.init_state_from_images(frames.images, frames.video_height, frames.video_width);
  predictor.add_new_points_or_box(state, 0, 1, points_tensor(video.at("obj1_points")),
                                  labels_tensor(video.at("obj1_labels")));
  std::vector<float> box = video.at("obj2_box").get<std::vector<float>>();
  FrameMasks added = predictor.add_new_points_or_box(state, 0, 2, Tensor(), Tensor(), from_vector(box, {4}));
  compare.check("video.add.masks", added.video_res_masks, forward);
  predictor.propagate_in_video(state, [&](const FrameMasks& masks) {
    compare.check(fmt::format("video.frame{}.masks", masks.frame_idx), masks.video_res_masks, forward);
  });
  for (size_t obj_idx = 0; obj_idx < state.obj_ids.size(); ++obj_idx) {
    const OutputDict& outputs = state.output_dict_per_obj[obj_idx];
    for (int64_t frame = 0; frame < state.num_frames; ++frame) {
      const FrameOutput* out = nullptr;
      if (auto found = outputs.cond_frame_outputs.find(frame); found != outputs.cond_frame_outputs.end()) {
        out = &found->second;
      } else if (auto other = outputs.non_cond_frame_outputs.find(frame); other != outputs.non_cond_frame_outputs.end()) {
        out = &other->second;
      }
      if (!out) continue;
      std::string prefix = fmt::format("video.obj{}.frame{}.", obj_idx, frame);
      compare.check(prefix + "pred_masks", out->pred_masks, forward);
      compare.check(prefix + "object_score_logits", out->object_score_logits, forward);
      compare.check(prefix + "obj_ptr", out->obj_ptr, forward);
      compare.check_bfloat16(prefix + "maskmem_features", out->maskmem_features);
    }
  }
}

}  // namespace

bool ParityReport::passed() const {
  if (rows.empty()) return false;
  for (const ParityRow& row : rows) {
    if (!row.passed) return false;
  }
  return true;
}

std::string ParityReport::table() const {
  std::string text = fmt::format("{:<84} {:<18} {:>12} {:>12} {:>9}  {}\n", "tensor", "shape", "rel. error",
                                 "max |diff|", "tol.", "result");
  for (const ParityRow& row : rows) {
    std::string verdict = row.passed ? (row.zero_reference   ? "ok (reference numerically zero)"
                                        : row.bfloat16_steps ? "ok (bfloat16: within one step everywhere)"
                                                             : "ok")
                                     : (row.problem.empty() ? "FAIL" : "FAIL (" + row.problem + ")");
    text += fmt::format("{:<84} {:<18} {:>12.3e} {:>12.3e} {:>9.1e}  {}\n", row.name, shape_str(row.shape),
                        row.relative_error, row.max_abs, row.tolerance, verdict);
  }
  size_t failed = std::count_if(rows.begin(), rows.end(), [](const ParityRow& row) { return !row.passed; });
  text += fmt::format("{} tensors compared, {} failed\n", rows.size(), failed);
  return text;
}

ParityReport run_parity(const std::string& directory, const ParityOptions& options) {
  fs::path root(directory);
  QATD_CHECK(fs::is_directory(root), "parity: {} is not a directory", directory);
  nlohmann::json meta = read_json(root / "meta.json");
  QATD_CHECK(meta.contains("model"), "parity: {} has no \"model\" block", (root / "meta.json").string());
  ParityReport report;
  if (options.image) check_image_path(root, meta, options, report);
  if (options.video) check_video_path(root, meta, options, report);
  return report;
}

}  // namespace qatd::sam2
