#pragma once
// General matrix multiply on row-major buffers, through Eigen's blocked GEMM kernels:
// C = alpha * op(A) * op(B) + beta * C, where op transposes when the flag is set.
// op(A) is m x k, op(B) is k x n, C is m x n; ld* are the row strides in elements.
// With beta == 0, C is never read (it may hold garbage).
#include <cstdint>

namespace qatd::kernels::cpu {

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// `batch` independent GEMMs, matrix i at a + i * stride_a (and likewise for b and c).
// Threads go across the batch when it is large enough, else inside each GEMM.
template <typename T>
void gemm_batched(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc,
                  int64_t stride_c, int64_t batch);

}  // namespace qatd::kernels::cpu
