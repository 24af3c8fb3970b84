#include "engine/random.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "engine/autograd/grad_mode.h"

namespace qatd {

double Generator::uniform() {
  // 53 random bits to a double in [0, 1).
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

double Generator::normal() {
  // Box-Muller; 1 - u keeps the logarithm finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::string Generator::state() const {
  std::ostringstream stream;
  stream << engine_;
  return stream.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream stream(state);
  std::mt19937_64 restored;
  stream >> restored;
  QATD_CHECK(!stream.fail(), "Generator::set_state: the saved state is malformed");
  engine_ = restored;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

namespace {

Generator& pick(Generator* generator) { return generator ? *generator : default_generator(); }

// Fills a fresh tensor of `shape` with draw() converted to `dtype`.
template <typename Draw>
Tensor generate(const Shape& shape, DType dtype, Draw&& draw) {
  Tensor out = empty(shape, dtype);
  dispatch_all(dtype, [&]<typename T>() {
    T* data = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        data[i] = T(static_cast<float>(draw()));
      } else {
        data[i] = static_cast<T>(draw());
      }
    }
  });
  return out;
}

Tensor& fill_from(Tensor& tensor, const Tensor& values) {
  NoGradGuard no_grad;
  return tensor.copy_(values);
}

}  // namespace

Tensor rand(const Shape& shape, DType dtype, Generator* generator) {
  Generator& g = pick(generator);
  return generate(shape, dtype, [&] { return g.uniform(); });
}

Tensor randn(const Shape& shape, DType dtype, Generator* generator) {
  Generator& g = pick(generator);
  return generate(shape, dtype, [&] { return g.normal(); });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* generator) {
  QATD_CHECK(low < high, "randint: low {} must be below high {}", low, high);
  Generator& g = pick(generator);
  uint64_t span = static_cast<uint64_t>(high - low);
  return generate(shape, dtype, [&] { return static_cast<double>(low + static_cast<int64_t>(g.next_u64() % span)); });
}

Tensor randperm(int64_t n, Generator* generator) {
  QATD_CHECK(n >= 0, "randperm: n must be non-negative, got {}", n);
  Generator& g = pick(generator);
  Tensor out = arange(n, DType::i64);
  int64_t* data = out.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(i + 1));
    std::swap(data[i], data[j]);
  }
  return out;
}

Tensor bernoulli(const Shape& shape, double p, Generator* generator) {
  QATD_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: p must lie in [0, 1], got {}", p);
  Generator& g = pick(generator);
  return generate(shape, DType::boolean, [&] { return g.uniform() < p ? 1.0 : 0.0; });
}

Tensor& uniform_(Tensor& tensor, double low, double high, Generator* generator) {
  Generator& g = pick(generator);
  return fill_from(tensor, generate(tensor.shape(), tensor.dtype(), [&] { return low + (high - low) * g.uniform(); }));
}

Tensor& normal_(Tensor& tensor, double mean, double std, Generator* generator) {
  Generator& g = pick(generator);
  return fill_from(tensor, generate(tensor.shape(), tensor.dtype(), [&] { return mean + std * g.normal(); }));
}

Tensor& trunc_normal_(Tensor& tensor, double mean, double std, double low, double high, Generator* generator) {
  QATD_CHECK(low < high, "trunc_normal_: low {} must be below high {}", low, high);
  Generator& g = pick(generator);
  return fill_from(tensor, generate(tensor.shape(), tensor.dtype(), [&] {
                     for (int attempt = 0; attempt < 1000; ++attempt) {
                       double value = mean + std * g.normal();
                       if (value >= low && value <= high) return value;
                     }
                     return std::clamp(mean, low, high);
                   }));
}

}  // namespace qatd
