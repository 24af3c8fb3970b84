#include "quant/bit_controller.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/shape_ops.h"
#include "engine/suggest.h"
#include "quant/fake_quantizer.h"

namespace qatd::quant {

double BitSchedule::ceiling(int64_t step) const {
  if (steps <= 0) return std::numeric_limits<double>::infinity();
  double progress = std::clamp(static_cast<double>(step - start_step) / static_cast<double>(steps), 0.0, 1.0);
  return ceiling_start + (ceiling_end - ceiling_start) * progress;
}

double BitSchedule::penalty_scale(int64_t step) const {
  if (penalty_warmup_steps <= 0) return 1.0;
  return std::clamp(static_cast<double>(step - start_step) / static_cast<double>(penalty_warmup_steps), 0.0, 1.0);
}

void validate(const BitSchedule& schedule, const std::string& where) {
  QATD_CHECK(schedule.steps >= 0, "{}: steps must be non-negative, got {}", where, schedule.steps);
  QATD_CHECK(schedule.penalty_warmup_steps >= 0, "{}: penalty_warmup_steps must be non-negative, got {}", where,
             schedule.penalty_warmup_steps);
  for (double ceiling : {schedule.ceiling_start, schedule.ceiling_end}) {
    QATD_CHECK(std::isfinite(ceiling) && ceiling >= 1.0 && ceiling <= 16.0,
               "{}: ceilings must lie in [1, 16], got ceiling_start {} and ceiling_end {}", where,
               schedule.ceiling_start, schedule.ceiling_end);
  }
}

namespace {

// "unknown sites (1): a; missing sites (2): b, c; bad entries (1): ..." for the lists that are not empty.
std::string describe_mismatch(const std::vector<std::string>& unknown, const std::vector<std::string>& missing,
                              const std::vector<std::string>& problems) {
  std::string message;
  auto list = [&](const char* title, const std::vector<std::string>& names, const char* separator) {
    if (names.empty()) return;
    message += fmt::format("{}{} ({}): {}", message.empty() ? "" : "; ", title, names.size(),
                           fmt::join(names, separator));
  };
  list("unknown sites", unknown, ", ");
  list("missing sites", missing, ", ");
  list("bad entries", problems, "; ");
  return message;
}

QuantizerSpec range_spec(double bits_min, double bits_max) {
  QuantizerSpec spec;
  spec.bits_min = bits_min;
  spec.bits_max = bits_max;
  return spec;
}

}  // namespace

size_t BitController::add_site(const std::string& name, double bits_init, double bits_min, double bits_max) {
  QATD_CHECK(!name.empty(), "BitController::add_site: the site name is empty");
  QATD_CHECK(!contains(name), "BitController::add_site: site '{}' is already present", name);
  QATD_CHECK(std::isfinite(bits_min) && std::isfinite(bits_max) && std::isfinite(bits_init),
             "BitController::add_site: site '{}' has a non-finite bit setting (init {}, min {}, max {})", name,
             bits_init, bits_min, bits_max);
  QATD_CHECK(bits_min >= 1.0 && bits_max <= 16.0 && bits_min <= bits_max,
             "BitController::add_site: site '{}': need 1 <= bits_min <= bits_max <= 16, got bits_min {} and "
             "bits_max {}",
             name, bits_min, bits_max);
  QATD_CHECK(bits_init >= bits_min && bits_init <= bits_max,
             "BitController::add_site: site '{}': bits_init {} lies outside [bits_min, bits_max] = [{}, {}]", name,
             bits_init, bits_min, bits_max);
  Tensor bits = full({1}, bits_init, DType::f32);
  bits.set_requires_grad(!frozen_);
  index_.emplace(name, sites_.size());
  names_.push_back(name);
  sites_.push_back({bits, bits_min, bits_max});
  return sites_.size() - 1;
}

size_t BitController::index(const std::string& name) const {
  auto found = index_.find(name);
  if (found == index_.end()) {
    QATD_CHECK(!names_.empty(), "BitController: no site '{}' (the controller has no sites)", name);
    fail("BitController: no site '{}' (did you mean '{}'?)", name, nearest_name(name, names_));
  }
  return found->second;
}

const BitController::Site& BitController::site(size_t index) const {
  QATD_CHECK(index < sites_.size(), "BitController: site index {} is out of range ({} sites)", index, sites_.size());
  return sites_[index];
}

const Tensor& BitController::bits(size_t index) const { return site(index).bits; }
double BitController::value(size_t index) const { return site(index).bits.item(); }
double BitController::bits_min(size_t index) const { return site(index).bits_min; }
double BitController::bits_max(size_t index) const { return site(index).bits_max; }

double BitController::effective_max(size_t index) const {
  const Site& entry = site(index);
  return std::max(entry.bits_min, std::min(entry.bits_max, bits_ceiling()));
}

Tensor BitController::stacked() const {
  QATD_CHECK(!sites_.empty(), "BitController::stacked: the controller has no sites");
  return cat(parameters(), 0);
}

std::vector<Tensor> BitController::parameters() const {
  std::vector<Tensor> tensors;
  tensors.reserve(sites_.size());
  for (const Site& entry : sites_) tensors.push_back(entry.bits);
  return tensors;
}

int64_t BitController::integer_bits(size_t index) const {
  const Site& entry = site(index);
  return quant::integer_bits(entry.bits.item(), range_spec(entry.bits_min, entry.bits_max));
}

std::map<std::string, int64_t> BitController::integer_bits() const {
  std::map<std::string, int64_t> snapshot;
  for (size_t i = 0; i < sites_.size(); ++i) snapshot.emplace(names_[i], integer_bits(i));
  return snapshot;
}

void BitController::clamp_() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < sites_.size(); ++i) sites_[i].bits.clamp_(sites_[i].bits_min, effective_max(i));
}

