#pragma once
// The evaluation summary `qatd eval`, `qatd sweep` and `qatd demo` print: integer bits per site,
// mIoU of the quantized student, the float student and the teacher, and the compression.
#include <cstdio>

#include "train/evaluation.h"

namespace qatd::cli {

void print_evaluation_summary(std::FILE* out, const train::EvaluationResult& result);

}  // namespace qatd::cli
