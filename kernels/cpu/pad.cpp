#include "kernels/cpu/pad.h"

#include <algorithm>

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

template <typename T>
void pad_gather(const PadIndexMap& map, const T* in, T* out) {
  const int64_t out0 = map.output_size(0), out1 = map.output_size(1), out2 = map.output_size(2);
  const int64_t in0 = map.input_sizes[0], in1 = map.input_sizes[1], in2 = map.input_sizes[2];
  const int64_t* source0 = map.source[0].data();
  const int64_t* source1 = map.source[1].data();
  const int64_t* source2 = map.source[2].data();
  const int64_t rows = map.planes * out0 * out1;
  parallel_for(0, rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(out2, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   int64_t i1 = row % out1;
                   int64_t i0 = (row / out1) % out0;
                   int64_t plane = row / (out1 * out0);
                   const T* in_row = in + ((plane * in0 + source0[i0]) * in1 + source1[i1]) * in2;
                   T* out_row = out + row * out2;
                   for (int64_t k = 0; k < out2; ++k) out_row[k] = in_row[source2[k]];
                 }
               });
}

template <typename T>
void pad_scatter_add(const PadIndexMap& map, const T* grad_out, T* grad_in) {
  const int64_t out0 = map.output_size(0), out1 = map.output_size(1), out2 = map.output_size(2);
  const int64_t in0 = map.input_sizes[0], in1 = map.input_sizes[1], in2 = map.input_sizes[2];
  const int64_t* source0 = map.source[0].data();
  const int64_t* source1 = map.source[1].data();
  const int64_t* source2 = map.source[2].data();
  const int64_t plane_size = out0 * out1 * out2;
  // Several output rows add into the same input row (the reflected or replicated border), so
  // threads split planes, which never share an input element.
  parallel_for(0, map.planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(plane_size, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t plane = begin; plane < end; ++plane) {
                   for (int64_t i0 = 0; i0 < out0; ++i0) {
                     for (int64_t i1 = 0; i1 < out1; ++i1) {
                       T* in_row = grad_in + ((plane * in0 + source0[i0]) * in1 + source1[i1]) * in2;
                       const T* out_row = grad_out + ((plane * out0 + i0) * out1 + i1) * out2;
                       for (int64_t k = 0; k < out2; ++k) in_row[source2[k]] += out_row[k];
                     }
                   }
                 }
               });
}

#define QATD_INSTANTIATE_PAD(T)                                 \
  template void pad_gather<T>(const PadIndexMap&, const T*, T*); \
  template void pad_scatter_add<T>(const PadIndexMap&, const T*, T*);
QATD_INSTANTIATE_PAD(float)
QATD_INSTANTIATE_PAD(double)
QATD_INSTANTIATE_PAD(int32_t)
QATD_INSTANTIATE_PAD(int64_t)
#undef QATD_INSTANTIATE_PAD

}  // namespace qatd::kernels::cpu
