#include "kernels/cpu/attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// Scratch buffers are Vectors, which Eigen aligns to 64 bytes. Eigen's loops over a buffer start
// with scalar code up to its first 64-byte boundary (libm's exp rather than Eigen's vectorized one;
// sums in another order), so in heap memory that malloc aligns to 16 bytes only, results would
// change from run to run with where the buffer happens to land.
template <typename T>
using Vector = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using Span = Eigen::Map<Vector<T>>;
template <typename T>
using ConstSpan = Eigen::Map<const Vector<T>>;

// Query rows per task and key rows per step. Larger query blocks amortize packing each key block
// for the GEMMs; smaller ones give the threads more tasks. A key block's scores for a query block
// (query_block x key_block) stay within L2. Measured at SAM 2's sizes: (L = 4096, E = 96) runs best
// at 256 x 512, 64-token windows at 64 x 64.
struct Blocking {
  int64_t query_block;
  int64_t key_block;
};

Blocking choose_blocking(int64_t query_length, int64_t key_length) {
  int64_t query_block = query_length >= 768 ? 256 : (query_length >= 64 ? 64 : 32);
  int64_t key_block = std::clamp<int64_t>(key_length, 1, 512);
  return {query_block, key_block};
}

// Splits [0, count) into `chunks` fixed contiguous pieces, body(chunk, begin, end) for each, in
// parallel; the partition depends only on count and chunks, so partial sums reduce in a fixed order.
template <typename Body>
void for_each_chunk(int64_t count, int64_t chunks, Body&& body) {
  parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t chunk = first; chunk < last; ++chunk) {
      body(chunk, count * chunk / chunks, count * (chunk + 1) / chunks);
    }
  });
}

// Chunks of the backward pass's tasks; enough to keep 8 threads busy.
constexpr int64_t kBackwardChunks = 8;

// One query block of one batch entry.
struct Task {
  int64_t batch, first_query, rows;
};

// scores (rows x cols, leading dimension ld) = scale * q k^T + mask for queries
// [first_query, first_query + rows) and keys [first_key, first_key + cols).
template <typename T>
void compute_scores(const AttentionProblem<T>& p, const Task& task, int64_t first_key, int64_t cols, T* scores,
                    int64_t ld) {
  const T* q = p.query.data + p.query.offsets[task.batch] + task.first_query * p.query.row_stride;
  const T* k = p.key.data + p.key.offsets[task.batch] + first_key * p.key.row_stride;
  gemm<T>(false, true, task.rows, cols, p.head_dim, p.scale, q, p.query.row_stride, k, p.key.row_stride, T(0), scores,
          ld);
  if (!p.bool_mask && !p.float_mask) return;
  const int64_t step = p.mask_column_stride;
  for (int64_t r = 0; r < task.rows; ++r) {
    const int64_t offset = p.mask_offsets[task.batch] + (task.first_query + r) * p.mask_row_stride + first_key * step;
    T* row = scores + r * ld;
    if (p.bool_mask) {
      const bool* keep = p.bool_mask + offset;
      for (int64_t c = 0; c < cols; ++c) {
        if (!keep[c * step]) row[c] = -std::numeric_limits<T>::infinity();
      }
    } else {
      const T* bias = p.float_mask + offset;
      for (int64_t c = 0; c < cols; ++c) row[c] += bias[c * step];
    }
  }
}

}  // namespace