void BitController::freeze() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < sites_.size(); ++i) {
    Tensor& bits = sites_[i].bits;
    bits.fill_(static_cast<double>(integer_bits(i)));
    bits.set_grad(Tensor());
    bits.set_requires_grad(false);
  }
  frozen_ = true;
}

void BitController::unfreeze() {
  for (Site& entry : sites_) entry.bits.set_requires_grad(true);
  frozen_ = false;
}

void BitController::set_schedule(std::optional<BitSchedule> schedule) {
  if (schedule) validate(*schedule, "BitController::set_schedule");
  schedule_ = std::move(schedule);
}

void BitController::set_step(int64_t step) {
  QATD_CHECK(step >= 0, "BitController::set_step: the step must be non-negative, got {}", step);
  step_ = step;
}

double BitController::bits_ceiling() const {
  return schedule_ ? schedule_->ceiling(step_) : std::numeric_limits<double>::infinity();
}

double BitController::penalty_scale() const { return schedule_ ? schedule_->penalty_scale(step_) : 1.0; }

nlohmann::json BitController::to_json() const {
  nlohmann::json document = nlohmann::json::object();
  for (size_t i = 0; i < sites_.size(); ++i) {
    document[names_[i]] = {{"bits", value(i)}, {"min", sites_[i].bits_min}, {"max", sites_[i].bits_max}};
  }
  return document;
}

