// What the engine's and the replay's unit tests share: the extent size they use, and builders of
// the engine's I/O events and migration orders (every test event is built here). Header-only,
// for tests.
#pragma once

#include <cstdint>

#include "engine/io_event.h"
#include "engine/placement_policy.h"

namespace rbdtier::test_events {

// The extent size of every replay test (the engine's default).
inline constexpr std::uint64_t kE = 4ull << 20;

// What an I/O is besides its time and extent: unless set, a 4 KiB read at the start of the
// extent, of LUN 0, from initiator 0, its latency unknown. from() and doing() give the same
// shape from another initiator or of another operation.
struct IoShape {
    std::uint64_t within = 0;  // bytes into the extent
    std::uint32_t length = 4096;
    LunId lun = 0;
    InitiatorId initiator = 0;
    IoOp op = IoOp::kRead;
    std::uint32_t latency_us = 0;

    constexpr IoShape from(InitiatorId by) const {
        IoShape s = *this;
        s.initiator = by;
        return s;
    }
    constexpr IoShape doing(IoOp what) const {
        IoShape s = *this;
        s.op = what;
        return s;
    }
};

// An I/O at `t_us` in extent `extent` (of kE bytes), shaped by `shape`.
inline IoEvent io_at(std::uint64_t t_us, std::uint64_t extent, const IoShape& shape = {}) {
    IoEvent e;
    e.time_us = t_us;
    e.offset = extent * kE + shape.within;
    e.length = shape.length;
    e.latency_us = shape.latency_us;
    e.lun = shape.lun;
    e.initiator = shape.initiator;
    e.op = shape.op;
    return e;
}

// A 4 KiB read at `t_us` of LUN `lun`, `within` bytes into extent `extent`.
inline IoEvent read_at(std::uint64_t t_us, std::uint64_t extent, LunId lun = 0,
                       std::uint64_t within = 0) {
    return io_at(t_us, extent, {.within = within, .lun = lun});
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
