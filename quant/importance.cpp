// Importance files, validation against a plan's sites, and normalization.
#include "quant/importance.h"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/suggest.h"

namespace qatd::quant {

ImportanceNormalization parse_importance_normalization(const std::string& text) {
  if (text == "none") return ImportanceNormalization::none;
  if (text == "mean") return ImportanceNormalization::mean;
  fail("unknown importance normalization '{}' (did you mean {}? known: none, mean)", text,
       nearest_name(text, {"none", "mean"}));
}

std::string to_string(ImportanceNormalization normalization) {
  return normalization == ImportanceNormalization::mean ? "mean" : "none";
}

double Importance::at(const std::string& site) const {
  for (size_t i = 0; i < sites.size(); ++i) {
    if (sites[i] == site) return values[i];
  }
  QATD_CHECK(!sites.empty(), "importance: no site '{}' (the importance lists no sites)", site);
  fail("importance: no site '{}' (did you mean '{}'?)", site, nearest_name(site, sites));
}

Tensor Importance::to_tensor(DType dtype) const {
  return from_vector(values, {static_cast<int64_t>(values.size())}).to(dtype);
}

namespace {

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

// Appends one entry, refusing duplicates and non-finite values.
void add_entry(Importance& importance, std::set<std::string>& seen, const std::string& site, double value,
               const std::string& where) {
  QATD_CHECK(!site.empty(), "{}: empty site name", where);
  QATD_CHECK(seen.insert(site).second, "{}: site '{}' appears twice", where, site);
  QATD_CHECK(std::isfinite(value), "{}: site '{}' has importance {} (must be finite)", where, site, value);
  importance.sites.push_back(site);
  importance.values.push_back(value);
}

std::string read_text(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  QATD_CHECK(stream.good(), "cannot open importance file '{}'", path);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

}  // namespace

Importance parse_importance_csv(std::string_view text, const std::string& source) {
  Importance importance;
  std::set<std::string> seen;
  std::istringstream lines{std::string(text)};
  std::string line;
  int64_t number = 0;
  bool header_seen = false;
  while (std::getline(lines, line)) {
    ++number;
    std::string content = trim(line);
    if (content.empty()) continue;
    std::string where = fmt::format("{}:{}", source, number);
    if (!header_seen) {
      QATD_CHECK(content == "site,importance", "{}: expected the header 'site,importance', got '{}'", where,
                 content);
      header_seen = true;
      continue;
    }
    size_t comma = content.find(',');
    QATD_CHECK(comma != std::string::npos && content.find(',', comma + 1) == std::string::npos,
               "{}: expected 'site,importance', got '{}'", where, content);
    std::string site = trim(std::string_view(content).substr(0, comma));
    std::string value_text = trim(std::string_view(content).substr(comma + 1));
    double value = 0.0;
    size_t consumed = 0;
    try {
      value = std::stod(value_text, &consumed);
    } catch (const std::exception&) {
      consumed = 0;
    }
    QATD_CHECK(consumed > 0 && consumed == value_text.size(), "{}: site '{}' has a value that is not a number: '{}'",
               where, site, value_text);
    add_entry(importance, seen, site, value, where);
  }
  QATD_CHECK(header_seen, "{}: empty importance file (expected the header 'site,importance')", source);
  return importance;
}

Importance parse_importance_json(std::string_view text, const std::string& source) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    fail("{}: JSON error: {}", source, error.what());
  }
  QATD_CHECK(document.is_object(), "{}: expected a JSON object {{\"site\": importance, ...}}, got {}", source,
             document.type_name());
  Importance importance;
  std::set<std::string> seen;
  for (const auto& [site, value] : document.items()) {
    QATD_CHECK(value.is_number(), "{}: site '{}' has a value that is not a number: {}", source, site, value.dump());
    add_entry(importance, seen, site, value.get<double>(), source);
  }
  return importance;
}

