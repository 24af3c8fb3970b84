#pragma once
// Loading a video as SAM2VideoPredictor.init_state does for a folder of frames (sam2/utils/misc.py:
// load_video_frames_from_jpg_images and _load_img_as_tensor): each frame decoded as PIL's
// convert("RGB"), resized with PIL's Image.resize((S, S)) (bicubic, bit-exact), divided by 255 and
// normalized with the ImageNet mean and std, in the official order of operations and precisions.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace qatd::sam2 {

struct VideoFramesOptions {
  // As float32 tensors, like the official torch.tensor(img_mean, dtype=torch.float32).
  std::array<float, 3> img_mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> img_std = {0.229f, 0.224f, 0.225f};
};

struct VideoFrames {
  Tensor images;             // (T, 3, S, S) float32, normalized
  int64_t video_height = 0;  // the frames' size before resizing (every frame has it)
  int64_t video_width = 0;
  std::vector<std::string> frame_paths;  // the files read, in frame order
};

// The frame files of a folder, in frame order. As the official loader: the files ending in .jpg,
// .jpeg, .JPG or .JPEG, sorted by their name without extension read as an integer (Python's int():
// surrounding whitespace, a sign, leading zeros and single underscores between digits are allowed), so
// 2.jpg comes before 10.jpg; other files are ignored. A folder without such files may hold PNG frames
// instead (.png or .PNG), taken the same way; PNG files next to JPEG frames are ignored, as the official
// loader ignores them.
// Throws naming the folder when it is missing, not a folder or holds no frames, and naming the file when
// a frame's name is not an integer or two frames have the same number (the official loader would keep
// both in the order the directory listing gives).
std::vector<std::string> list_video_frames(const std::string& video_path);

// sam2.utils.misc._load_img_as_tensor: (3, S, S) float64 in [0, 1] (the resized uint8 pixels / 255.0,
// not normalized) and the image's size before resizing. Throws naming the file when it cannot be read.
struct LoadedImage {
  Tensor image;
  int64_t video_height = 0;
  int64_t video_width = 0;
};
LoadedImage load_img_as_tensor(const std::string& img_path, int64_t image_size);

// sam2.utils.misc.load_video_frames on a folder of frames (load_video_frames_from_jpg_images; offloading
// and asynchronous loading change nothing in the result and are not options here): the frames of
// list_video_frames, as (T, 3, S, S) float32 with
//   x = float32(pixel / 255.0 computed in double), then (x - mean) / std in float32.
// Frames are decoded in parallel. A frame that cannot be read (truncated, corrupt, not an image) throws
// naming it. Frames of different sizes are rejected, naming the first that differs from frame 0: the
// official loader resizes each to S x S regardless and reports the last frame's size as the video's,
// which leaves the masks it returns at a size some frames do not have.
VideoFrames load_video_frames(const std::string& video_path, int64_t image_size,
                              const VideoFramesOptions& options = {});

// The same for a list of frame files in frame order (any names, JPEG or PNG).
VideoFrames load_video_frame_files(const std::vector<std::string>& frame_paths, int64_t image_size,
                                   const VideoFramesOptions& options = {});

}  // namespace qatd::sam2
