#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "kernels/cpu/conv_depthwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

namespace {

// Column buffers are built a block of output rows at a time, about this many elements each: the
// block stays in cache between im2col and the GEMM, memory stays bounded for large images, and
// the blocks of one image give the threads independent work.
constexpr int64_t kColumnBlockElements = int64_t(1) << 17;

// What every pass derives from a ConvShape.
struct Plan {
  const ConvShape& shape;
  int64_t in_per_group, out_per_group;
  int64_t taps;       // kH * kW
  int64_t rows;       // rows of the column matrix: in_per_group * taps
  int64_t positions;  // OH * OW
  int64_t plane;      // H * W
  bool pointwise;     // 1x1, stride 1, no padding, same size: the image already is its column matrix
  bool depthwise;     // one input channel per group: direct loops beat tiny GEMMs
  int64_t block_rows, blocks;

  explicit Plan(const ConvShape& s)
      : shape(s),
        in_per_group(s.in_channels / s.groups),
        out_per_group(s.out_channels / s.groups),
        taps(s.kernel_height * s.kernel_width),
        rows(in_per_group * taps),
        positions(s.out_height * s.out_width),
        plane(s.in_height * s.in_width) {
    pointwise = s.kernel_height == 1 && s.kernel_width == 1 && s.stride_height == 1 && s.stride_width == 1 &&
                s.pad_height == 0 && s.pad_width == 0 && s.out_height == s.in_height && s.out_width == s.in_width;
    depthwise = in_per_group == 1 && s.groups > 1;
    block_rows = std::clamp<int64_t>(kColumnBlockElements / std::max<int64_t>(rows * s.out_width, 1), 1, s.out_height);
    blocks = (s.out_height + block_rows - 1) / block_rows;
  }
  int64_t block_begin(int64_t block) const { return block * block_rows; }
  int64_t block_end(int64_t block) const { return std::min(shape.out_height, (block + 1) * block_rows); }
};

// Whether to spread independent tasks over the threads; with fewer tasks than threads, the caller
// runs them one by one and parallelizes inside each.
bool split_across_tasks(int64_t tasks) { return !omp_in_parallel() && num_threads() > 1 && tasks >= num_threads(); }

// Copies of the weight gradient that conv2d_backward_weight sums tasks into, a constant so that the
// summation order is the same for any thread count; enough to keep 8 threads busy.
constexpr int64_t kWeightGradientCopies = 8;

struct FreeMemory {
  void operator()(void* pointer) const { std::free(pointer); }
};

// 64-byte aligned, like tensors: where Eigen starts its vector loops (and so how it rounds) depends
// on a buffer's alignment, and malloc's 16 bytes would vary from run to run.
template <typename T>
std::unique_ptr<T[], FreeMemory> scratch(int64_t size) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(size, 1)) * sizeof(T) + 63) / 64 * 64;
  T* memory = static_cast<T*>(std::aligned_alloc(64, bytes));
  if (!memory) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeMemory>(memory);
}

// The outputs o in [0, count) whose tap o * stride + offset lies inside [0, limit).
struct Range {
  int64_t begin, end;
};

Range valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t count) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = limit - offset <= 0 ? 0 : (limit - offset + stride - 1) / stride;
  begin = std::min(begin, count);
  return {begin, std::clamp(end, begin, count)};
}

