#include "train/report/evaluation_report.h"

#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "engine/io/atomic_file.h"
#include "engine/io/image.h"
#include "train/report/chart.h"

namespace qatd::train::report {

namespace fs = std::filesystem;

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Row {
  std::string label;
  std::string value;
};

std::vector<Row> summary_rows(const EvaluationResult& result) {
  auto scores = [&](const PromptScores& s) {
    if (!result.has_teacher) return fmt::format("{:.4f} / {:.4f} / none; none", s.miou_gt, s.miou_float_student);
    return fmt::format("{:.4f} / {:.4f} / {:.4f} / {:.4f}", s.miou_gt, s.miou_float_student, s.miou_teacher,
                       s.miou_vs_teacher);
  };
  return {{"images / objects", fmt::format("{} / {}", result.images, result.objects)},
          {"mIoU vs ground truth: quantized student / float student / teacher; student vs teacher (all prompts)",
           scores(result.all)},
          {"the same, centre-click prompts", scores(result.point)},
          {"the same, box prompts", scores(result.box)},
          {"IoU prediction MAE (quantized student)", fmt::format("{:.4f}", result.all.iou_pred_mae)},
          {"average weight bits (parameter-weighted)", fmt::format("{:.3f}", result.avg_weight_bits)},
          {"average activation bits", fmt::format("{:.3f}", result.avg_act_bits)},
          {"model bytes (packed integers) / as exported / teacher (float32)",
           fmt::format("{} / {} / {}", result.model_bytes, result.export_bytes, result.teacher_bytes)},
          {"compression (teacher / model bytes)",
           fmt::format("{:.2f}x", result.model_bytes > 0 ? static_cast<double>(result.teacher_bytes) /
                                                               static_cast<double>(result.model_bytes)
                                                         : 0.0)}};
}

// Bars of the integer bits, weight sites and activation sites apart (empty when there are none).
std::vector<std::pair<std::string, std::string>> bit_charts(const EvaluationResult& result) {
  std::vector<Bar> weights, activations;
  for (const auto& [site, bits] : result.bits) {
    (result.weight_elements.count(site) ? weights : activations).push_back({site, static_cast<double>(bits)});
  }
  std::vector<std::pair<std::string, std::string>> charts;
  for (const auto& [name, bars] : {std::pair{"weight", &weights}, std::pair{"activation", &activations}}) {
    if (bars->empty()) continue;
    const int64_t width = std::max<int64_t>(640, 26 * static_cast<int64_t>(bars->size()) + 120);
    charts.emplace_back(name, bar_chart_svg(fmt::format("integer bits per {} site", name), "bits", *bars, width, 520));
  }
  return charts;
}

}  // namespace

void write_evaluation_report(const std::string& path, const EvaluationResult& result, const std::string& title) {
  const fs::path report(path);
  const bool markdown = report.extension() == ".md";
  const fs::path files = report.parent_path() / (report.stem().string() + "_files");
  fs::create_directories(files);
  std::vector<std::string> pictures;
  for (size_t i = 0; i < result.overlays.size(); ++i) {
    std::string name = fmt::format("overlay_{}.png", i);
    io::write_png((files / name).string(), result.overlays[i].pixels);
    pictures.push_back(files.filename().string() + "/" + name);
  }
  std::vector<std::pair<std::string, std::string>> charts = bit_charts(result);
  std::ostringstream out;
  if (markdown) {
    out << "# qatd evaluation: " << title << "\n\n| | |\n|---|---|\n";
    for (const Row& row : summary_rows(result)) out << "| " << row.label << " | " << row.value << " |\n";
    for (const auto& [name, svg] : charts) {
      std::string file = fmt::format("{}_bits.svg", name);
      io::write_file_atomically((files / file).string(), [&](std::ostream& stream) { stream << svg; });
      out << "\n![integer bits per " << name << " site](" << files.filename().string() << "/" << file << ")\n";
    }
    out << "\n## Box prompts: ground truth | teacher | quantized student\n\n";
    for (size_t i = 0; i < pictures.size(); ++i) {
      out << result.overlays[i].name << "\n\n![" << result.overlays[i].name << "](" << pictures[i] << ")\n\n";
    }
  } else {
    out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>qatd evaluation</title>\n"
        << "<style>body{font-family:sans-serif;margin:2em}td{padding:4px 12px;border-bottom:1px solid #ddd}"
        << "img{image-rendering:pixelated;max-width:100%}</style></head><body>\n"
        << "<h1>qatd evaluation</h1>\n<p>" << escape(title) << "</p>\n<table>\n";
    for (const Row& row : summary_rows(result)) {
      out << "<tr><td>" << escape(row.label) << "</td><td>" << escape(row.value) << "</td></tr>\n";
    }
    out << "</table>\n";
    for (const auto& [name, svg] : charts) out << "<h2>Integer bits per " << name << " site</h2>\n" << svg << "\n";
    out << "<h2>Box prompts: ground truth | teacher | quantized student</h2>\n";
    for (size_t i = 0; i < pictures.size(); ++i) {
      out << "<figure><img src=\"" << escape(pictures[i]) << "\" width=\"" << 3 * result.overlays[i].pixels.size(0) * 2
          << "\"><figcaption>" << escape(result.overlays[i].name) << "</figcaption></figure>\n";
    }
    out << "</body></html>\n";
  }
  io::write_file_atomically(path, [&](std::ostream& stream) { stream << out.str(); });
}

}  // namespace qatd::train::report
