#pragma once
// The strided loop every elementwise kernel is built on: N operands over one shared shape,
// each with its own strides (0 for a broadcast dimension). Adjacent dimensions that are
// contiguous in every operand are merged first, so the inner loop usually runs long and
// unit-strided, which the compiler vectorizes.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

template <size_t N>
struct StridedLoop {
  std::vector<int64_t> shape;                   // after merging; innermost last
  std::array<std::vector<int64_t>, N> strides;  // in elements, per operand

  StridedLoop(std::span<const int64_t> full_shape, const std::array<std::span<const int64_t>, N>& full_strides) {
    for (size_t d = 0; d < full_shape.size(); ++d) {
      if (full_shape[d] == 1) continue;
      bool merge = !shape.empty();
      for (size_t k = 0; k < N && merge; ++k) {
        merge = strides[k].back() == full_strides[k][d] * full_shape[d];
      }
      if (merge) {
        shape.back() *= full_shape[d];
        for (size_t k = 0; k < N; ++k) strides[k].back() = full_strides[k][d];
      } else {
        shape.push_back(full_shape[d]);
        for (size_t k = 0; k < N; ++k) strides[k].push_back(full_strides[k][d]);
      }
    }
    if (shape.empty()) {
      shape.push_back(1);
      for (size_t k = 0; k < N; ++k) strides[k].push_back(0);
    }
  }

  int64_t inner_size() const { return shape.back(); }
  int64_t outer_count() const {
    int64_t count = 1;
    for (size_t d = 0; d + 1 < shape.size(); ++d) count *= shape[d];
    return count;
  }
};

// Calls run(pointers, inner_byte_strides, inner_size) once per innermost row, in parallel
// over rows. Pointers are char* at each operand's first element; strides are in bytes.
template <size_t N, typename Run>
void for_each_row(std::span<const int64_t> shape, const std::array<std::span<const int64_t>, N>& byte_strides,
                  const std::array<char*, N>& base, Run&& run) {
  for (int64_t size : shape) {
    if (size == 0) return;
  }
  StridedLoop<N> loop(shape, byte_strides);
  const int64_t inner = loop.inner_size();
  const int64_t outer = loop.outer_count();
  const int outer_rank = static_cast<int>(loop.shape.size()) - 1;
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = loop.strides[k].back();

  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1));
  parallel_for(0, outer, grain, [&](int64_t begin, int64_t end) {
    // Multi-index of row `begin`, then advanced odometer-style.
    std::vector<int64_t> index(outer_rank, 0);
    int64_t rest = begin;
    for (int d = outer_rank - 1; d >= 0; --d) {
      index[d] = rest % loop.shape[d];
      rest /= loop.shape[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      std::array<char*, N> pointers = base;
      for (size_t k = 0; k < N; ++k) {
        int64_t offset = 0;
        for (int d = 0; d < outer_rank; ++d) offset += index[d] * loop.strides[k][d];
        pointers[k] += offset;
      }
      run(pointers, inner_strides, inner);
      for (int d = outer_rank - 1; d >= 0; --d) {
        if (++index[d] < loop.shape[d]) break;
        index[d] = 0;
      }
    }
  });
}

// Element strides to byte strides.
inline std::vector<int64_t> to_byte_strides(std::span<const int64_t> strides, size_t element_size) {
  std::vector<int64_t> bytes(strides.begin(), strides.end());
  for (int64_t& stride : bytes) stride *= static_cast<int64_t>(element_size);
  return bytes;
}

// out = f(a), elementwise over `shape`; every operand has its own element strides.
template <typename TOut, typename TA, typename F>
void map_unary(std::span<const int64_t> shape, TOut* out, std::span<const int64_t> out_strides, const TA* a,
               std::span<const int64_t> a_strides, F f) {
  auto out_bytes = to_byte_strides(out_strides, sizeof(TOut));
  auto a_bytes = to_byte_strides(a_strides, sizeof(TA));
  for_each_row<2>(shape, {out_bytes, a_bytes},
                  {reinterpret_cast<char*>(out), reinterpret_cast<char*>(const_cast<TA*>(a))},
                  [&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
                    TOut* o = reinterpret_cast<TOut*>(p[0]);
                    const TA* x = reinterpret_cast<const TA*>(p[1]);
                    if (s[0] == sizeof(TOut) && s[1] == sizeof(TA)) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
                    } else {
                      const int64_t so = s[0] / int64_t(sizeof(TOut)), sa = s[1] / int64_t(sizeof(TA));
                      for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa]);
                    }
                  });
}

