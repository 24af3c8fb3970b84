#pragma once
// Blocked ("flash") scaled dot-product attention on the CPU: softmax(scale * q k^T + mask) v for
// a batch of independent problems, one block of queries at a time against one block of keys at
// a time, with an online softmax. Only the output and each query row's log-sum-exp are stored;
// backward recomputes the probabilities block by block from them.
#include <cstdint>

namespace qatd::kernels::cpu {

// Matrices of one operand: matrix b starts at data + offsets[b] (so broadcast or strided batch
// dims need no copy), its rows are row_stride apart and its elements contiguous.
template <typename T>
struct MatrixBatch {
  const T* data = nullptr;
  const int64_t* offsets = nullptr;
  int64_t row_stride = 0;
};

template <typename T>
struct AttentionProblem {
  int64_t batch = 0;
  int64_t query_length = 0;  // Lq
  int64_t key_length = 0;    // Lk
  int64_t head_dim = 0;      // E, of queries and keys
  int64_t value_dim = 0;     // Ev
  T scale = T(1);
  MatrixBatch<T> query, key, value;  // (Lq, E), (Lk, E), (Lk, Ev)
  // Optional (Lq, Lk) mask per batch: a bool mask keeps true positions, a float one is added to
  // the scores. At most one is set; column_stride may be 0 (broadcast).
  const bool* bool_mask = nullptr;
  const T* float_mask = nullptr;
  const int64_t* mask_offsets = nullptr;
  int64_t mask_row_stride = 0;
  int64_t mask_column_stride = 0;
};

// out: contiguous (batch, Lq, Ev); log_sum_exp: contiguous (batch, Lq). A query row whose every
// score is -inf (fully masked) gets a zero output and a log-sum-exp of +inf, as PyTorch's
// attention gives 0 there.
template <typename T>
void attention_forward(const AttentionProblem<T>& problem, T* out, T* log_sum_exp);

// Gradients from grad_out (contiguous like out) and the forward's out and log_sum_exp, into
// contiguous (batch, Lq, E), (batch, Lk, E) and (batch, Lk, Ev) buffers (all overwritten).
template <typename T>
void attention_backward(const AttentionProblem<T>& problem, const T* out, const T* log_sum_exp, const T* grad_out,
                        T* grad_query, T* grad_key, T* grad_value);

}  // namespace qatd::kernels::cpu
