#pragma once
// "Did you mean ...?" for misspelt names (config keys, command-line options, presets).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qatd {

// Levenshtein distance.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word`; a truncated or extended name ("layer_scale" for
// "layer_scale_init_value") counts as one edit. Empty when there are no candidates.
std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates);
// The nearest candidate when it is close enough to be a likely typo of `word`.
std::optional<std::string> likely_typo_of(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace qatd
