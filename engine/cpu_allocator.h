#pragma once
// The CPU allocator behind Storage. Large buffers are kept for reuse instead of going back
// to the operating system: glibc serves them with mmap, and every fresh mapping costs a page
// fault per 4 KiB on first touch, which for the tens of megabytes of a SAM 2 activation
// costs more than the op that fills it (a softmax over 64 MB ran 4x slower without reuse).
#include <cstddef>

namespace qatd {

class CpuAllocator {
 public:
  static CpuAllocator& instance();

  // 64-byte aligned memory of at least `nbytes`; give it back with release(pointer, nbytes).
  void* allocate(size_t nbytes);
  void release(void* pointer, size_t nbytes);

  // Bytes held for reuse; the cache never grows past the limit (QATD_CPU_CACHE_MB, default
  // 2048 MB), evicting the largest blocks first.
  size_t cached_bytes() const;
  void set_cache_limit(size_t bytes);
  // Returns every cached block to the operating system.
  void empty_cache();

 private:
  CpuAllocator();
};

}  // namespace qatd