template <typename T>
void attention_forward(const AttentionProblem<T>& p, T* out, T* log_sum_exp) {
  const Blocking blocking = choose_blocking(p.query_length, p.key_length);
  const int64_t query_block = blocking.query_block, key_block = blocking.key_block;
  const int64_t query_blocks = (p.query_length + query_block - 1) / query_block;
  const int64_t value_dim = p.value_dim;
  constexpr T kInfinity = std::numeric_limits<T>::infinity();
  parallel_for(0, p.batch * query_blocks, 1, [&](int64_t begin, int64_t end) {
    Vector<T> scores(query_block * key_block), accumulator(query_block * value_dim);
    std::vector<T> row_max(query_block), row_sum(query_block);
    for (int64_t index = begin; index < end; ++index) {
      const int64_t first_query = (index % query_blocks) * query_block;
      const Task task{index / query_blocks, first_query, std::min(query_block, p.query_length - first_query)};
      accumulator.setZero();
      std::fill(row_max.begin(), row_max.end(), -kInfinity);
      std::fill(row_sum.begin(), row_sum.end(), T(0));
      for (int64_t first_key = 0; first_key < p.key_length; first_key += key_block) {
        const int64_t cols = std::min(key_block, p.key_length - first_key);
        compute_scores(p, task, first_key, cols, scores.data(), key_block);
        // Online softmax: rescale what earlier key blocks contributed whenever the row maximum grows.
        for (int64_t r = 0; r < task.rows; ++r) {
          Span<T> row(scores.data() + r * key_block, cols);
          const T new_max = std::max(row_max[r], row.maxCoeff());
          if (new_max == -kInfinity) {
            row.setZero();
            continue;
          }
          row = (row - new_max).exp();
          const T correction = std::exp(row_max[r] - new_max);
          row_sum[r] = row_sum[r] * correction + row.sum();
          if (correction != T(1)) Span<T>(accumulator.data() + r * value_dim, value_dim) *= correction;
          row_max[r] = new_max;
        }
        const T* v = p.value.data + p.value.offsets[task.batch] + first_key * p.value.row_stride;
        gemm<T>(false, false, task.rows, value_dim, cols, T(1), scores.data(), key_block, v, p.value.row_stride, T(1),
                accumulator.data(), value_dim);
      }
      for (int64_t r = 0; r < task.rows; ++r) {
        const int64_t row_index = task.batch * p.query_length + task.first_query + r;
        Span<T> destination(out + row_index * value_dim, value_dim);
        if (row_sum[r] == T(0)) {
          destination.setZero();
          log_sum_exp[row_index] = kInfinity;
        } else {
          destination = ConstSpan<T>(accumulator.data() + r * value_dim, value_dim) * (T(1) / row_sum[r]);
          log_sum_exp[row_index] = row_max[r] + std::log(row_sum[r]);
        }
      }
    }
  });
}

