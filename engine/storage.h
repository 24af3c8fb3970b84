#pragma once
// Reference-counted memory behind one or more tensors (views share it), with the version
// counter that autograd uses to detect in-place writes to tensors saved for backward.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "engine/device.h"

namespace qatd {

class Storage {
 public:
  // Fresh, 64-byte aligned, uninitialized memory.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device = Device::cpu());
  // Memory owned elsewhere (a memory-mapped file, say); `release` runs when the last tensor goes.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void()> release,
                                       Device device = Device::cpu());

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  Storage(void* data, size_t nbytes, Device device, std::function<void()> release)
      : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void()> release_;
  uint64_t version_ = 0;
};

}  // namespace qatd
