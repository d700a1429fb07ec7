// ReplaySimulator: replays IoEvents in trace time against a tier model under a PlacementPolicy.
//
// Every I/O is served from the tier its extents are in (latency = the tier's per-4 KiB latency
// plus per-KiB transfer; the slowest extent of a spanning request counts), then shown to the
// policy (`observe`, with latency_us set to the modelled latency). At every round boundary
// (StorageModel::round_us of trace time, starting at the first event) the last round's orders
// that have not started leave the queue and the policy hears them dropped, then its `plan` becomes
// the queue of a MigrationChannel, which starts each order, best first, as soon as a slot and
// bandwidth tokens allow: what a live LUN's round does with the gateway's executor
// (engine/lun_rounds.h). The policy's view lists the migrations in flight
// (PlacementView::migrations_in_flight) and counts their destinations in the tiers' use. An order
// that reaches the head of the queue is refused (and dropped) if it breaks tier capacity or a
// tenant quota (destination space is reserved from the start; the source is freed at completion) or
// is stale. An accepted migration occupies the link for extent_bytes / bandwidth of trace time
// (migrations are serialized on the link) and the extent is in its new tier only once it
// completes. Invariants (capacity, quota, bandwidth, concurrency) are re-checked after every
// change; a violation throws InvariantViolation, failing the replay loudly.
// Events must be sorted by time (see sort_by_time). One simulator per run; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/io_event.h"
#include "engine/placement_policy.h"
#include "engine/policy/tier_model.h"
#include "engine/replay/replay_result.h"

namespace rbdtier {

class InvariantViolation : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// Progress callback: events replayed so far, total.
using ReplayProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Stable sort by time; traces are mostly sorted already (cheap check first).
void sort_by_time(std::vector<IoEvent>& events);

// Replays `events` under `policy`. Throws InvariantViolation (a simulator or policy bug made
// physics break), std::invalid_argument (bad configuration or unsorted events).
ReplayResult replay(const StorageModel& config, std::span<const IoEvent> events,
                    PlacementPolicy& policy, const ReplayProgress& progress = {});

// Modelled latency of `length` bytes of `op` on `tier`.
double modelled_latency_us(const TierModel& tier, IoOp op, std::uint64_t length);

}  // namespace rbdtier