template <typename T>
void attention_backward(const AttentionProblem<T>& p, const T* out, const T* log_sum_exp, const T* grad_out,
                        T* grad_query, T* grad_key, T* grad_value) {
  const int64_t head_dim = p.head_dim, value_dim = p.value_dim;
  std::fill(grad_key, grad_key + p.batch * p.key_length * head_dim, T(0));
  std::fill(grad_value, grad_value + p.batch * p.key_length * value_dim, T(0));
  const Blocking blocking = choose_blocking(p.query_length, p.key_length);
  const int64_t query_block = blocking.query_block, key_block = blocking.key_block;
  const int64_t query_blocks = (p.query_length + query_block - 1) / query_block;
  const int64_t tasks = p.batch * query_blocks;
  if (p.key_length == 0 || tasks == 0) {
    std::fill(grad_query, grad_query + p.batch * p.query_length * head_dim, T(0));
    return;
  }
  // Tasks are batch-major, so a chunk shares at most its first and its last batch entry with
  // other chunks. Those entries accumulate dK and dV into the chunk's own buffers, summed after
  // the parallel region; entries a chunk covers whole accumulate straight into the output.
  struct SharedEntry {
    int64_t batch = -1;
    Vector<T> key, value;
  };
  // A constant number of chunks, not the thread count, so that dK and dV sum in the same order for
  // any number of threads.
  const int64_t chunks = std::min<int64_t>(kBackwardChunks, tasks);
  std::vector<std::array<SharedEntry, 2>> shared(chunks);
  for_each_chunk(tasks, chunks, [&](int64_t chunk, int64_t begin, int64_t end) {
    Vector<T> probabilities(query_block * key_block), grad_scores(query_block * key_block);
    std::vector<T> delta(query_block);
    for (int64_t index = begin; index < end; ++index) {
      const int64_t first_query = (index % query_blocks) * query_block;
      const Task task{index / query_blocks, first_query, std::min(query_block, p.query_length - first_query)};
      const int64_t b = task.batch;
      T* grad_key_entry = grad_key + b * p.key_length * head_dim;
      T* grad_value_entry = grad_value + b * p.key_length * value_dim;
      const bool whole = b * query_blocks >= begin && (b + 1) * query_blocks <= end;
      if (!whole) {
        SharedEntry& entry = shared[chunk][b == begin / query_blocks ? 0 : 1];
        if (entry.batch != b) {
          entry.batch = b;
          entry.key.setZero(p.key_length * head_dim);
          entry.value.setZero(p.key_length * value_dim);
        }
        grad_key_entry = entry.key.data();
        grad_value_entry = entry.value.data();
      }
      const int64_t first_row = b * p.query_length + task.first_query;
      const T* grad_out_block = grad_out + first_row * value_dim;
      const T* q = p.query.data + p.query.offsets[b] + task.first_query * p.query.row_stride;
      T* grad_query_block = grad_query + first_row * head_dim;
      // D = rowsum(dO * O): the softmax backward's per-row term, shared by every key block.
      for (int64_t r = 0; r < task.rows; ++r) {
        delta[r] = (ConstSpan<T>(grad_out_block + r * value_dim, value_dim) *
                    ConstSpan<T>(out + (first_row + r) * value_dim, value_dim))
                       .sum();
      }
      for (int64_t first_key = 0; first_key < p.key_length; first_key += key_block) {
        const int64_t cols = std::min(key_block, p.key_length - first_key);
        const T* k = p.key.data + p.key.offsets[b] + first_key * p.key.row_stride;
        const T* v = p.value.data + p.value.offsets[b] + first_key * p.value.row_stride;
        compute_scores(p, task, first_key, cols, probabilities.data(), key_block);
        for (int64_t r = 0; r < task.rows; ++r) {
          Span<T> row(probabilities.data() + r * key_block, cols);
          row = (row - log_sum_exp[first_row + r]).exp();
        }
        // dV += P^T dO
        gemm<T>(true, false, cols, value_dim, task.rows, T(1), probabilities.data(), key_block, grad_out_block,
                value_dim, T(1), grad_value_entry + first_key * value_dim, value_dim);
        // dP = dO V^T, then dS = P * (dP - D) in place.
        gemm<T>(false, true, task.rows, cols, value_dim, T(1), grad_out_block, value_dim, v, p.value.row_stride, T(0),
                grad_scores.data(), key_block);
        for (int64_t r = 0; r < task.rows; ++r) {
          Span<T> grad_row(grad_scores.data() + r * key_block, cols);
          grad_row = ConstSpan<T>(probabilities.data() + r * key_block, cols) * (grad_row - delta[r]);
        }
        // dQ (+)= scale * dS K; dK += scale * dS^T Q
        gemm<T>(false, false, task.rows, head_dim, cols, p.scale, grad_scores.data(), key_block, k, p.key.row_stride,
                first_key == 0 ? T(0) : T(1), grad_query_block, head_dim);
        gemm<T>(true, false, cols, head_dim, task.rows, p.scale, grad_scores.data(), key_block, q, p.query.row_stride,
                T(1), grad_key_entry + first_key * head_dim, head_dim);
      }
    }
  });
  for (const auto& entries : shared) {
    for (const SharedEntry& entry : entries) {
      if (entry.batch < 0) continue;
      Span<T>(grad_key + entry.batch * p.key_length * head_dim, p.key_length * head_dim) +=
          ConstSpan<T>(entry.key.data(), p.key_length * head_dim);
      Span<T>(grad_value + entry.batch * p.key_length * value_dim, p.key_length * value_dim) +=
          ConstSpan<T>(entry.value.data(), p.key_length * value_dim);
    }
  }
}

template void attention_forward<float>(const AttentionProblem<float>&, float*, float*);
template void attention_forward<double>(const AttentionProblem<double>&, double*, double*);
template void attention_backward<float>(const AttentionProblem<float>&, const float*, const float*, const float*,
                                        float*, float*, float*);
template void attention_backward<double>(const AttentionProblem<double>&, const double*, const double*, const double*,
                                         double*, double*, double*);

}  // namespace qatd::kernels::cpu
