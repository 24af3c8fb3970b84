// Integer export: quantized weights as integers with their grids, and the way back.
#include "quant/integer_export.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "quant/fake_quantize.h"

namespace qatd::quant {

namespace {

constexpr const char* kFormatKey = "qatd.format";
constexpr const char* kVersionKey = "qatd.format_version";
constexpr const char* kBitsKey = "qatd.bits";
constexpr const char* kSitesKey = "qatd.sites";

// The storage type of n-bit integers (see integer_export.h).
DType integer_dtype(int64_t bits, bool is_signed) {
  if (is_signed) return bits <= 8 ? DType::i8 : DType::i16;
  if (bits <= 8) return DType::u8;
  return bits <= 15 ? DType::i16 : DType::i32;
}

// The clamp bounds of q (zero point included) at n bits.
std::pair<int64_t, int64_t> integer_range(int64_t bits, bool symmetric, bool is_signed) {
  const double n = static_cast<double>(bits);
  return {static_cast<int64_t>(grid_low(n, symmetric, is_signed)), static_cast<int64_t>(grid_high(n, symmetric, is_signed))};
}

// The shape that broadcasts one value per channel along `axis` of a tensor of `dims` dimensions.
Shape channel_shape(int64_t dims, std::optional<int64_t> axis, int64_t channels) {
  if (!axis) return Shape{1};
  Shape shape(static_cast<size_t>(dims), 1);
  shape[static_cast<size_t>(*axis)] = channels;
  return shape;
}

// (q - z) * scale in float32: q - z is an integer below 2^24, exact in float32, and the product is
// the one rounding the fake-quant kernel makes (clamp(r, q_min - z, q_max - z) * scale).
Tensor dequantize_weight(const Tensor& q, const Tensor& scale, const Tensor& zero_point, std::optional<int64_t> axis) {
  NoGradGuard no_grad;
  const Shape shape = channel_shape(q.dim(), axis, scale.numel());
  Tensor levels = q.to(DType::f32);
  if (zero_point.defined()) levels = levels - zero_point.to(DType::f32).reshape(shape);
  return (levels * scale.reshape(shape)).contiguous();
}

// Elements where a and b differ as float32 bit patterns.
int64_t count_mismatches(const Tensor& a, const Tensor& b) {
  const Tensor left = a.contiguous(), right = b.contiguous();
  const float* x = left.data<float>();
  const float* y = right.data<float>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < left.numel(); ++i) mismatches += std::memcmp(x + i, y + i, sizeof(float)) != 0;
  return mismatches;
}

// Throws unless every integer of q (any integer dtype) lies in [low, high].
void check_integer_range(const Tensor& q, int64_t low, int64_t high, const std::string& where) {
  const Tensor values = q.to(DType::i64).contiguous();
  const int64_t* data = values.data<int64_t>();
  const auto [lowest, highest] = std::minmax_element(data, data + values.numel());
  QATD_CHECK(*lowest >= low && *highest <= high, "{}: integers in [{}, {}] fall outside the grid [{}, {}]", where,
             *lowest, *highest, low, high);
}

Tensor integers_of(const std::vector<double>& values, const Shape& shape, DType dtype) {
  std::vector<int64_t> integers(values.begin(), values.end());
  return from_vector(integers, shape).to(dtype);
}

std::vector<double> floats_of(const Tensor& tensor) {
  std::vector<double> values = tensor.to(DType::f64).to_vector<double>();
  for (double& value : values) value = static_cast<float>(value);
  return values;
}

// Restores a quantizer's mode and switch when the export is done with it (or fails).
class QuantizerModeScope {
 public:
  explicit QuantizerModeScope(FakeQuantizer& quantizer)
      : quantizer_(quantizer), training_(quantizer.is_training()), enabled_(quantizer.enabled()) {
    quantizer.train(false);
    quantizer.set_enabled(true);
  }
  ~QuantizerModeScope() {
    quantizer_.train(training_);
    quantizer_.set_enabled(enabled_);
  }
  QuantizerModeScope(const QuantizerModeScope&) = delete;
  QuantizerModeScope& operator=(const QuantizerModeScope&) = delete;

