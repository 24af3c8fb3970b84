// qatd track: SAM2VideoPredictor on a folder of frames, with prompts from a JSON file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_video_predictor.h"
#include "models/sam2/video_frames.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

namespace {

// One entry of prompts.json: points with labels, or a box, for one object on one frame.
struct Prompt {
  int64_t frame = 0;
  int64_t obj_id = 0;
  Tensor points, labels, box;
};

std::vector<Prompt> read_prompts(const std::string& path) {
  std::ifstream stream(path);
  QATD_CHECK(stream.good(), "qatd track: cannot read the prompts file {}", path);
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(stream);
  } catch (const nlohmann::json::exception& error) {
    fail("qatd track: {} is not valid JSON: {}", path, error.what());
  }
  QATD_CHECK(document.is_array() && !document.empty(), "qatd track: {} must hold a non-empty list of prompts", path);
  std::vector<Prompt> prompts;
  for (size_t i = 0; i < document.size(); ++i) {
    const nlohmann::json& entry = document[i];
    auto where = [&] { return fmt::format("qatd track: {}: prompt {}", path, i); };
    try {
      QATD_CHECK(entry.is_object() && entry.contains("frame") && entry.contains("obj_id"),
                 "{} needs \"frame\" and \"obj_id\"", where());
      for (const auto& [key, value] : entry.items()) {
        QATD_CHECK(key == "frame" || key == "obj_id" || key == "points" || key == "labels" || key == "box",
                   "{}: unknown key \"{}\" (known: frame, obj_id, points, labels, box)", where(), key);
      }
      Prompt prompt;
      prompt.frame = entry.at("frame").get<int64_t>();
      prompt.obj_id = entry.at("obj_id").get<int64_t>();
      QATD_CHECK(entry.contains("points") == entry.contains("labels"), "{}: points and labels come together", where());
      QATD_CHECK(entry.contains("points") || entry.contains("box"), "{}: give points and labels, or a box", where());
      if (entry.contains("points")) {
        std::vector<std::vector<float>> points = entry.at("points").get<std::vector<std::vector<float>>>();
        std::vector<int32_t> labels = entry.at("labels").get<std::vector<int32_t>>();
        QATD_CHECK(!points.empty() && points.size() == labels.size(), "{}: {} points but {} labels", where(),
                   points.size(), labels.size());
        std::vector<float> flat;
        for (const auto& point : points) {
          QATD_CHECK(point.size() == 2, "{}: each point is [x, y]", where());
          flat.insert(flat.end(), point.begin(), point.end());
        }
        for (int32_t label : labels) {
          QATD_CHECK(label == 0 || label == 1, "{}: labels are 1 (foreground) or 0 (background), got {}", where(), label);
        }
        int64_t count = static_cast<int64_t>(labels.size());
        prompt.points = from_vector(flat, {count, 2});
        prompt.labels = from_vector(labels, {count});
      }
      if (entry.contains("box")) {
        std::vector<float> box = entry.at("box").get<std::vector<float>>();
        QATD_CHECK(box.size() == 4 && box[0] <= box[2] && box[1] <= box[3], "{}: box is [x0, y0, x1, y1]", where());
        prompt.box = from_vector(box, {4});
      }
      prompts.push_back(prompt);
    } catch (const nlohmann::json::exception& error) {
      fail("{}: {}", where(), error.what());
    }
  }
  return prompts;
}

// Points and boxes must lie inside the frames, as for images.
void check_inside(const Prompt& prompt, int64_t width, int64_t height, int64_t num_frames) {
  QATD_CHECK(prompt.frame >= 0 && prompt.frame < num_frames, "qatd track: prompt on frame {}, the video has {} frames",
             prompt.frame, num_frames);
  for (const Tensor& coords : {prompt.points, prompt.box}) {
    if (!coords.defined()) continue;
    std::vector<float> values = coords.to_vector<float>();
    for (size_t i = 0; i + 1 < values.size(); i += 2) {
      QATD_CHECK(values[i] >= 0 && values[i] <= width && values[i + 1] >= 0 && values[i + 1] <= height,
                 "qatd track: prompt for object {} on frame {}: ({}, {}) lies outside the {}x{} frames", prompt.obj_id,
                 prompt.frame, values[i], values[i + 1], width, height);
    }
  }
}

}  // namespace

