// sense.h — TCMU_STS_* → SCSI status and fixed-format sense data, as libtcmu 1.5.4 does.
//
// Contract: apply_status() mirrors libtcmu.c tcmu_sts_to_scsi(): it returns the SAM status
// byte and writes the sense buffer (response code 0x70, key, ASC/ASCQ, additional length
// 0x0a) for check conditions. MISCOMPARE keeps an INFORMATION field a handler set before
// with tcmu_sense_set_info(); PASSTHROUGH_ERR keeps the handler's sense as is.
// SenseView decodes the first 18 bytes. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rbdtier::harness {

// SAM status codes.
enum SamStatus : uint8_t {
    kGood = 0x00,
    kCheckCondition = 0x02,
    kBusy = 0x08,
    kTaskSetFull = 0x28,
};

// Sense keys (SPC-4).
enum SenseKey : uint8_t {
    kNoSense = 0x0,
    kNotReady = 0x2,
    kMediumError = 0x3,
    kHardwareError = 0x4,
    kIllegalRequest = 0x5,
    kUnitAttention = 0x6,
    kCopyAborted = 0xa,
    kMiscompare = 0xe,
};

inline constexpr size_t kFixedSenseLen = 18;

// Writes fixed-format sense (zeroing the buffer first when `clear`).
void set_sense(std::span<uint8_t> sense, uint8_t key, uint16_t asc_ascq, bool clear = true);
// Sets VALID and the INFORMATION field (bytes 3..6), zeroing the first 18 bytes first.
void set_sense_info(std::span<uint8_t> sense, uint32_t info);

// Maps a TCMU_STS_* code to the SAM status, writing sense (>= 18 bytes) when needed.
uint8_t apply_status(int tcmu_status, std::span<uint8_t> sense);

// Name of a TCMU_STS_* code, e.g. "TCMU_STS_RANGE".
const char* status_name(int tcmu_status);

// Read-only view of fixed-format sense.
struct SenseView {
    std::span<const uint8_t> s;
    uint8_t response_code() const { return s[0] & 0x7f; }
    bool info_valid() const { return (s[0] & 0x80) != 0; }
    uint8_t key() const { return s[2] & 0x0f; }
    uint32_t info() const;
    uint8_t asc() const { return s[12]; }
    uint8_t ascq() const { return s[13]; }
    std::string describe() const;
};

}  // namespace rbdtier::harness
