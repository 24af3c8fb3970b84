#include "engine/storage.h"

#include "engine/cpu_allocator.h"
#include "engine/error.h"

namespace qatd {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  QATD_CHECK(device.is_cpu(), "cannot allocate on {}: this build has no CUDA backend yet", device.str());
  void* data = CpuAllocator::instance().allocate(nbytes);
  return std::shared_ptr<Storage>(
      new Storage(data, nbytes, device, [data, nbytes] { CpuAllocator::instance().release(data, nbytes); }));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void()> release, Device device) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(release)));
}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace qatd
