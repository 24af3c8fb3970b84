// qatd export: a SAM 2 checkpoint with its quantized weights stored as integers (quant/integer_export.h).
#include <cstdio>
#include <map>

#include "engine/engine.h"
#include "quant/integer_export.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "tools/qatd/quantized_sam2.h"

namespace qatd::cli {

namespace {

constexpr const char* kHelp = R"(usage: qatd export --model-config FILE|PRESET --checkpoint FILE
                   (--config FILE.toml | --weight-bits N [--per-channel]) --out FILE.safetensors

Applies a quantization plan to SAM 2 and writes, for each quantized weight NAME, NAME.qweight (the
integers: int8 up to 8 bits, int16 above; uint8/int16/int32 for unsigned grids), NAME.scale (float32,
one per output channel when per channel, else one) and NAME.zero_point (asymmetric grids only,
qweight's dtype); every other tensor in float32 under its own name; and the bits, grids and
settings of every site as JSON in the safetensors metadata (qatd.bits, qatd.sites). Dequantizing,
(qweight - zero_point) * scale in float32, gives the fake-quant forward of the weight bit for bit.

--weight-bits N quantizes every Linear, Conv2d and ConvTranspose2d weight at N bits, symmetric,
signed, min-max scaled. --config takes the [quant] section of a TOML file. A qatd training
checkpoint carrying learned bits ("bits.<site>" tensors) and quantizer state ("quant.<site>.*")
exports with those; otherwise the bits are the plan's bits_init. The output is written atomically.

)";

std::string mebibytes(int64_t bytes) { return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1 << 20)); }

}  // namespace

int run_export(const std::vector<std::string>& words) {
  Arguments arguments("export", words,
                      {{"model-config", "FILE|PRESET", "model config (.yaml, .toml, .json) or preset"},
                       {"checkpoint", "FILE", "SAM 2 weights, or a qatd training checkpoint with learned bits"},
                       {"config", "FILE.toml", "the quantization plan: the [quant] section of this file"},
                       {"weight-bits", "N", "instead of --config: every Linear/Conv weight at N bits (2 to 16)"},
                       {"per-channel", "", "with --weight-bits: one scale per output channel"},
                       {"out", "FILE", "the export to write (.safetensors)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"model-config", "checkpoint", "out"}) {
    QATD_CHECK(arguments.has(required), "qatd export: --{} is required (see qatd export --help)", required);
  }
  const quant::QuantizationPlan plan = plan_from_arguments("export", arguments, /*allow_weight_bits=*/true);
  const std::string out = arguments.text("out", "");
  QuantizedSam2 loaded = load_quantized_sam2("export", arguments, plan);
  quant::QuantizedModel& quantized = *loaded.quantized;

  quant::IntegerExport exported = quant::export_integer(quantized);
  quant::save_integer_export(out, exported);

  std::map<int64_t, int64_t> weight_bits, output_bits;  // bits -> number of sites
  for (size_t i = 0; i < quantized.sites().size(); ++i) {
    auto& histogram = quantized.sites()[i].kind == quant::SiteKind::weight ? weight_bits : output_bits;
    ++histogram[quantized.bits().integer_bits(i)];
  }
  auto describe = [](const std::map<int64_t, int64_t>& histogram) {
    std::vector<std::string> parts;
    for (const auto& [bits, count] : histogram) parts.push_back(fmt::format("{} at {} bits", count, bits));
    return parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", "));
  };
  const quant::IntegerExportSizes& sizes = exported.sizes;
  std::printf("plan: %s; bits from %s%s\n", loaded.plan_source.c_str(),
              loaded.learned_bits ? "the checkpoint (learned)" : "the plan's bits_init",
              loaded.quantizer_state ? ", quantizer state from the checkpoint" : "");
  std::printf("weight sites: %s\n", describe(weight_bits).c_str());
  if (!output_bits.empty()) std::printf("output sites: %s (bits and grids in the metadata)\n", describe(output_bits).c_str());
  if (sizes.weight_values > 0) {
    std::printf("quantized weights: %lld values, float32 %s -> stored %s (%.2fx), packed at their bits %s (%.2fx)\n",
                static_cast<long long>(sizes.weight_values), mebibytes(sizes.float_bytes).c_str(),
                mebibytes(sizes.integer_bytes).c_str(),
                static_cast<double>(sizes.float_bytes) / static_cast<double>(sizes.integer_bytes),
                mebibytes(sizes.packed_bytes).c_str(),
                static_cast<double>(sizes.float_bytes) / static_cast<double>(sizes.packed_bytes));
  }
  const int64_t float_model = sizes.float_bytes + sizes.other_float_bytes;
  const int64_t exported_model = sizes.integer_bytes + sizes.other_float_bytes;
  std::printf("whole model: float32 %s -> export %s (%.2fx); other tensors %s in float32\n",
              mebibytes(float_model).c_str(), mebibytes(exported_model).c_str(),
              static_cast<double>(float_model) / static_cast<double>(std::max<int64_t>(exported_model, 1)),
              mebibytes(sizes.other_float_bytes).c_str());
  std::printf("wrote %s: %zu tensors\n", out.c_str(), exported.tensors.size());
  return 0;
}

}  // namespace qatd::cli
