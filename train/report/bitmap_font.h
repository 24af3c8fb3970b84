#pragma once
// A fixed-width bitmap font drawn for the chart rasters: 5x7 glyphs (capitals, digits and lower-case
// bodies) in a 6-pixel advance, with two more rows below the baseline for descenders. It covers
// ASCII 32..126 plus a few symbols that chart tags use (Greek letters, ×, ±, °); anything else is
// drawn as a hollow box.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qatd::train::report {

inline constexpr int kGlyphWidth = 5;    // ink columns
inline constexpr int kGlyphAdvance = 6;  // one blank column between characters
inline constexpr int kGlyphAscent = 7;   // rows above the baseline
inline constexpr int kGlyphRows = 9;     // with the two descender rows

// Rows from top to bottom; bit (kGlyphWidth - 1 - column) is set where the pixel is inked.
using GlyphRows = std::array<uint8_t, kGlyphRows>;

// The glyph of a Unicode code point (the hollow box for code points the font lacks).
const GlyphRows& glyph(char32_t code_point);

// The code points of a UTF-8 string; malformed bytes become U+FFFD (drawn as the box).
std::vector<char32_t> decode_utf8(const std::string& text);

// Width in font pixels (before scaling) of the text on one line: kGlyphAdvance per code point, less the
// trailing blank column.
int text_width(const std::string& text);

}  // namespace qatd::train::report
