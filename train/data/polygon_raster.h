#pragma once
// Exact scanline filling of polygons, for drawing procedural shapes with exact masks: a pixel is in
// iff its centre is inside, with no anti-aliasing. Several closed polygons are filled together under
// the even-odd rule, so a polygon inside another cuts a hole (a ring, a polygon with an elliptical
// hole).
#include <cstdint>
#include <vector>

namespace qatd::train::data {

struct Point {
  double x = 0.0;
  double y = 0.0;
};

using Polygon = std::vector<Point>;  // closed: the last vertex joins the first

// Pixels [begin, end) of one row.
struct Span {
  int64_t row = 0;
  int64_t begin = 0;
  int64_t end = 0;
};

// The spans, row by row from the top, of the pixels of a height x width grid whose centre
// (column + 0.5, row + 0.5) is inside `polygons` under the even-odd rule: a ray from the centre to the
// left crosses their edges an odd number of times (an edge holds its lower end, not its upper one, so
// a vertex on the ray counts once). Spans are clipped to the grid.
std::vector<Span> rasterize_even_odd(const std::vector<Polygon>& polygons, int64_t height, int64_t width);

}  // namespace qatd::train::data