 private:
  FakeQuantizer& quantizer_;
  bool training_;
  bool enabled_;
};

nlohmann::json site_entry(const QuantSite& site, double bits_variable, int64_t bits) {
  const QuantizerSpec& spec = site.spec;
  const auto [low, high] = integer_range(bits, spec.symmetric, spec.is_signed);
  nlohmann::json entry = {{"kind", to_string(site.kind)},
                          {"bits", bits},
                          {"bits_variable", bits_variable},
                          {"symmetric", spec.symmetric},
                          {"signed", spec.is_signed},
                          {"granularity", to_string(spec.granularity)},
                          {"scale_source", to_string(spec.scale_source)},
                          {"qmin", low},
                          {"qmax", high}};
  if (spec.granularity == Granularity::per_channel) entry["channel_axis"] = spec.channel_axis;
  return entry;
}

// An output site's grid from its quantizer's state, as FakeQuantizer::grid computes it for the next
// forward in eval mode; nullopt while the quantizer has observed nothing.
std::optional<ChannelGrids> output_grids(const FakeQuantizer& quantizer, int64_t bits) {
  const QuantizerSpec& spec = quantizer.spec;
  const bool learned = spec.scale_source == ScaleSource::learned;
  std::vector<double> range_min, range_max;
  if (quantizer.running_min.defined()) {
    range_min = floats_of(quantizer.running_min);
    range_max = floats_of(quantizer.running_max);
    if (range_min.empty() || range_min[0] > range_max[0]) return std::nullopt;
  }
  if (!learned) {
    if (range_min.empty()) return std::nullopt;
    return observed_grids(range_min, range_max, bits, spec.symmetric, spec.is_signed);
  }
  if (!quantizer.step.defined()) return std::nullopt;
  std::vector<double> step = floats_of(quantizer.step);
  if (std::all_of(step.begin(), step.end(), [](double s) { return s == 0.0; })) return std::nullopt;
  if (!spec.symmetric && range_min.empty()) return std::nullopt;
  return learned_grids(step, range_min, bits, spec.symmetric, spec.is_signed);
}

void export_output_site(const QuantSite& site, int64_t bits, nlohmann::json& entry) {
  std::optional<ChannelGrids> grids = output_grids(*site.quantizer, bits);
  entry["calibrated"] = grids.has_value();
  if (!grids) return;
  nlohmann::json scale = nlohmann::json::array(), zero_point = nlohmann::json::array();
  for (double value : grids->scale) scale.push_back(static_cast<float>(value));
  for (double value : grids->zero_point) zero_point.push_back(static_cast<int64_t>(value));
  entry["scale"] = scale;
  if (!site.spec.symmetric) entry["zero_point"] = zero_point;
}

void export_weight_site(const QuantSite& site, int64_t bits, nlohmann::json& entry, IntegerExport& exported) {
  const std::string where = fmt::format("export_integer: site '{}'", site.name);
  QATD_CHECK(site.weight.dtype() == DType::f32, "{}: the weight {} is {}; the integer export needs float32 weights",
             where, shape_str(site.weight.shape()), dtype_name(site.weight.dtype()));
  FakeQuantizer& quantizer = *site.quantizer;
  const QuantizerSpec& spec = quantizer.spec;
  Tensor forward, q;
  QuantGrid grid;
  {
    NoGradGuard no_grad;
    QuantizerModeScope scope(quantizer);
    forward = quantizer.forward(site.weight);
    grid = quantizer.grid(site.weight);
    q = quantizer.quantize_to_integers(site.weight, grid);
  }
  QATD_CHECK(grid.bits == bits, "{}: the grid has {} bits, the bit controller says {}", where, grid.bits, bits);
  const DType dtype = integer_dtype(bits, spec.is_signed);
  const auto [low, high] = integer_range(bits, spec.symmetric, spec.is_signed);
  check_integer_range(q, low, high, where);
  Tensor qweight = q.to(dtype);
  Tensor scale = grid.scale.to(DType::f32).contiguous();
  Tensor zero_point;
  if (!spec.symmetric) {
    zero_point = integers_of(grid.zero_point.to(DType::f64).to_vector<double>(), scale.shape(), dtype);
  }
  std::optional<int64_t> axis;
  if (spec.granularity == Granularity::per_channel) {
    axis = spec.channel_axis < 0 ? spec.channel_axis + site.weight.dim() : spec.channel_axis;
  }
  const int64_t mismatches = count_mismatches(dequantize_weight(qweight, scale, zero_point, axis), forward);
  QATD_CHECK(mismatches == 0, "{}: {} of {} dequantized values differ from the fake-quant forward", where, mismatches,
             forward.numel());

  entry["qweight_dtype"] = std::string(dtype_name(dtype));
  exported.tensors.emplace_back(site.name + ".qweight", qweight);
  exported.tensors.emplace_back(site.name + ".scale", scale);
  int64_t grid_bytes = scale.numel() * 4;
  if (zero_point.defined()) {
    exported.tensors.emplace_back(site.name + ".zero_point", zero_point);
    grid_bytes += zero_point.numel() * static_cast<int64_t>(dtype_size(dtype));
  }
  IntegerExportSizes& sizes = exported.sizes;
  const int64_t count = site.weight.numel();
  sizes.weight_values += count;
  sizes.float_bytes += count * 4;
  sizes.integer_bytes += count * static_cast<int64_t>(dtype_size(dtype)) + grid_bytes;
  sizes.packed_bytes += (count * bits + 7) / 8 + grid_bytes;
}

const nlohmann::json& sites_document(const IntegerExport& exported) {
  QATD_CHECK(exported.sites.is_object(), "dequantize_export: the export has no site document ('{}')", kSitesKey);
  return exported.sites;
}

}  // namespace

