#include "engine/device.h"

#include "engine/error.h"

namespace qatd {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int index = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && index >= 0) return cuda(index);
    } catch (const std::exception&) {
    }
  }
  fail("unknown device '{}' (expected cpu, cuda or cuda:N)", text);
}

}  // namespace qatd
