// Exact Euclidean distance transform of a binary grid: for every pixel, the squared distance to the
// nearest background pixel, in O(H * W): the vertical distances by a scan down and a scan up, then
// along every row the lower envelope of parabolas (Meijster et al. 2000; Felzenszwalb and
// Huttenlocher, "Distance Transforms of Sampled Functions", 2012). The distances equal
// cv2.distanceTransform(..., cv2.DIST_L2, cv2.DIST_MASK_PRECISE), squared, without rounding.
// Used for the RITM centre click and for shifting a mask prompt's boundary.
#include <cstdint>
#include <limits>
#include <vector>

namespace qatd::train::data {

// The distance given to pixels with no background anywhere (an all-object grid and no border).
inline constexpr int64_t kNoBackground = std::numeric_limits<int64_t>::max();

// inside: height x width row-major, nonzero is object; background pixels get 0. With
// `border_is_background` the grid is treated as padded by one background pixel all around (as
// np.pad before cv2.distanceTransform in sam2_utils), so an object touching the image edge is at
// distance 1 there; without it, the object continues past the edge. Returns height x width squared
// distances, row-major.
std::vector<int64_t> squared_distance_to_background(const uint8_t* inside, int64_t height, int64_t width,
                                                    bool border_is_background);

}  // namespace qatd::train::data
