#pragma once
// A fixed set of threads running queued jobs in submission order, for the data loader. Each worker
// runs the engine's kernels on one thread (its own OpenMP setting), so loading never competes with
// the training step for the cores it parallelizes over.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qatd::train::data {

class WorkerPool {
 public:
  explicit WorkerPool(int64_t threads);
  ~WorkerPool();  // finishes the queued jobs, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> job);

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qatd::train::data
