#include "engine/storage.h"

#include <cstdlib>

#include "engine/error.h"

namespace qatd {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  QATD_CHECK(device.is_cpu(), "cannot allocate on {}: this build has no CUDA backend yet", device.str());
  constexpr size_t kAlignment = 64;
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded);
  QATD_CHECK(data != nullptr, "out of memory allocating {} bytes", nbytes);
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, [data] { std::free(data); }));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void()> release, Device device) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(release)));
}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace qatd
