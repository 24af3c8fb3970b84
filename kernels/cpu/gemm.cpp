#include "kernels/cpu/gemm.h"

#include <Eigen/Core>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using MutableMap = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <typename T, typename Left, typename Right>
void multiply_into(MutableMap<T>& c, const Left& left, const Right& right, T alpha, T beta) {
  if (beta == T(0)) {
    c.noalias() = alpha * (left * right);
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * (left * right);
  }
}

}  // namespace

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  MutableMap<T> result(c, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (beta == T(0)) {
      result.setZero();
    } else {
      result *= beta;
    }
    return;
  }
  // A stored transposed is k x m in memory; likewise B.
  ConstMap<T> left(a, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
  ConstMap<T> right(b, transpose_b ? n : k, transpose_b ? k : n, Eigen::OuterStride<>(ldb));
  if (!transpose_a && !transpose_b) multiply_into(result, left, right, alpha, beta);
  if (!transpose_a && transpose_b) multiply_into(result, left, right.transpose(), alpha, beta);
  if (transpose_a && !transpose_b) multiply_into(result, left.transpose(), right, alpha, beta);
  if (transpose_a && transpose_b) multiply_into(result, left.transpose(), right.transpose(), alpha, beta);
}

template <typename T>
void gemm_batched(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc,
                  int64_t stride_c, int64_t batch) {
  // Small matrices: one GEMM per thread. Large ones: Eigen threads each GEMM.
  const int64_t flops = m * n * k;
  const int64_t grain = flops >= (int64_t(1) << 21) ? batch : 1;
  parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      gemm<T>(transpose_a, transpose_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
              c + i * stride_c, ldc);
    }
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);
template void gemm_batched<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                  const float*, int64_t, int64_t, float, float*, int64_t, int64_t, int64_t);
template void gemm_batched<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                   const double*, int64_t, int64_t, double, double*, int64_t, int64_t, int64_t);

}  // namespace qatd::kernels::cpu
