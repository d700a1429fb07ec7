#include "scsi.h"

#include "handler/tcmu_abi.h"

namespace rbdtier::harness {

void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put_be32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put_be64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint16_t get_be16(const uint8_t* p) {
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t get_be32(const uint8_t* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
    return v;
}
uint64_t get_be64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}

namespace {
Cdb make10(uint8_t op, uint32_t lba, uint16_t blocks) {
    Cdb c;
    c.len = 10;
    c.bytes[0] = op;
    put_be32(&c.bytes[2], lba);
    put_be16(&c.bytes[7], blocks);
    return c;
}
Cdb make12(uint8_t op, uint32_t lba, uint32_t blocks) {
    Cdb c;
    c.len = 12;
    c.bytes[0] = op;
    put_be32(&c.bytes[2], lba);
    put_be32(&c.bytes[6], blocks);
    return c;
}
Cdb make16(uint8_t op, uint64_t lba, uint32_t blocks) {
    Cdb c;
    c.len = 16;
    c.bytes[0] = op;
    put_be64(&c.bytes[2], lba);
    put_be32(&c.bytes[10], blocks);
    return c;
}
}  // namespace

Cdb make_read10(uint32_t lba, uint16_t blocks) {
    return make10(kRead10, lba, blocks);
}
Cdb make_write10(uint32_t lba, uint16_t blocks) {
    return make10(kWrite10, lba, blocks);
}
Cdb make_read12(uint32_t lba, uint32_t blocks) {
    return make12(kRead12, lba, blocks);
}
Cdb make_write12(uint32_t lba, uint32_t blocks) {
    return make12(kWrite12, lba, blocks);
}
Cdb make_write_verify10(uint32_t lba, uint16_t blocks) {
    return make10(kWriteVerify10, lba, blocks);
}
Cdb make_write_verify16(uint64_t lba, uint32_t blocks) {
    return make16(kWriteVerify16, lba, blocks);
}
Cdb make_read16(uint64_t lba, uint32_t blocks) {
    return make16(kRead16, lba, blocks);
}
Cdb make_write16(uint64_t lba, uint32_t blocks) {
    return make16(kWrite16, lba, blocks);
}
Cdb make_sync_cache10() {
    return make10(kSyncCache10, 0, 0);
}
Cdb make_sync_cache16() {
    return make16(kSyncCache16, 0, 0);
}

Cdb make_unmap(uint16_t param_list_len, bool anchor) {
    Cdb c;
    c.len = 10;
    c.bytes[0] = kUnmap;
    c.bytes[1] = anchor ? 0x01 : 0x00;
    put_be16(&c.bytes[7], param_list_len);
    return c;
}

Cdb make_write_same10(uint32_t lba, uint16_t blocks, bool unmap, bool anchor) {
    Cdb c = make10(kWriteSame10, lba, blocks);
    if (unmap) c.bytes[1] |= 0x08;
    if (anchor) c.bytes[1] |= 0x10;
    return c;
}

Cdb make_write_same16(uint64_t lba, uint32_t blocks, bool unmap, bool anchor) {
    Cdb c = make16(kWriteSame16, lba, blocks);
    if (unmap) c.bytes[1] |= 0x08;
    if (anchor) c.bytes[1] |= 0x10;
    return c;
}

Cdb make_compare_and_write(uint64_t lba, uint8_t blocks) {
    Cdb c;
    c.len = 16;
    c.bytes[0] = kCompareAndWrite;
    put_be64(&c.bytes[2], lba);
    c.bytes[13] = blocks;
    return c;
}

int cdb_length(const uint8_t* cdb) {
    switch (cdb[0] >> 5) {
        case 0:
            return 6;
        case 1:
        case 2:
            return 10;
        case 3:
            return cdb[0] == 0x7f ? 8 + cdb[7] : -1;
        case 4:
            return 16;
        case 5:
            return 12;
        default:
            return -1;
    }
}

uint64_t cdb_lba(const uint8_t* cdb) {
    switch (cdb_length(cdb)) {
        case 6:
            return (static_cast<uint64_t>(cdb[1] & 0x1f) << 16) | get_be16(&cdb[2]);
        case 10:
        case 12:
            return get_be32(&cdb[2]);
        case 16:
            return get_be64(&cdb[2]);
        default:
            return 0;
    }
}

uint32_t cdb_xfer_length(const uint8_t* cdb) {
    switch (cdb_length(cdb)) {
        case 6:
            return cdb[4];
        case 10:
            return get_be16(&cdb[7]);
        case 12:
            return get_be32(&cdb[6]);
        case 16:
            return get_be32(&cdb[10]);
        default:
            return 0;
    }
}

std::vector<uint8_t> make_unmap_param_list(std::span<const LbaRange> ranges) {
    std::vector<uint8_t> p(8 + 16 * ranges.size(), 0);
    put_be16(&p[0], static_cast<uint16_t>(p.size() - 2));
    put_be16(&p[2], static_cast<uint16_t>(16 * ranges.size()));
    for (size_t i = 0; i < ranges.size(); ++i) {
        put_be64(&p[8 + 16 * i], ranges[i].lba);
        put_be32(&p[8 + 16 * i + 8], ranges[i].blocks);
    }
    return p;
}

UnmapParse parse_unmap_param_list(const uint8_t* data, size_t available, size_t param_list_len) {
    UnmapParse out;
    if (param_list_len == 0) return out;
    if (param_list_len < 8 || available < param_list_len) {
        out.status = TCMU_STS_INVALID_PARAM_LIST_LEN;
        return out;
    }
    // An incomplete last descriptor is ignored (bddl rounded down to 16), as upstream.
    size_t bddl = get_be16(&data[2]) & ~0xFu;
    if (bddl / 16 > kMaxUnmapBlockDescCount) {
        out.status = TCMU_STS_INVALID_PARAM_LIST;
        return out;
    }
    // Upstream reads descriptors past the parameter list when bddl claims more than was
    // sent; we ignore those instead (SBC-4: truncated descriptors are ignored).
    size_t fit = (param_list_len - 8) & ~size_t{0xF};
    if (bddl > fit) bddl = fit;
    for (size_t off = 8; off < 8 + bddl; off += 16)
        out.ranges.push_back({get_be64(&data[off]), get_be32(&data[off + 8])});
    return out;
}

}  // namespace rbdtier::harness
