// crc32c (Castagnoli), the checksum of migrated extents: the same value Ceph computes for
// LIBRADOS_CHECKSUM_TYPE_CRC32C with seed -1 and final inversion. Hardware-accelerated by ISA-L.
// crc32c_extend() continues a checksum over the next piece of the same data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rbdtier::ceph {

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t len);
inline std::uint32_t crc32c(const void* data, std::size_t len) {
    return crc32c_extend(0, data, len);
}

}  // namespace rbdtier::ceph
