// scsi.h — SCSI block-command encoding/decoding used by the tcmu-runner harness.
//
// Contract: builders produce CDBs and UNMAP parameter lists exactly as SBC-4 defines them
// (big-endian fields); decoders follow tcmu-runner 1.5.4 (api.c: tcmu_cdb_get_length,
// tcmu_cdb_get_lba, tcmu_cdb_get_xfer_length; tcmur_cmd_handler.c: handle_unmap parameter
// list rules). Pure functions, no I/O, no global state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rbdtier::harness {

// Operation codes the harness handles (SBC-4 / SPC-4).
enum Opcode : uint8_t {
    kRead6 = 0x08,
    kWrite6 = 0x0a,
    kRead10 = 0x28,
    kWrite10 = 0x2a,
    kWriteVerify10 = 0x2e,
    kSyncCache10 = 0x35,
    kWriteSame10 = 0x41,
    kUnmap = 0x42,
    kRead16 = 0x88,
    kCompareAndWrite = 0x89,
    kWrite16 = 0x8a,
    kWriteVerify16 = 0x8e,
    kSyncCache16 = 0x91,
    kWriteSame16 = 0x93,
    kRead12 = 0xa8,
    kWrite12 = 0xaa,
};

// Limits tcmu-runner 1.5.4 advertises and enforces (scsi.h upstream).
inline constexpr uint32_t kMaxUnmapLbaCount = 32u * 1024 * 1024;  // VPD_MAX_UNMAP_LBA_COUNT
inline constexpr uint32_t kMaxUnmapBlockDescCount = 4;            // VPD_MAX_UNMAP_BLOCK_DESC_COUNT
inline constexpr uint32_t kMaxCawLength = 1;                      // MAX_CAW_LENGTH (blocks)

// A command descriptor block of up to 16 bytes.
struct Cdb {
    std::array<uint8_t, 16> bytes{};
    size_t len = 0;
    uint8_t opcode() const { return bytes[0]; }
    uint8_t* data() { return bytes.data(); }
};

// Builders.
Cdb make_read10(uint32_t lba, uint16_t blocks);
Cdb make_write10(uint32_t lba, uint16_t blocks);
Cdb make_read12(uint32_t lba, uint32_t blocks);
Cdb make_write12(uint32_t lba, uint32_t blocks);
Cdb make_read16(uint64_t lba, uint32_t blocks);
Cdb make_write16(uint64_t lba, uint32_t blocks);
Cdb make_write_verify10(uint32_t lba, uint16_t blocks);
Cdb make_write_verify16(uint64_t lba, uint32_t blocks);
Cdb make_sync_cache10();
Cdb make_sync_cache16();
Cdb make_unmap(uint16_t param_list_len, bool anchor = false);
// WRITE SAME: `unmap` sets the UNMAP bit, `anchor` the ANCHOR bit.
Cdb make_write_same10(uint32_t lba, uint16_t blocks, bool unmap, bool anchor = false);
Cdb make_write_same16(uint64_t lba, uint32_t blocks, bool unmap, bool anchor = false);
Cdb make_compare_and_write(uint64_t lba, uint8_t blocks);

// Decoders with tcmu-runner 1.5.4 semantics. cdb_length returns -1 for unsupported
// group codes; lba/xfer_length return 0 for them.
int cdb_length(const uint8_t* cdb);
uint64_t cdb_lba(const uint8_t* cdb);
uint32_t cdb_xfer_length(const uint8_t* cdb);

// One UNMAP block descriptor: [lba, lba + blocks).
struct LbaRange {
    uint64_t lba = 0;
    uint32_t blocks = 0;
    bool operator==(const LbaRange&) const = default;
};

// The UNMAP parameter list (8-byte header + 16-byte descriptors).
std::vector<uint8_t> make_unmap_param_list(std::span<const LbaRange> ranges);

// Result of parsing an UNMAP parameter list: the descriptors, or a TCMU_STS_* failure.
struct UnmapParse {
    int status = 0;  // TCMU_STS_OK or a failure status
    std::vector<LbaRange> ranges;
};

// Parses an UNMAP Data-Out buffer of `param_list_len` bytes (the CDB field) of which
// `available` bytes were transferred, with tcmu-runner 1.5.4's rules: length 0 → OK and
// no ranges; < 8 → INVALID_PARAM_LIST_LEN; short transfer → INVALID_PARAM_LIST_LEN;
// truncated trailing descriptor ignored; > 4 descriptors → INVALID_PARAM_LIST.
UnmapParse parse_unmap_param_list(const uint8_t* data, size_t available, size_t param_list_len);

// Big-endian helpers.
void put_be16(uint8_t* p, uint16_t v);
void put_be32(uint8_t* p, uint32_t v);
void put_be64(uint8_t* p, uint64_t v);
uint16_t get_be16(const uint8_t* p);
uint32_t get_be32(const uint8_t* p);
uint64_t get_be64(const uint8_t* p);

}  // namespace rbdtier::harness
