#include "quant/quantizer_spec.h"

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::quant {

namespace {

template <typename Enum>
Enum parse(const std::string& text, const char* what, const std::vector<std::pair<std::string, Enum>>& names) {
  std::vector<std::string> known;
  for (const auto& [name, value] : names) {
    if (name == text) return value;
    known.push_back(name);
  }
  std::string nearest = nearest_name(text, known);
  fail("unknown {} '{}' (did you mean {}? known: {})", what, text, nearest, fmt::join(known, ", "));
}

const std::vector<std::pair<std::string, Granularity>> kGranularities = {{"per_tensor", Granularity::per_tensor},
                                                                        {"per_channel", Granularity::per_channel}};
const std::vector<std::pair<std::string, ScaleSource>> kScaleSources = {{"min_max", ScaleSource::min_max},
                                                                        {"moving_average", ScaleSource::moving_average},
                                                                        {"percentile", ScaleSource::percentile},
                                                                        {"learned", ScaleSource::learned}};
const std::vector<std::pair<std::string, Surrogate>> kSurrogates = {{"ste", Surrogate::ste},
                                                                    {"interp", Surrogate::interp}};

template <typename Enum>
std::string name_of(Enum value, const std::vector<std::pair<std::string, Enum>>& names) {
  for (const auto& [name, candidate] : names) {
    if (candidate == value) return name;
  }
  return "unknown";
}

}  // namespace

Granularity parse_granularity(const std::string& text) { return parse(text, "granularity", kGranularities); }
ScaleSource parse_scale_source(const std::string& text) { return parse(text, "scale source", kScaleSources); }
Surrogate parse_surrogate(const std::string& text) { return parse(text, "bit-gradient surrogate", kSurrogates); }
std::string to_string(Granularity granularity) { return name_of(granularity, kGranularities); }
std::string to_string(ScaleSource source) { return name_of(source, kScaleSources); }
std::string to_string(Surrogate surrogate) { return name_of(surrogate, kSurrogates); }

void validate(const QuantizerSpec& spec, const std::string& where) {
  QATD_CHECK(spec.bits_min >= 1.0, "{}: bits_min must be at least 1, got {}", where, spec.bits_min);
  QATD_CHECK(spec.bits_max <= 16.0, "{}: bits_max must be at most 16, got {}", where, spec.bits_max);
  QATD_CHECK(spec.bits_min <= spec.bits_max, "{}: bits_min {} is greater than bits_max {}", where, spec.bits_min,
             spec.bits_max);
  QATD_CHECK(spec.bits_init >= spec.bits_min && spec.bits_init <= spec.bits_max,
             "{}: bits_init {} lies outside [bits_min, bits_max] = [{}, {}]", where, spec.bits_init, spec.bits_min,
             spec.bits_max);
  QATD_CHECK(spec.averaging_constant > 0.0 && spec.averaging_constant <= 1.0,
             "{}: averaging_constant must lie in (0, 1], got {}", where, spec.averaging_constant);
  QATD_CHECK(spec.percentile > 0.0 && spec.percentile <= 100.0, "{}: percentile must lie in (0, 100], got {}", where,
             spec.percentile);
}

}  // namespace qatd::quant
