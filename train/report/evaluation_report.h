#pragma once
// The report `qatd eval --report` writes next to its JSON: a summary table (accuracy of the quantized
// student, the float student and the teacher, per prompt; bits and sizes), bar charts of the integer
// bits per weight site and per activation site, and the overlay pictures (ground truth | teacher |
// student). HTML with the charts inline as SVG, or Markdown (for a path ending in .md) with the charts
// as SVG files; the pictures go to PNG files in "<report name>_files/" beside it.
#include <string>

#include "train/evaluation.h"

namespace qatd::train::report {

// `title` heads the report (e.g. the checkpoint). Files are written atomically.
void write_evaluation_report(const std::string& path, const EvaluationResult& result, const std::string& title);

}  // namespace qatd::train::report
