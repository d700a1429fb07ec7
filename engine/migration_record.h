// MigrationRecord: what one attempt to move an extent to another tier did, as whoever carried it
// out (the live migrator in ceph/) reports it: pools by name, bytes, start and duration, the
// checksum and generation the copy left, and "moved" or what failed. The LUN's rounds
// (engine/lun_rounds.h) keep them as the LUN's migration history. Plain data.
#pragma once

#include <cstdint>
#include <string>

namespace rbdtier {

struct MigrationRecord {
    std::uint64_t extent = 0;
    std::string from;  // pools
    std::string to;
    std::uint64_t bytes = 0;
    std::uint64_t start_unix_ms = 0;
    std::uint64_t duration_us = 0;
    std::uint32_t crc = 0;
    std::uint64_t generation = 0;
    int copies = 0;       // 1 unless writes forced a re-copy
    std::string outcome;  // "moved", or what failed
    std::string reason;   // why the engine asked for it (forecast, net benefit)
};

}  // namespace rbdtier
