#pragma once
// SA-V (ai.meta.com/datasets/segment-anything-video): JPEG frames extracted at 24 fps under
// <frames root>/<video_id>/%05d.jpg and manual masklets in <annotations>/<video_id>_manual.json with
// "video_id", "video_height", "video_width" and "masklet": a list over annotated frames, each a list over
// objects of a COCO RLE {"size": [h, w], "counts": "..."} or null. Annotated frame k is frame file
// k * ann_every (4: SA-V annotates at 6 fps), as SAM 2's JSONRawDataset / JSONSegmentLoader read it
// (training/dataset/vos_raw_dataset.py, vos_segment_loader.py).
//
// An item is one annotated frame of one video, in (video, frame) order. Unlike JSONRawDataset, which drops
// a frame when any object is null on it, a frame keeps the objects it has; frames without any are left out.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/data/image_source.h"

namespace qatd::train::data {

struct SavOptions {
  int64_t ann_every = 4;  // frame files per annotated frame
};

class SavSource : public ImageSource {
 public:
  // Reads every <video_id>_manual.json under `annotations_root` to list the items; one that is malformed
  // (not JSON, a key missing, a value of the wrong type) throws naming it. Throws naming the folders when
  // there is no annotated object at all.
  SavSource(const std::filesystem::path& frames_root, const std::filesystem::path& annotations_root,
            const SavOptions& options = {});

  int64_t size() const override { return static_cast<int64_t>(items_.size()); }
  // The frame file.
  std::string name(int64_t index) const override;
  // Reads the frame and the video's JSON again (the masks are not kept in memory). A missing frame file
  // throws naming it; an RLE of another size than the video's, or a frame of another size, throws naming
  // the JSON file and the masklet entry.
  AnnotatedImage load(int64_t index) const override;

  int64_t videos() const { return static_cast<int64_t>(videos_.size()); }

 private:
  struct Video {
    std::string id;
    std::filesystem::path annotations;
  };
  struct Item {
    int64_t video = 0;
    int64_t annotated_frame = 0;  // k: the frame file is k * ann_every
  };
  const Item& item(int64_t index) const;
  std::filesystem::path frame_path(const Item& entry) const;

  std::filesystem::path frames_root_;
  SavOptions options_;
  std::vector<Video> videos_;
  std::vector<Item> items_;
};

}  // namespace qatd::train::data
