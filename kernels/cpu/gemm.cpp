#include "kernels/cpu/gemm.h"

#include <algorithm>

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

// Eigen's own multithreaded GEMM chooses its depth blocking (and so the order in which each
// element's products are summed) from the thread count, so results would change with the number
// of threads. Eigen therefore always runs single-threaded, and large products are split here into
// panels of C computed by one thread each. Single-threaded Eigen blocks the depth from k alone, and
// splitting C's rows at multiples of 8 (its register block is 4 columns of the transposed problem
// it solves) or C's columns at multiples of 48 (its 3 x 16-float row panels) leaves every element's
// summation order unchanged: the result is bitwise the same for any number of threads.
const bool kEigenSingleThreaded = [] {
  Eigen::setNbThreads(1);
  return true;
}();

constexpr int64_t kRowUnit = 8;
constexpr int64_t kColumnUnit = 48;
// Multiply-adds per thread below which a parallel region costs more than it saves.
constexpr int64_t kMinWorkPerThread = int64_t(1) << 17;

template <typename T, typename Left, typename Right>
void multiply_into(MutableMap<T>& c, const Left& left, const Right& right, T alpha, T beta) {
  if (beta == T(0)) {
    c.noalias() = alpha * (left * right);
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * (left * right);
  }
}

template <typename T>
void gemm_single_thread(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                        int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  MutableMap<T> result(c, m, n, Eigen::OuterStride<>(ldc));
  // A stored transposed is k x m in memory; likewise B.
  ConstMap<T> left(a, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
  ConstMap<T> right(b, transpose_b ? n : k, transpose_b ? k : n, Eigen::OuterStride<>(ldb));
  if (!transpose_a && !transpose_b) multiply_into(result, left, right, alpha, beta);
  if (!transpose_a && transpose_b) multiply_into(result, left, right.transpose(), alpha, beta);
  if (transpose_a && !transpose_b) multiply_into(result, left.transpose(), right, alpha, beta);
  if (transpose_a && transpose_b) multiply_into(result, left.transpose(), right.transpose(), alpha, beta);
}

int64_t round_up(int64_t value, int64_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    MutableMap<T> result(c, m, n, Eigen::OuterStride<>(ldc));
    if (beta == T(0)) {
      result.setZero();
    } else {
      result *= beta;
    }
    return;
  }
  const int64_t work = m * n * k;
  const int64_t threads = omp_in_parallel() ? 1 : std::min<int64_t>(num_threads(), work / kMinWorkPerThread);
  // Rows when each thread gets enough of them for Eigen's panels, else columns; small products whole.
  const int64_t row_panel = round_up((m + threads - 1) / std::max<int64_t>(threads, 1), kRowUnit);
  const int64_t column_panel = round_up((n + threads - 1) / std::max<int64_t>(threads, 1), kColumnUnit);
  if (threads > 1 && row_panel >= 4 * kRowUnit && row_panel < m && n >= kRowUnit) {
    parallel_for(0, (m + row_panel - 1) / row_panel, 1, [&](int64_t first, int64_t last) {
      for (int64_t panel = first; panel < last; ++panel) {
        const int64_t row = panel * row_panel, rows = std::min(row_panel, m - row);
        gemm_single_thread(transpose_a, transpose_b, rows, n, k, alpha, transpose_a ? a + row : a + row * lda, lda, b,
                           ldb, beta, c + row * ldc, ldc);
      }
    });
  } else if (threads > 1 && column_panel < n && m >= kRowUnit) {
    parallel_for(0, (n + column_panel - 1) / column_panel, 1, [&](int64_t first, int64_t last) {
      for (int64_t panel = first; panel < last; ++panel) {
        const int64_t column = panel * column_panel, columns = std::min(column_panel, n - column);
        gemm_single_thread(transpose_a, transpose_b, m, columns, k, alpha, a, lda,
                           transpose_b ? b + column * ldb : b + column, ldb, beta, c + column, ldc);
      }
    });
  } else {
    gemm_single_thread(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

template <typename T>
void gemm_batched(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc,
                  int64_t stride_c, int64_t batch) {
  // Small matrices: one GEMM per thread. Large ones: each GEMM splits itself over the threads.
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
