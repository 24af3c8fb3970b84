#pragma once
// Gathers and scatters along one dimension. Index values are validated by the caller.
#include <cstdint>
#include <span>

namespace qatd::kernels::cpu {

// out[o, j, i] = source[o, index[j], i] for contiguous source [outer, size, inner] and out [outer, count, inner].
template <typename T>
void index_select(const T* source, int64_t outer, int64_t size, int64_t inner, const int64_t* index, int64_t count,
                  T* out);

// destination[o, index[j], i] += source[o, j, i]; repeated indices accumulate.
template <typename T>
void index_add(T* destination, int64_t outer, int64_t size, int64_t inner, const int64_t* index, int64_t count,
               const T* source);

// torch.gather along `dim`: out[p] = source[p with p[dim] replaced by index[p]], for every
// position p of the contiguous index/out shape; source may be strided.
template <typename T>
void gather(const T* source, std::span<const int64_t> source_strides, const int64_t* index,
            std::span<const int64_t> index_shape, int64_t dim, T* out);

// The adjoint of gather: destination[p with p[dim] = index[p]] += source[p] (destination contiguous
// with `destination_strides`).
template <typename T>
void scatter_add(T* destination, std::span<const int64_t> destination_strides, const int64_t* index,
                 std::span<const int64_t> index_shape, int64_t dim, const T* source);

}  // namespace qatd::kernels::cpu