int run_track(const std::vector<std::string>& words) {
  Arguments arguments("track", words,
                      {{"model-config", "FILE|PRESET", "model config (.yaml, .toml, .json) or preset"},
                       {"checkpoint", "FILE", "weights: official .pt, or safetensors (official or HuggingFace names)"},
                       {"frames", "DIR", "JPEG or PNG frames named by number"},
                       {"prompts", "FILE", "prompts.json: [{\"frame\", \"obj_id\", \"points\", \"labels\"} or \"box\"]"},
                       {"reverse", "", "propagate backwards in time"},
                       {"fp32-memory", "", "keep memory features in float32 (default: bfloat16, as the official code)"},
                       {"out-dir", "DIR", "write a mask PNG per frame and object and overlay frames"},
                       {"logits-out", "FILE", "write each frame's mask logits (frameN) as safetensors"},
                       {"threads", "N", "CPU threads (default: all)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("usage: qatd track --model-config FILE|PRESET --checkpoint FILE --frames DIR --prompts FILE.json\n"
                "       [--reverse] [--out-dir DIR] [--logits-out FILE.safetensors]\n\n%s",
                arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"model-config", "checkpoint", "frames", "prompts"}) {
    QATD_CHECK(arguments.has(required), "qatd track: --{} is required (see qatd track --help)", required);
  }
  if (arguments.has("threads")) set_num_threads(static_cast<int>(arguments.integer("threads", 1)));
  std::vector<Prompt> prompts = read_prompts(arguments.text("prompts", ""));
  std::unique_ptr<sam2::SAM2Base> model =
      sam2::build_sam2(arguments.text("model-config", ""), arguments.text("checkpoint", ""));
  std::vector<std::string> frame_paths = sam2::list_video_frames(arguments.text("frames", ""));
  sam2::VideoFrames frames = sam2::load_video_frame_files(frame_paths, model->image_size);

  sam2::SAM2VideoPredictor predictor(*model, {.bfloat16_memory = !arguments.has("fp32-memory")});
  sam2::InferenceState state = predictor.init_state_from_images(frames.images, frames.video_height, frames.video_width);
  for (const Prompt& prompt : prompts) {
    check_inside(prompt, frames.video_width, frames.video_height, state.num_frames);
    predictor.add_new_points_or_box(state, prompt.frame, prompt.obj_id, prompt.points, prompt.labels, prompt.box);
  }

  std::filesystem::path out_dir;
  if (arguments.has("out-dir")) {
    out_dir = arguments.text("out-dir", "");
    std::filesystem::create_directories(out_dir);
  }
  io::NamedTensors logits;
  std::vector<int64_t> order;
  auto started = std::chrono::steady_clock::now();
  predictor.propagate_in_video(
      state,
      [&](const sam2::FrameMasks& masks) {
        order.push_back(masks.frame_idx);
        if (arguments.has("logits-out")) {
          logits.emplace_back(fmt::format("frame{}", masks.frame_idx), masks.video_res_masks.contiguous());
        }
        if (!out_dir.empty()) {
          Tensor binary = gt(masks.video_res_masks.squeeze(1), 0.0);
          for (size_t k = 0; k < masks.obj_ids.size(); ++k) {
            io::write_png((out_dir / fmt::format("frame_{:05d}_obj_{}.png", masks.frame_idx, masks.obj_ids[k])).string(),
                          binary.select(0, static_cast<int64_t>(k)).contiguous());
          }
          Tensor image = io::read_image(frame_paths[static_cast<size_t>(masks.frame_idx)]);
          io::write_png((out_dir / fmt::format("overlay_{:05d}.png", masks.frame_idx)).string(),
                        io::overlay_masks(image, binary));
        }
      },
      {.reverse = arguments.has("reverse")});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("tracked %zu object(s) over %zu frames in %.2f s (%.2f frames/s)\n", state.obj_ids.size(), order.size(),
              seconds, static_cast<double>(order.size()) / seconds);
  if (arguments.has("logits-out")) {
    std::string path = arguments.text("logits-out", "");
    io::save_safetensors(path, logits, {{"qatd.obj_ids", fmt::format("{}", fmt::join(state.obj_ids, ","))}});
    std::printf("wrote %s\n", path.c_str());
  }
  if (!out_dir.empty()) std::printf("wrote masks and overlays to %s\n", out_dir.string().c_str());
  return 0;
}

}  // namespace qatd::cli
