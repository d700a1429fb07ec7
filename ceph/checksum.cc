#include "ceph/checksum.h"

#include <isa-l/crc.h>

#include <climits>

namespace rbdtier::ceph {

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t len) {
    // ISA-L's crc32_iscsi works on the uninverted register: undo and redo the final inversion.
    unsigned int reg = ~crc;
    auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
    while (len > 0) {
        const int piece = len > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(len);
        reg = crc32_iscsi(p, piece, reg);
        p += piece;
        len -= static_cast<std::size_t>(piece);
    }
    return ~reg;
}

}  // namespace rbdtier::ceph
