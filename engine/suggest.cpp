#include "engine/suggest.h"

#include <algorithm>
#include <limits>

namespace qatd {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

namespace {

size_t name_distance(std::string_view word, std::string_view candidate) {
  size_t distance = edit_distance(word, candidate);
  bool contained = candidate.find(word) != std::string_view::npos || word.find(candidate) != std::string_view::npos;
  if (contained && std::min(word.size(), candidate.size()) >= 3) distance = std::min<size_t>(distance, 1);
  return distance;
}

}  // namespace

std::string nearest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string nearest;
  size_t best = std::numeric_limits<size_t>::max();
  for (const std::string& candidate : candidates) {
    size_t distance = name_distance(word, candidate);
    if (distance < best) {
      best = distance;
      nearest = candidate;
    }
  }
  return nearest;
}

std::optional<std::string> likely_typo_of(std::string_view word, const std::vector<std::string>& candidates) {
  std::string nearest = nearest_name(word, candidates);
  if (nearest.empty() || name_distance(word, nearest) > std::max<size_t>(2, word.size() / 3)) return std::nullopt;
  return nearest;
}

}  // namespace qatd
