#pragma once
// Integer export of a quantized model (`qatd export`): each quantized weight as integers on its
// grid with its scale (and zero point), everything else in float32, and the sites' settings as
// safetensors metadata. dequantize_export goes back; the round trip is exact: the dequantized
// weight equals the fake-quant forward of the float weight bit for bit (zeros included: the
// forward's level 0 is +0.0, as torch's).
//
// Tensors, for each weight site of module M (weight "M.weight", n = the site's integer bits):
//   M.weight.qweight     the integers q of the grid, the weight's shape: signed grids int8 for
//                        n <= 8 and int16 above; unsigned grids uint8 for n <= 8, int16 up to 15
//                        bits and int32 at 16. Signed symmetric grids use the narrow range
//                        [-(2^(n-1) - 1), 2^(n-1) - 1] (fake_quantize.h), asymmetric ones the full
//                        [-2^(n-1), 2^(n-1) - 1], unsigned ones [0, 2^n - 1].
//   M.weight.scale       float32, [channels] per channel (along the site's channel axis: the output
//                        channels of a weight) or [1] per tensor.
//   M.weight.zero_point  asymmetric grids only: the integer z, in qweight's dtype (z lies inside
//                        the grid, as ONNX QuantizeLinear stores it), shaped like the scale.
//   weight = (q - z) * scale in float32, the scale broadcast along the channel axis.
// Every other tensor of the model's state dict (parameters and buffers) keeps its name, floating
// ones converted to float32, integer ones unchanged.
//
// Metadata (safetensors' string map):
//   "qatd.format"  "qatd-integer-export"
//   "qatd.format_version"  "1"
//   "qatd.bits"    JSON {"<site>": n, ...}: the integer bits of every site, weights and outputs
//   "qatd.sites"   JSON {"<site>": {"kind": "weight"|"output", "bits": n, "bits_variable": b,
//                  "symmetric", "signed", "granularity": "per_tensor"|"per_channel",
//                  "channel_axis" (per channel), "scale_source", "qmin", "qmax", "qweight_dtype"
//                  (weights)}}. Output sites have no tensors; their entry carries the grid the
//                  fake-quant forward uses, "scale" and "zero_point" (asymmetric) as arrays, with
//                  "calibrated": false and no grid when the quantizer has not observed anything yet.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "quant/quantization_plan.h"

namespace qatd::quant {

inline constexpr const char* kIntegerExportFormat = "qatd-integer-export";
inline constexpr int kIntegerExportVersion = 1;

// Byte counts of the quantized weights, for the export summary.
struct IntegerExportSizes {
  int64_t weight_values = 0;       // elements of all quantized weights
  int64_t float_bytes = 0;         // those weights as float32
  int64_t integer_bytes = 0;       // qweight + scale + zero_point as stored
  int64_t packed_bytes = 0;        // the integers packed at n bits each (rounded up per site), plus scales and zero points
  int64_t other_float_bytes = 0;   // every other tensor
};

struct IntegerExport {
  io::NamedTensors tensors;
  std::map<std::string, std::string> metadata;
  nlohmann::json sites;  // the "qatd.sites" document
  IntegerExportSizes sizes;
};

// The export of `model` with its current bits. Each weight site's quantizer runs once on its
// weight, enabled and in eval mode (so an unobserved min-max or percentile observer calibrates on
// the weight and a frozen one keeps its state; modes are restored afterwards), and the integers are
// taken on the grid that forward used; the export checks that they dequantize to that forward's
// result and throws naming the site otherwise. Quantized weights must be float32.
IntegerExport export_integer(QuantizedModel& model);

// Writes the export atomically (a temporary file renamed over `path`; an existing file is left
// intact on error).
void save_integer_export(const std::string& path, const IntegerExport& exported);
// Reads an export written by save_integer_export (tensors and metadata; `sites` parsed); throws
// naming the file when its metadata is not an integer export's.
IntegerExport load_integer_export(const std::string& path);

// The float tensors of an export: every "M.weight" rebuilt as (q - z) * scale in float32, every
// other tensor as stored, in the export's order. Throws naming the site when a quantized weight's
// tensors are missing, of the wrong dtype or shape, or hold integers outside the grid.
io::NamedTensors dequantize_export(const IntegerExport& exported);

}  // namespace qatd::quant