// columns (rows, (oh_end - oh_begin) * OW) from one group's image (in_per_group, H, W).
template <typename T>
void im2col(const Plan& p, const T* image, int64_t oh_begin, int64_t oh_end, T* columns, bool parallel) {
  const ConvShape& s = p.shape;
  const int64_t count = (oh_end - oh_begin) * s.out_width;
  auto body = [&](int64_t row_begin, int64_t row_end) {
    for (int64_t row = row_begin; row < row_end; ++row) {
      const int64_t channel = row / p.taps, kh = (row % p.taps) / s.kernel_width, kw = row % s.kernel_width;
      const int64_t shift = kw * s.dilation_width - s.pad_width;
      const Range valid = valid_range(shift, s.stride_width, s.in_width, s.out_width);
      T* destination = columns + row * count;
      for (int64_t oh = oh_begin; oh < oh_end; ++oh, destination += s.out_width) {
        const int64_t ih = oh * s.stride_height - s.pad_height + kh * s.dilation_height;
        if (ih < 0 || ih >= s.in_height) {
          std::fill(destination, destination + s.out_width, T(0));
          continue;
        }
        const T* source = image + channel * p.plane + ih * s.in_width;
        std::fill(destination, destination + valid.begin, T(0));
        if (s.stride_width == 1) {
          std::copy(source + valid.begin + shift, source + valid.end + shift, destination + valid.begin);
        } else {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) destination[ow] = source[ow * s.stride_width + shift];
        }
        std::fill(destination + valid.end, destination + s.out_width, T(0));
      }
    }
  };
  if (parallel) {
    parallel_for(0, p.rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(count, 1)), body);
  } else {
    body(0, p.rows);
  }
}

// The adjoint of im2col for channels [channel_begin, channel_end) of one group's image: adds the
// columns, whose first row belongs to channel_begin, into those channels' planes.
template <typename T>
void col2im(const Plan& p, const T* columns, int64_t channel_begin, int64_t channel_end, int64_t oh_begin,
            int64_t oh_end, T* image) {
  const ConvShape& s = p.shape;
  const int64_t count = (oh_end - oh_begin) * s.out_width;
  for (int64_t channel = channel_begin; channel < channel_end; ++channel) {
    for (int64_t tap = 0; tap < p.taps; ++tap) {
      const int64_t kh = tap / s.kernel_width, kw = tap % s.kernel_width;
      const int64_t shift = kw * s.dilation_width - s.pad_width;
      const Range valid = valid_range(shift, s.stride_width, s.in_width, s.out_width);
      const T* source = columns + ((channel - channel_begin) * p.taps + tap) * count;
      for (int64_t oh = oh_begin; oh < oh_end; ++oh, source += s.out_width) {
        const int64_t ih = oh * s.stride_height - s.pad_height + kh * s.dilation_height;
        if (ih < 0 || ih >= s.in_height) continue;
        T* destination = image + channel * p.plane + ih * s.in_width;
        if (s.stride_width == 1) {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) destination[ow + shift] += source[ow];
        } else {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) destination[ow * s.stride_width + shift] += source[ow];
        }
      }
    }
  }
}

// Overwrites the input gradient of channels [channel_begin, channel_end) of one (image, group):
// their columns of the weight times the output gradient, a block at a time, folded back by col2im.
template <typename T>
void input_gradient_channels(const Plan& p, const T* grad, const T* w, int64_t channel_begin, int64_t channel_end,
                             T* image, T* columns) {
  const ConvShape& s = p.shape;
  const int64_t rows = (channel_end - channel_begin) * p.taps;
  const T* w_columns = w + channel_begin * p.taps;
  if (p.pointwise) {
    gemm<T>(true, false, rows, p.positions, p.out_per_group, T(1), w_columns, p.rows, grad, p.positions, T(0),
            image + channel_begin * p.plane, p.plane);
    return;
  }
  std::fill(image + channel_begin * p.plane, image + channel_end * p.plane, T(0));
  for (int64_t block = 0; block < p.blocks; ++block) {
    const int64_t oh_begin = p.block_begin(block), oh_end = p.block_end(block);
    const int64_t count = (oh_end - oh_begin) * s.out_width;
    gemm<T>(true, false, rows, count, p.out_per_group, T(1), w_columns, p.rows, grad + oh_begin * s.out_width,
            p.positions, T(0), columns, count);
    col2im(p, columns, channel_begin, channel_end, oh_begin, oh_end, image);
  }
}

}  // namespace

