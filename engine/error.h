#pragma once
// Errors raised by the engine. Every check stays on in release builds: bad shapes and
// dtypes must produce a message, never undefined behaviour.
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace qatd {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace qatd

// QATD_CHECK(condition, "format {}", args...): throws qatd::Error with the formatted message.
#define QATD_CHECK(condition, ...)      \
  do {                                  \
    if (!(condition)) {                 \
      ::qatd::fail(__VA_ARGS__);        \
    }                                   \
  } while (false)
