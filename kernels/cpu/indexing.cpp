#include "kernels/cpu/indexing.h"

#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

template <typename T>
void index_select(const T* source, int64_t outer, int64_t size, int64_t inner, const int64_t* index, int64_t count,
                  T* out) {
  parallel_for(0, outer * count, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   int64_t o = row / count, j = row % count;
                   std::memcpy(out + row * inner, source + (o * size + index[j]) * inner, sizeof(T) * inner);
                 }
               });
}

template <typename T>
void index_add(T* destination, int64_t outer, int64_t size, int64_t inner, const int64_t* index, int64_t count,
               const T* source) {
  // Rows of one `o` may collide through repeated indices, so threads split over `o` only.
  parallel_for(0, outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner * count, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o) {
                   for (int64_t j = 0; j < count; ++j) {
                     T* target = destination + (o * size + index[j]) * inner;
                     const T* values = source + (o * count + j) * inner;
                     for (int64_t i = 0; i < inner; ++i) target[i] += values[i];
                   }
                 }
               });
}

namespace {

// Visits every position of `shape` in row-major order with the offset `strides` give it.
template <typename Visit>
void for_each_position(std::span<const int64_t> shape, std::span<const int64_t> strides, int64_t dim, Visit&& visit) {
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t total = 1;
  for (int64_t size : shape) total *= size;
  if (total == 0) return;
  std::vector<int64_t> position(rank, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d) {
      if (d != dim) offset += position[d] * strides[d];
    }
    visit(flat, offset);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++position[d] < shape[d]) break;
      position[d] = 0;
    }
  }
}

}  // namespace

template <typename T>
void gather(const T* source, std::span<const int64_t> source_strides, const int64_t* index,
            std::span<const int64_t> index_shape, int64_t dim, T* out) {
  for_each_position(index_shape, source_strides, dim, [&](int64_t flat, int64_t offset) {
    out[flat] = source[offset + index[flat] * source_strides[dim]];
  });
}

template <typename T>
void scatter_add(T* destination, std::span<const int64_t> destination_strides, const int64_t* index,
                 std::span<const int64_t> index_shape, int64_t dim, const T* source) {
  for_each_position(index_shape, destination_strides, dim, [&](int64_t flat, int64_t offset) {
    destination[offset + index[flat] * destination_strides[dim]] += source[flat];
  });
}

#define QATD_INSTANTIATE_INDEXING(T)                                                                         \
  template void index_select<T>(const T*, int64_t, int64_t, int64_t, const int64_t*, int64_t, T*);           \
  template void index_add<T>(T*, int64_t, int64_t, int64_t, const int64_t*, int64_t, const T*);              \
  template void gather<T>(const T*, std::span<const int64_t>, const int64_t*, std::span<const int64_t>,      \
                          int64_t, T*);                                                                      \
  template void scatter_add<T>(T*, std::span<const int64_t>, const int64_t*, std::span<const int64_t>,       \
                               int64_t, const T*);
QATD_INSTANTIATE_INDEXING(float)
QATD_INSTANTIATE_INDEXING(double)
QATD_INSTANTIATE_INDEXING(int32_t)
QATD_INSTANTIATE_INDEXING(int64_t)
#undef QATD_INSTANTIATE_INDEXING

}  // namespace qatd::kernels::cpu