std::vector<double> BitController::read_document(const nlohmann::json& document, const std::string& source) const {
  QATD_CHECK(document.is_object(), "{}: expected a JSON object {{site: {{bits, min, max}}, ...}}, got {}", source,
             document.type_name());
  std::vector<std::string> unknown, missing, problems;
  std::vector<double> values(sites_.size(), 0.0);
  for (const auto& [name, entry] : document.items()) {
    auto found = index_.find(name);
    if (found == index_.end()) {
      unknown.push_back(name);
      continue;
    }
    const Site& target = sites_[found->second];
    if (!entry.is_object()) {
      problems.push_back(fmt::format("{}: expected an object {{bits, min, max}}, got {}", name, entry.type_name()));
      continue;
    }
    for (const auto& [key, unused] : entry.items()) {
      if (key != "bits" && key != "min" && key != "max") {
        problems.push_back(fmt::format("{}: unknown key '{}' (did you mean '{}'?)", name, key,
                                       nearest_name(key, {"bits", "min", "max"})));
      }
    }
    auto number = [&](const char* key) -> std::optional<double> {
      if (!entry.contains(key) || !entry[key].is_number()) {
        problems.push_back(fmt::format("{}: '{}' is missing or not a number", name, key));
        return std::nullopt;
      }
      return entry[key].get<double>();
    };
    std::optional<double> bits = number("bits"), low = number("min"), high = number("max");
    if (!bits || !low || !high) continue;
    if (*low != target.bits_min || *high != target.bits_max) {
      problems.push_back(fmt::format("{}: saved range [{}, {}] differs from this controller's [{}, {}]", name, *low,
                                     *high, target.bits_min, target.bits_max));
    } else if (!std::isfinite(*bits) || *bits < *low || *bits > *high) {
      problems.push_back(fmt::format("{}: saved bits {} lie outside [{}, {}]", name, *bits, *low, *high));
    }
    values[found->second] = *bits;
  }
  for (const std::string& name : names_) {
    if (!document.contains(name)) missing.push_back(name);
  }
  if (unknown.empty() && missing.empty() && problems.empty()) return values;
  fail("{}: does not match the bit controller: {}", source, describe_mismatch(unknown, missing, problems));
}

void BitController::assign(const std::vector<double>& values) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < sites_.size(); ++i) sites_[i].bits.fill_(values[i]);
}

void BitController::load_json(const nlohmann::json& document, const std::string& source) {
  assign(read_document(document, source));
}

void BitController::save_json_file(const std::string& path) const {
  std::string text = to_json().dump(2) + "\n";
  io::write_file_atomically(path, [&](std::ostream& stream) { stream << text; });
}

void BitController::load_json_file(const std::string& path) {
  std::ifstream stream(path);
  QATD_CHECK(stream.good(), "BitController: cannot open '{}'", path);
  std::stringstream text;
  text << stream.rdbuf();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& error) {
    fail("{}: JSON error: {}", path, error.what());
  }
  load_json(document, path);
}

BitState BitController::state_dict(const std::string& prefix) const {
  BitState state;
  for (size_t i = 0; i < sites_.size(); ++i) state.tensors.emplace_back(prefix + names_[i], sites_[i].bits.detach());
  state.metadata = to_json();
  return state;
}

void BitController::load_state_dict(const BitState& state, const std::string& prefix) {
  const std::string source = fmt::format("bit state (tensors '{}...')", prefix);
  // The metadata carries the ranges; the tensors carry the exact values.
  std::vector<double> values = read_document(state.metadata, source);
  std::vector<std::string> unknown, problems;
  std::set<std::string> seen;
  for (const auto& [name, tensor] : state.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::string site_name = name.substr(prefix.size());
    auto found = index_.find(site_name);
    if (found == index_.end()) {
      unknown.push_back(site_name);
      continue;
    }
    seen.insert(site_name);
    if (!tensor.defined() || tensor.numel() != 1 || !is_floating(tensor.dtype())) {
      problems.push_back(fmt::format("{}: expected a one-element float tensor", site_name));
      continue;
    }
    double value = tensor.item();
    const Site& target = sites_[found->second];
    if (!std::isfinite(value) || value < target.bits_min || value > target.bits_max) {
      problems.push_back(
          fmt::format("{}: saved bits {} lie outside [{}, {}]", site_name, value, target.bits_min, target.bits_max));
    }
    values[found->second] = value;
  }
  std::vector<std::string> missing;
  for (const std::string& name : names_) {
    if (!seen.count(name)) missing.push_back(name);
  }
  if (!unknown.empty() || !missing.empty() || !problems.empty()) {
    fail("{}: does not match the bit controller: {}", source, describe_mismatch(unknown, missing, problems));
  }
  assign(values);
}

}  // namespace qatd::quant
