// qatd predict: masks for point and box prompts on one image, as SAM2ImagePredictor.predict.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_image_predictor.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

namespace {

std::vector<double> parse_numbers(const std::string& text, const std::string& what) {
  std::vector<double> numbers;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      numbers.push_back(std::stod(item, &used));
      QATD_CHECK(used == item.size(), "");
    } catch (const std::exception&) {
      fail("qatd predict: {} '{}' is not a comma-separated list of numbers", what, text);
    }
  }
  return numbers;
}

// "x,y,label;x,y,label" -> points (N, 2) and labels (N).
std::pair<Tensor, Tensor> parse_points(const std::string& text) {
  std::vector<float> coordinates;
  std::vector<int32_t> labels;
  std::stringstream stream(text);
  std::string point;
  while (std::getline(stream, point, ';')) {
    std::vector<double> values = parse_numbers(point, "point");
    QATD_CHECK(values.size() == 3 && (values[2] == 0.0 || values[2] == 1.0),
               "qatd predict: each point is x,y,label with label 1 (foreground) or 0 (background), got '{}'", point);
    coordinates.push_back(static_cast<float>(values[0]));
    coordinates.push_back(static_cast<float>(values[1]));
    labels.push_back(static_cast<int32_t>(values[2]));
  }
  QATD_CHECK(!labels.empty(), "qatd predict: --points holds no point");
  int64_t count = static_cast<int64_t>(labels.size());
  return {from_vector(coordinates, {count, 2}), from_vector(labels, {count})};
}

Tensor parse_box(const std::string& text) {
  std::vector<double> values = parse_numbers(text, "box");
  QATD_CHECK(values.size() == 4 && values[0] <= values[2] && values[1] <= values[3],
             "qatd predict: --box is x0,y0,x1,y1 with x0 <= x1 and y0 <= y1, got '{}'", text);
  return from_vector(std::vector<float>(values.begin(), values.end()), {4});
}

}  // namespace

int run_predict(const std::vector<std::string>& words) {
  Arguments arguments("predict", words,
                      {{"model-config", "FILE|PRESET", "model config (.yaml, .toml, .json) or preset, e.g. sam2.1_hiera_t"},
                       {"checkpoint", "FILE", "weights: official .pt, or safetensors (official or HuggingFace names)"},
                       {"image", "FILE", "PNG or JPEG image"},
                       {"points", "\"x,y,l;...\"", "point prompts in image pixels, label 1 foreground, 0 background"},
                       {"box", "x0,y0,x1,y1", "box prompt in image pixels"},
                       {"multimask", "", "return three masks instead of one"},
                       {"out-dir", "DIR", "write mask_N.png and overlay.png there"},
                       {"logits-out", "FILE", "write masks, iou and low_res_masks logits as safetensors"},
                       {"threads", "N", "CPU threads (default: all)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("usage: qatd predict --model-config FILE|PRESET --checkpoint FILE --image FILE [prompts] [outputs]\n\n%s",
                arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"model-config", "checkpoint", "image"}) {
    QATD_CHECK(arguments.has(required), "qatd predict: --{} is required (see qatd predict --help)", required);
  }
  QATD_CHECK(arguments.has("points") || arguments.has("box"), "qatd predict: give --points, --box or both");
  if (arguments.has("threads")) set_num_threads(static_cast<int>(arguments.integer("threads", 1)));

  Tensor points, labels, box;
  if (arguments.has("points")) std::tie(points, labels) = parse_points(arguments.text("points", ""));
  if (arguments.has("box")) box = parse_box(arguments.text("box", ""));
  Tensor image = io::read_image(arguments.text("image", ""));
  std::unique_ptr<sam2::SAM2Base> model =
      sam2::build_sam2(arguments.text("model-config", ""), arguments.text("checkpoint", ""));

  sam2::SAM2ImagePredictor predictor(*model);
  predictor.set_image(image);
  bool multimask = arguments.has("multimask");
  sam2::ImagePrediction prediction = predictor.predict(points, labels, box, Tensor(), multimask, /*return_logits=*/true);

  std::vector<float> scores = prediction.iou.to_vector<float>();
  for (size_t i = 0; i < scores.size(); ++i) {
    int64_t area = static_cast<int64_t>(sum(gt(prediction.masks.select(0, static_cast<int64_t>(i)), 0.0).to(DType::i64)).item());
    std::printf("mask %zu: predicted IoU %.4f, %lld pixels\n", i, scores[i], static_cast<long long>(area));
  }
  if (arguments.has("out-dir")) {
    std::filesystem::path directory(arguments.text("out-dir", ""));
    std::filesystem::create_directories(directory);
    Tensor binary = gt(prediction.masks, 0.0);
    for (int64_t i = 0; i < binary.shape()[0]; ++i) {
      io::write_png((directory / fmt::format("mask_{}.png", i)).string(), binary.select(0, i).contiguous());
    }
    // The best mask over the image (the first when only one was asked for).
    int64_t best = argmax(prediction.iou, 0).item();
    io::write_png((directory / "overlay.png").string(), io::overlay_masks(image, binary.narrow(0, best, 1)));
    std::printf("wrote %lld mask(s) and overlay.png to %s\n", static_cast<long long>(binary.shape()[0]),
                directory.string().c_str());
  }
  if (arguments.has("logits-out")) {
    std::string path = arguments.text("logits-out", "");
    io::save_safetensors(path, {{"masks", prediction.masks.contiguous()},
                                {"iou", prediction.iou.contiguous()},
                                {"low_res_masks", prediction.low_res.contiguous()}});
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace qatd::cli
