#pragma once
// Binary masks as COCO run-length encodings, written to the COCO definition (pycocotools' maskApi.c):
// the mask is read in column-major (Fortran) order, and `counts` alternates runs of 0s and 1s,
// starting with 0s (a first run of length 0 when the mask starts with a 1). The compressed string
// form packs each count as a delta against the count two places back (from the third count on) into
// 5-bit groups, sign-extended, offset by 48 (the "LEB128-like" format of rleToString / rleFrString).
//
// Every mask format the data layer reads (SA-1B and SA-V JSON, PNG instance maps, procedural shapes)
// is carried as an Rle: a few bytes per object instead of H x W, decoded only for the object a sample
// uses.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tensor.h"

namespace qatd::train::data {

struct Rle {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint32_t> counts;  // sums to height * width
  bool operator==(const Rle&) const = default;
};

// mask: (H, W) bool, uint8 (nonzero is inside) or floating (> 0.5 is inside), any strides.
Rle rle_encode(const Tensor& mask);
// (H, W) bool. Throws when the counts do not sum to height * width.
Tensor rle_decode(const Rle& rle);

// The compressed `counts` string of COCO JSON, and back. `what` names the source in errors
// (e.g. "sa_1.json: annotations[3].segmentation"); a malformed string or counts that do not sum
// to height * width throw naming it.
std::string rle_to_string(const Rle& rle);
Rle rle_from_string(std::string_view counts, int64_t height, int64_t width, const std::string& what);

// Pixels inside.
int64_t rle_area(const Rle& rle);

}  // namespace qatd::train::data
