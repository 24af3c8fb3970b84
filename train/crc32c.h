#pragma once
// CRC-32C (Castagnoli), the checksum TFRecord files carry for TensorBoard's event files.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qatd::train {

// The plain CRC-32C of `data` (reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF).
uint32_t crc32c(std::string_view data);

// TFRecord stores the CRC rotated and offset, because a CRC over data that itself holds CRCs is weak.
uint32_t masked_crc32c(std::string_view data);

}  // namespace qatd::train