IntegerExport export_integer(QuantizedModel& model) {
  QATD_CHECK(!model.removed(), "export_integer: the plan was removed from the model");
  std::map<std::string, size_t> weight_sites;  // name -> site index
  for (size_t i = 0; i < model.sites().size(); ++i) {
    if (model.sites()[i].kind == SiteKind::weight) weight_sites.emplace(model.sites()[i].name, i);
  }
  const io::NamedTensors state = model.model().state_dict();
  std::set<std::string> state_names;
  for (const auto& [name, tensor] : state) state_names.insert(name);
  for (const auto& [name, site] : weight_sites) {
    QATD_CHECK(state_names.count(name), "export_integer: site '{}' names no tensor of the model's state dict", name);
  }

  IntegerExport exported;
  exported.sites = nlohmann::json::object();
  nlohmann::json bits_document = nlohmann::json::object();
  for (size_t i = 0; i < model.sites().size(); ++i) {
    const QuantSite& site = model.sites()[i];
    const int64_t bits = model.bits().integer_bits(i);
    bits_document[site.name] = bits;
    exported.sites[site.name] = site_entry(site, model.bits().value(i), bits);
    if (site.kind == SiteKind::output) export_output_site(site, bits, exported.sites[site.name]);
  }
  for (const auto& [name, tensor] : state) {
    auto site = weight_sites.find(name);
    if (site != weight_sites.end()) {
      const size_t index = site->second;
      export_weight_site(model.sites()[index], model.bits().integer_bits(index), exported.sites[name], exported);
      continue;
    }
    Tensor stored = (is_floating(tensor.dtype()) ? tensor.detach().to(DType::f32) : tensor.detach()).contiguous();
    exported.sizes.other_float_bytes += stored.numel() * static_cast<int64_t>(dtype_size(stored.dtype()));
    exported.tensors.emplace_back(name, stored);
  }
  exported.metadata = {{kFormatKey, kIntegerExportFormat},
                       {kVersionKey, std::to_string(kIntegerExportVersion)},
                       {kBitsKey, bits_document.dump()},
                       {kSitesKey, exported.sites.dump()}};
  return exported;
}

void save_integer_export(const std::string& path, const IntegerExport& exported) {
  io::save_safetensors(path, exported.tensors, exported.metadata);
}

IntegerExport load_integer_export(const std::string& path) {
  IntegerExport exported;
  exported.tensors = io::load_safetensors(path, &exported.metadata);
  auto format = exported.metadata.find(kFormatKey);
  QATD_CHECK(format != exported.metadata.end() && format->second == kIntegerExportFormat,
             "{}: not a qatd integer export (no '{}' = '{}' in its metadata)", path, kFormatKey,
             kIntegerExportFormat);
  auto version = exported.metadata.find(kVersionKey);
  QATD_CHECK(version != exported.metadata.end() && version->second == std::to_string(kIntegerExportVersion),
             "{}: integer export format version '{}' is not supported (this build reads version {})", path,
             version == exported.metadata.end() ? "" : version->second, kIntegerExportVersion);
  auto sites = exported.metadata.find(kSitesKey);
  QATD_CHECK(sites != exported.metadata.end(), "{}: the '{}' metadata entry is missing", path, kSitesKey);
  try {
    exported.sites = nlohmann::json::parse(sites->second);
  } catch (const nlohmann::json::exception& error) {
    fail("{}: the '{}' metadata is not valid JSON: {}", path, kSitesKey, error.what());
  }
  return exported;
}