// out = f(a, b), elementwise; a broadcast operand has stride 0 in its broadcast dims.
template <typename TOut, typename TA, typename TB, typename F>
void map_binary(std::span<const int64_t> shape, TOut* out, std::span<const int64_t> out_strides, const TA* a,
                std::span<const int64_t> a_strides, const TB* b, std::span<const int64_t> b_strides, F f) {
  auto out_bytes = to_byte_strides(out_strides, sizeof(TOut));
  auto a_bytes = to_byte_strides(a_strides, sizeof(TA));
  auto b_bytes = to_byte_strides(b_strides, sizeof(TB));
  for_each_row<3>(shape, {out_bytes, a_bytes, b_bytes},
                  {reinterpret_cast<char*>(out), reinterpret_cast<char*>(const_cast<TA*>(a)),
                   reinterpret_cast<char*>(const_cast<TB*>(b))},
                  [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
                    TOut* o = reinterpret_cast<TOut*>(p[0]);
                    const TA* x = reinterpret_cast<const TA*>(p[1]);
                    const TB* y = reinterpret_cast<const TB*>(p[2]);
                    const bool out_unit = s[0] == sizeof(TOut);
                    if (out_unit && s[1] == sizeof(TA) && s[2] == sizeof(TB)) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
                    } else if (out_unit && s[1] == sizeof(TA) && s[2] == 0) {
                      const TB scalar = *y;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], scalar);
                    } else if (out_unit && s[1] == 0 && s[2] == sizeof(TB)) {
                      const TA scalar = *x;
                      for (int64_t i = 0; i < n; ++i) o[i] = f(scalar, y[i]);
                    } else {
                      const int64_t so = s[0] / int64_t(sizeof(TOut)), sa = s[1] / int64_t(sizeof(TA)),
                                    sb = s[2] / int64_t(sizeof(TB));
                      for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa], y[i * sb]);
                    }
                  });
}

// out = f(a, b, c), elementwise with broadcasting strides.
template <typename TOut, typename TA, typename TB, typename TC, typename F>
void map_ternary(std::span<const int64_t> shape, TOut* out, std::span<const int64_t> out_strides, const TA* a,
                 std::span<const int64_t> a_strides, const TB* b, std::span<const int64_t> b_strides, const TC* c,
                 std::span<const int64_t> c_strides, F f) {
  auto out_bytes = to_byte_strides(out_strides, sizeof(TOut));
  auto a_bytes = to_byte_strides(a_strides, sizeof(TA));
  auto b_bytes = to_byte_strides(b_strides, sizeof(TB));
  auto c_bytes = to_byte_strides(c_strides, sizeof(TC));
  for_each_row<4>(shape, {out_bytes, a_bytes, b_bytes, c_bytes},
                  {reinterpret_cast<char*>(out), reinterpret_cast<char*>(const_cast<TA*>(a)),
                   reinterpret_cast<char*>(const_cast<TB*>(b)), reinterpret_cast<char*>(const_cast<TC*>(c))},
                  [&](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
                    TOut* o = reinterpret_cast<TOut*>(p[0]);
                    const TA* x = reinterpret_cast<const TA*>(p[1]);
                    const TB* y = reinterpret_cast<const TB*>(p[2]);
                    const TC* z = reinterpret_cast<const TC*>(p[3]);
                    const int64_t so = s[0] / int64_t(sizeof(TOut)), sa = s[1] / int64_t(sizeof(TA)),
                                  sb = s[2] / int64_t(sizeof(TB)), sc = s[3] / int64_t(sizeof(TC));
                    for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa], y[i * sb], z[i * sc]);
                  });
}

}  // namespace qatd::kernels::cpu