template <typename T>
void conv2d_forward(const ConvShape& s, const T* input, const T* weight, const T* bias, T* output) {
  const Plan p(s);
  if (p.depthwise) {
    depthwise_conv2d_forward(s, input, weight, bias, output);
    return;
  }
  // Tasks are (image, group, block of output rows); each writes its own slice of the output.
  const int64_t tasks = s.batch * s.groups * p.blocks;
  const bool across = split_across_tasks(tasks);
  parallel_for(0, tasks, across ? 1 : tasks, [&](int64_t begin, int64_t end) {
    auto columns = scratch<T>(p.pointwise ? 0 : p.rows * p.block_rows * s.out_width);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t block = task % p.blocks, group = (task / p.blocks) % s.groups, n = task / p.blocks / s.groups;
      const int64_t oh_begin = p.block_begin(block), oh_end = p.block_end(block);
      const int64_t first = oh_begin * s.out_width, count = (oh_end - oh_begin) * s.out_width;
      const T* image = input + (n * s.in_channels + group * p.in_per_group) * p.plane;
      T* out = output + (n * s.out_channels + group * p.out_per_group) * p.positions + first;
      const T* source = image + first;
      int64_t source_stride = p.plane;
      if (!p.pointwise) {
        im2col(p, image, oh_begin, oh_end, columns.get(), !across);
        source = columns.get();
        source_stride = count;
      }
      T beta = T(0);
      if (bias) {
        for (int64_t c = 0; c < p.out_per_group; ++c) {
          std::fill(out + c * p.positions, out + c * p.positions + count, bias[group * p.out_per_group + c]);
        }
        beta = T(1);
      }
      gemm<T>(false, false, p.out_per_group, count, p.rows, T(1), weight + group * p.out_per_group * p.rows, p.rows,
              source, source_stride, beta, out, p.positions);
    }
  });
}

template <typename T>
void conv2d_backward_input(const ConvShape& s, const T* grad_output, const T* weight, T* grad_input) {
  const Plan p(s);
  if (p.depthwise) {
    depthwise_conv2d_backward_input(s, grad_output, weight, grad_input);
    return;
  }
  // Blocks of one image overlap in the image, so tasks are (image, group) only.
  const int64_t tasks = s.batch * s.groups;
  const int64_t block_columns = p.pointwise ? 0 : p.block_rows * s.out_width;
  auto run = [&](int64_t task, int64_t channel_begin, int64_t channel_end, T* columns) {
    const int64_t group = task % s.groups, n = task / s.groups;
    input_gradient_channels(p, grad_output + (n * s.out_channels + group * p.out_per_group) * p.positions,
                            weight + group * p.out_per_group * p.rows, channel_begin, channel_end,
                            grad_input + (n * s.in_channels + group * p.in_per_group) * p.plane, columns);
  };
  if (split_across_tasks(tasks)) {
    parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
      auto columns = scratch<T>(p.rows * block_columns);
      for (int64_t task = begin; task < end; ++task) run(task, 0, p.in_per_group, columns.get());
    });
    return;
  }
  // Few images: threads split each image's channels, whose planes never overlap, in one parallel
  // region per image rather than one per GEMM and col2im. The split falls on multiples of
  // kChannelUnit channels: Eigen sums a GEMM's rows the same way wherever a multiple of 4 rows
  // starts, not elsewhere, so other boundaries would make the results depend on the thread count.
  // Pointwise convolutions need no split (their GEMM spreads over the threads itself). Images with
  // fewer than two units of channels (an RGB image, say) split per channel, whose results depend
  // on the thread count (though not on anything else): one parallel region per block for the GEMM
  // would cost more.
  constexpr int64_t kChannelUnit = 4;
  const int64_t unit = p.in_per_group >= 2 * kChannelUnit ? kChannelUnit : 1;
  const int64_t units = p.pointwise ? 1 : (p.in_per_group + unit - 1) / unit;
  const int64_t unit_work = p.taps * p.positions * p.out_per_group * unit;
  for (int64_t task = 0; task < tasks; ++task) {
    parallel_for(0, units, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(unit_work, 1)),
                 [&](int64_t first, int64_t last) {
                   const int64_t begin = first * unit;
                   const int64_t end = last == units ? p.in_per_group : last * unit;
                   auto columns = scratch<T>((end - begin) * p.taps * block_columns);
                   run(task, begin, end, columns.get());
                 });
  }
}