io::NamedTensors dequantize_export(const IntegerExport& exported) {
  const nlohmann::json& sites = sites_document(exported);
  std::map<std::string, Tensor> by_name;
  for (const auto& [name, tensor] : exported.tensors) by_name.emplace(name, tensor);
  auto tensor_of = [&](const std::string& name) -> Tensor {
    auto found = by_name.find(name);
    return found == by_name.end() ? Tensor() : found->second;
  };

  std::map<std::string, Tensor> weights;  // dequantized, by weight name
  std::set<std::string> consumed;
  for (const auto& [name, entry] : sites.items()) {
    if (entry.value("kind", "") != "weight") continue;
    const std::string where = fmt::format("dequantize_export: site '{}'", name);
    int64_t bits = 0;
    bool symmetric = true, is_signed = true;
    std::optional<int64_t> axis;
    try {
      bits = entry.at("bits").get<int64_t>();
      symmetric = entry.at("symmetric").get<bool>();
      is_signed = entry.at("signed").get<bool>();
      if (entry.contains("channel_axis")) axis = entry.at("channel_axis").get<int64_t>();
    } catch (const nlohmann::json::exception& error) {
      fail("{}: incomplete metadata: {}", where, error.what());
    }
    QATD_CHECK(bits >= 1 && bits <= 16, "{}: {} bits (expected 1 to 16)", where, bits);
    const Tensor qweight = tensor_of(name + ".qweight"), scale = tensor_of(name + ".scale");
    const Tensor zero_point = tensor_of(name + ".zero_point");
    const DType dtype = integer_dtype(bits, is_signed);
    QATD_CHECK(qweight.defined() && scale.defined(), "{}: the tensors {}.qweight and {}.scale are required", where,
               name, name);
    QATD_CHECK(qweight.dtype() == dtype, "{}: qweight is {}, expected {} for {} {} bits", where,
               dtype_name(qweight.dtype()), dtype_name(dtype), is_signed ? "signed" : "unsigned", bits);
    QATD_CHECK(zero_point.defined() == !symmetric, "{}: {} grid {} a zero point", where,
               symmetric ? "a symmetric" : "an asymmetric", symmetric ? "has" : "lacks");
    if (axis) {
      QATD_CHECK(*axis >= -qweight.dim() && *axis < qweight.dim(), "{}: channel axis {} of a {} weight", where, *axis,
                 shape_str(qweight.shape()));
      if (*axis < 0) *axis += qweight.dim();
    }
    const Shape scale_shape = axis ? Shape{qweight.size(*axis)} : Shape{1};
    QATD_CHECK(scale.dtype() == DType::f32 && scale.shape() == scale_shape, "{}: scale is {} {}, expected f32 {}",
               where, dtype_name(scale.dtype()), shape_str(scale.shape()), shape_str(scale_shape));
    QATD_CHECK(!zero_point.defined() || (zero_point.dtype() == dtype && zero_point.shape() == scale_shape),
               "{}: zero_point is {} {}, expected {} {}", where, dtype_name(zero_point.dtype()),
               shape_str(zero_point.shape()), dtype_name(dtype), shape_str(scale_shape));
    const auto [low, high] = integer_range(bits, symmetric, is_signed);
    check_integer_range(qweight, low, high, where);
    weights.emplace(name, dequantize_weight(qweight, scale, zero_point, axis));
    for (const char* suffix : {".qweight", ".scale", ".zero_point"}) consumed.insert(name + suffix);
  }

  io::NamedTensors tensors;
  for (const auto& [name, tensor] : exported.tensors) {
    if (!consumed.count(name)) {
      tensors.emplace_back(name, tensor);
    } else if (name.size() > 8 && name.ends_with(".qweight")) {
      const std::string weight = name.substr(0, name.size() - 8);
      tensors.emplace_back(weight, weights.at(weight));
    }
  }
  return tensors;
}

}  // namespace qatd::quant
