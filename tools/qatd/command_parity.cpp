// qatd parity DIR: compares the engine's SAM 2 with the official implementation's reference outputs.
#include <cstdio>

#include "engine/error.h"
#include "models/sam2/parity.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

int run_parity(const std::vector<std::string>& words) {
  Arguments arguments("parity", words,
                      {{"only", "image|video", "check one path only"},
                       {"fwd-tol", "X", "tolerance on ||ours - ref|| / ||ref|| for outputs (default 1e-4)"},
                       {"grad-tol", "X", "tolerance for gradients (default 1e-3)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help") || arguments.positional().size() != 1) {
    std::printf(
        "usage: qatd parity DIR [options]\n\nDIR holds meta.json, model.pt, image.png, image_io.safetensors and\n"
        "image_grads.safetensors, as shared/reference/sam2_micro_a does. Prints one row per reference tensor\n"
        "and exits 0 only when every one is within its tolerance.\n\n%s",
        arguments.usage().c_str());
    return arguments.has("help") ? 0 : 2;
  }
  sam2::ParityOptions options;
  std::string only = arguments.text("only", "");
  QATD_CHECK(only.empty() || only == "image" || only == "video", "qatd parity: --only takes image or video, not '{}'",
             only);
  options.image = only != "video";
  options.video = only != "image";
  options.forward_tolerance = arguments.number("fwd-tol", options.forward_tolerance);
  options.gradient_tolerance = arguments.number("grad-tol", options.gradient_tolerance);
  sam2::ParityReport report = sam2::run_parity(arguments.positional()[0], options);
  std::printf("%s", report.table().c_str());
  std::printf("%s\n", report.passed() ? "parity: PASS" : "parity: FAIL");
  return report.passed() ? 0 : 1;
}

}  // namespace qatd::cli