Importance read_importance(const std::string& path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv")) return parse_importance_csv(read_text(path), path);
  if (ends_with(".json")) return parse_importance_json(read_text(path), path);
  fail("importance file '{}': expected a .csv or .json file", path);
}

std::string importance_to_csv(const Importance& importance) {
  QATD_CHECK(importance.sites.size() == importance.values.size(), "importance: {} sites but {} values",
             importance.sites.size(), importance.values.size());
  std::string text = "site,importance\n";
  for (size_t i = 0; i < importance.sites.size(); ++i) {
    text += fmt::format("{},{}\n", importance.sites[i], importance.values[i]);  // shortest exact representation
  }
  return text;
}

void write_importance_csv(const std::string& path, const Importance& importance) {
  std::string text = importance_to_csv(importance);
  io::write_file_atomically(path, [&](std::ostream& stream) { stream << text; });
}

void write_importance_json(const std::string& path, const Importance& importance) {
  QATD_CHECK(importance.sites.size() == importance.values.size(), "importance: {} sites but {} values",
             importance.sites.size(), importance.values.size());
  nlohmann::ordered_json document = nlohmann::ordered_json::object();
  for (size_t i = 0; i < importance.sites.size(); ++i) document[importance.sites[i]] = importance.values[i];
  std::string text = document.dump(2) + "\n";
  io::write_file_atomically(path, [&](std::ostream& stream) { stream << text; });
}

Importance validate_importance(const Importance& importance, const std::vector<std::string>& sites,
                               const std::string& source) {
  std::map<std::string, double> by_site;
  for (size_t i = 0; i < importance.sites.size(); ++i) by_site.emplace(importance.sites[i], importance.values[i]);
  std::set<std::string> wanted(sites.begin(), sites.end());
  std::vector<std::string> missing, unknown, not_positive;
  Importance matched;
  for (const std::string& site : sites) {
    auto found = by_site.find(site);
    if (found == by_site.end()) {
      missing.push_back(site);
      continue;
    }
    if (!(found->second > 0.0) || !std::isfinite(found->second)) {
      not_positive.push_back(fmt::format("{} = {}", site, found->second));
    }
    matched.sites.push_back(site);
    matched.values.push_back(found->second);
  }
  for (const std::string& site : importance.sites) {
    if (!wanted.count(site)) {
      auto typo = likely_typo_of(site, sites);
      unknown.push_back(typo ? fmt::format("{} (did you mean {}?)", site, *typo) : site);
    }
  }
  if (missing.empty() && unknown.empty() && not_positive.empty()) return matched;
  std::string message;
  auto list = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    message += fmt::format("{}{} ({}): {}", message.empty() ? "" : "; ", title, names.size(), fmt::join(names, ", "));
  };
  list("sites missing from the importance", missing);
  list("unknown sites", unknown);
  list("importances that are not positive", not_positive);
  fail("{}: does not match the plan's sites: {}", source, message);
}

Importance uniform_importance(const std::vector<std::string>& sites) {
  return {sites, std::vector<double>(sites.size(), 1.0)};
}

Importance normalize(const Importance& importance, ImportanceNormalization normalization) {
  if (normalization == ImportanceNormalization::none) return importance;
  QATD_CHECK(!importance.values.empty(), "normalize importance: no sites");
  double mean = 0.0;
  for (double value : importance.values) mean += value;
  mean /= static_cast<double>(importance.values.size());
  QATD_CHECK(std::isfinite(mean) && mean > 0.0, "normalize importance: the mean importance is {}", mean);
  Importance normalized = importance;
  for (double& value : normalized.values) value /= mean;
  return normalized;
}

Tensor normalize(const Tensor& importance, ImportanceNormalization normalization) {
  if (normalization == ImportanceNormalization::none) return importance;
  QATD_CHECK(importance.defined() && importance.numel() > 0, "normalize importance: empty importance tensor");
  return importance / mean(importance);
}

}  // namespace qatd::quant
