#pragma once
// Seeded random numbers. The same seed gives the same tensors on every run and machine:
// the generator is mt19937_64 and the distributions are written here, not taken from the
// standard library (whose normal distribution differs between implementations).
#include <cstdint>
#include <random>
#include <string>

#include "engine/tensor.h"

namespace qatd {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}
  void seed(uint64_t seed) { engine_.seed(seed); }

  uint64_t next_u64() { return engine_(); }
  double uniform();  // in [0, 1)
  double normal();   // standard normal

  // The full state, to save with a checkpoint and restore on resume.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = DType::f32, Generator* generator = nullptr);
Tensor randn(const Shape& shape, DType dtype = DType::f32, Generator* generator = nullptr);
// Integers uniformly in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64,
               Generator* generator = nullptr);
Tensor randperm(int64_t n, Generator* generator = nullptr);
// Bool tensor, true with probability p.
Tensor bernoulli(const Shape& shape, double p, Generator* generator = nullptr);

// In-place fills (under the usual in-place rules; used for initialization under NoGradGuard).
Tensor& uniform_(Tensor& tensor, double low, double high, Generator* generator = nullptr);
Tensor& normal_(Tensor& tensor, double mean, double std, Generator* generator = nullptr);
// Normal(mean, std) redrawn until inside [low, high], as timm/PyTorch trunc_normal_ intends.
Tensor& trunc_normal_(Tensor& tensor, double mean, double std, double low, double high,
                      Generator* generator = nullptr);

}  // namespace qatd
