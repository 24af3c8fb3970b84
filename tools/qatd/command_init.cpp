// qatd init: a randomly initialized SAM 2 checkpoint with official key names (real weights cannot
// be downloaded everywhere; tests and benchmarks use these).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "models/sam2/build_sam.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

int run_init(const std::vector<std::string>& words) {
  Arguments arguments("init", words,
                      {{"model-config", "FILE|PRESET", "model config (.yaml, .toml, .json) or preset"},
                       {"seed", "N", "random seed (default 0)"},
                       {"out", "FILE", "the checkpoint to write (.safetensors)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("usage: qatd init --model-config FILE|PRESET --seed N --out FILE.safetensors\n\n%s",
                arguments.usage().c_str());
    return 0;
  }
  QATD_CHECK(arguments.has("model-config") && arguments.has("out"),
             "qatd init: --model-config and --out are required (see qatd init --help)");
  Generator generator(static_cast<uint64_t>(arguments.integer("seed", 0)));
  std::string config = arguments.text("model-config", "");
  std::unique_ptr<sam2::SAM2Base> model = sam2::build_sam2(config, "", &generator);
  io::NamedTensors state = model->official_state();
  int64_t parameters = 0;
  for (const auto& [name, tensor] : state) parameters += tensor.numel();
  std::string path = arguments.text("out", "");
  io::save_safetensors(path, state,
                       {{"qatd.model_config", sam2::to_json(model->config).dump()},
                        {"qatd.seed", std::to_string(arguments.integer("seed", 0))}});
  std::printf("wrote %s: %zu tensors, %lld values, config %s\n", path.c_str(), state.size(),
              static_cast<long long>(parameters), config.c_str());
  return 0;
}

}  // namespace qatd::cli
