// What the engine's and the replay's unit tests share: the extent size they use, and builders of
// the engine's I/O events and migration orders. Header-only, for tests.
#pragma once

#include <cstdint>

#include "engine/io_event.h"
#include "engine/placement_policy.h"

namespace rbdtier::test_events {

// The extent size of every replay test (the engine's default).
inline constexpr std::uint64_t kE = 4ull << 20;

// A 4 KiB read at `t_us` of LUN `lun`, `within` bytes into extent `extent`.
inline IoEvent read_at(std::uint64_t t_us, std::uint64_t extent, LunId lun = 0,
                       std::uint64_t within = 0) {
    IoEvent e;
    e.time_us = t_us;
    e.offset = extent * kE + within;
    e.length = 4096;
    e.lun = lun;
    e.op = IoOp::kRead;
    return e;
}

// A read of LUN 0 whose place in the extent follows the time (one of 1000 4 KiB blocks), so
// that reads of one extent are not one sequential stream.
inline IoEvent scattered_read_at(std::uint64_t t_us, std::uint64_t extent) {
    return read_at(t_us, extent, 0, (t_us % 1000) * 4096);
}

// An order to move `extent` of `lun` from tier `from` to tier `to`.
inline MigrationOrder order(ExtentIndex extent, TierId from, TierId to, LunId lun = 0) {
    MigrationOrder o;
    o.lun = lun;
    o.extent = extent;
    o.from = from;
    o.to = to;
    return o;
}

}  // namespace rbdtier::test_events
