#include "engine/cpu_allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "engine/error.h"

namespace qatd {

namespace {

constexpr size_t kAlignment = 64;
// Below this, glibc's own free lists already reuse memory without page faults.
constexpr size_t kCachedFrom = size_t(1) << 20;
// Sizes are rounded to this so that buffers of nearly equal size share blocks.
constexpr size_t kGranularity = size_t(1) << 16;

size_t rounded_size(size_t nbytes) {
  size_t unit = nbytes >= kCachedFrom ? kGranularity : kAlignment;
  size_t rounded = (nbytes + unit - 1) / unit * unit;
  return rounded == 0 ? kAlignment : rounded;
}

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> blocks;  // size -> free block
  size_t bytes = 0;
  size_t limit = 0;
};

Cache& cache() {
  static Cache* instance = new Cache();  // never destroyed: storages may outlive static destruction
  return *instance;
}

void evict_until(Cache& c, size_t target) {
  while (c.bytes > target && !c.blocks.empty()) {
    auto largest = std::prev(c.blocks.end());
    c.bytes -= largest->first;
    std::free(largest->second);
    c.blocks.erase(largest);
  }
}

}  // namespace

CpuAllocator::CpuAllocator() {
  size_t megabytes = 2048;
  if (const char* text = std::getenv("QATD_CPU_CACHE_MB")) {
    try {
      megabytes = static_cast<size_t>(std::stoull(text));
    } catch (const std::exception&) {
      fail("QATD_CPU_CACHE_MB must be a number of megabytes, got '{}'", text);
    }
  }
  cache().limit = megabytes << 20;
}

CpuAllocator& CpuAllocator::instance() {
  static CpuAllocator allocator;
  return allocator;
}

void* CpuAllocator::allocate(size_t nbytes) {
  size_t size = rounded_size(nbytes);
  if (size >= kCachedFrom) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    // Accept a block up to 1/8 larger than asked, so that shapes that differ a little reuse memory.
    auto found = c.blocks.lower_bound(size);
    if (found != c.blocks.end() && found->first <= size + size / 8) {
      void* pointer = found->second;
      c.bytes -= found->first;
      c.blocks.erase(found);
      return pointer;
    }
  }
  void* pointer = std::aligned_alloc(kAlignment, size);
  QATD_CHECK(pointer != nullptr, "out of memory allocating {} bytes", nbytes);
  return pointer;
}

void CpuAllocator::release(void* pointer, size_t nbytes) {
  size_t size = rounded_size(nbytes);
  Cache& c = cache();
  if (size < kCachedFrom || size > c.limit) {
    std::free(pointer);
    return;
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  evict_until(c, c.limit - size);
  c.blocks.emplace(size, pointer);
  c.bytes += size;
}

size_t CpuAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return cache().bytes;
}

void CpuAllocator::set_cache_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  evict_until(c, bytes);
}

void CpuAllocator::empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  evict_until(c, 0);
}

}  // namespace qatd