template <typename T>
void conv2d_backward_weight(const ConvShape& s, const T* input, const T* grad_output, T* grad_weight) {
  const Plan p(s);
  if (p.depthwise) {
    depthwise_conv2d_backward_weight(s, input, grad_output, grad_weight);
    return;
  }
  const int64_t weight_size = s.out_channels * p.rows;
  const int64_t tasks = s.batch * s.groups * p.blocks;
  // Tasks are split into a fixed number of contiguous ranges (not one per thread), each summing
  // into its own copy of the gradient, and the copies are added in order: the result does not
  // depend on the thread count. With a single range each GEMM spreads over the threads instead.
  const int64_t copies = omp_in_parallel() ? 1 : std::min(tasks, kWeightGradientCopies);
  std::vector<T> partials(copies > 1 ? copies * weight_size : 0, T(0));
  if (copies == 1) std::fill(grad_weight, grad_weight + weight_size, T(0));
  parallel_for(0, copies, 1, [&](int64_t first, int64_t last) {
    auto columns = scratch<T>(p.pointwise ? 0 : p.rows * p.block_rows * s.out_width);
    for (int64_t copy = first; copy < last; ++copy) {
      T* sums = copies > 1 ? partials.data() + copy * weight_size : grad_weight;
      for (int64_t task = tasks * copy / copies; task < tasks * (copy + 1) / copies; ++task) {
        const int64_t block = task % p.blocks, group = (task / p.blocks) % s.groups, n = task / p.blocks / s.groups;
        const int64_t oh_begin = p.block_begin(block), oh_end = p.block_end(block);
        const int64_t first_position = oh_begin * s.out_width, count = (oh_end - oh_begin) * s.out_width;
        const T* image = input + (n * s.in_channels + group * p.in_per_group) * p.plane;
        const T* grad = grad_output + (n * s.out_channels + group * p.out_per_group) * p.positions + first_position;
        const T* source = image + first_position;
        int64_t source_stride = p.plane;
        if (!p.pointwise) {
          im2col(p, image, oh_begin, oh_end, columns.get(), copies == 1);
          source = columns.get();
          source_stride = count;
        }
        gemm<T>(false, true, p.out_per_group, p.rows, count, T(1), grad, p.positions, source, source_stride, T(1),
                sums + group * p.out_per_group * p.rows, p.rows);
      }
    }
  });
  if (copies == 1) return;
  parallel_for(0, weight_size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T total = T(0);
      for (int64_t copy = 0; copy < copies; ++copy) total += partials[copy * weight_size + i];
      grad_weight[i] = total;
    }
  });
}

template <typename T>
void channel_sums(const T* data, int64_t batch, int64_t channels, int64_t positions, T* sums) {
  parallel_for(0, channels, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(batch * positions, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t c = begin; c < end; ++c) {
                   double total = 0.0;
                   for (int64_t n = 0; n < batch; ++n) {
                     const T* row = data + (n * channels + c) * positions;
#pragma omp simd reduction(+ : total)
                     for (int64_t i = 0; i < positions; ++i) total += static_cast<double>(row[i]);
                   }
                   sums[c] = static_cast<T>(total);
                 }
               });
}

template <typename T>
void add_channel_bias(T* data, int64_t batch, int64_t channels, int64_t positions, const T* bias) {
  parallel_for(0, batch * channels, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(positions, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   T* values = data + row * positions;
                   const T value = bias[row % channels];
                   for (int64_t i = 0; i < positions; ++i) values[i] += value;
                 }
               });
}

#define QATD_INSTANTIATE_CONV(T)                                                       \
  template void conv2d_forward<T>(const ConvShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const ConvShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const ConvShape&, const T*, const T*, T*);   \
  template void channel_sums<T>(const T*, int64_t, int64_t, int64_t, T*);              \
  template void add_channel_bias<T>(T*, int64_t, int64_t, int64_t, const T*);
QATD_INSTANTIATE_CONV(float)
QATD_INSTANTIATE_CONV(double)
#undef QATD_INSTANTIATE_CONV

}  // namespace qatd::kernels::cpu
