// PlacementPolicy: what decides where a LUN's extents should live.
//
// The contract between whoever executes placement (the replay simulator in engine/replay, a live
// LUN's rounds in engine/lun_rounds.h) and whoever decides it (none, reactive, frequency,
// predictive, oracle). A policy observes every served I/O in time order and, once per round,
// proposes migrations best-first. The executor enforces what is physical (tier capacity, tenant
// quota, bandwidth, concurrency) and tells the policy what it actually moved; a live executor also
// tells it what it measured of its channel (channel_changed) and of the tiers (the latencies in
// the view). A policy never moves anything itself. Single-threaded: observe/plan/migrated are
// called from one thread. Introspection (outlook, accuracy, alerts, selection) is optional and for
// people (`rbdtier heat`, `forecast accuracy`, `alerts`, `replay --explain`): a policy that knows
// nothing answers nothing. It is called between rounds, never concurrently with
// observe/plan/migrated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io_event.h"

namespace rbdtier {

// A tier as policies see it: a pool of one device class at one site.
struct TierSpec {
    TierId id = 0;
    std::string name;            // e.g. "nvme-a"
    std::string device_class;    // nvme, ssd, hdd
    std::string site;            // e.g. "site-a"
    double read_latency_us = 0;  // per 4 KiB access, measured or configured
    double write_latency_us = 0;
    std::uint64_t capacity_bytes = 0;  // 0 = unlimited
    double cost_per_gib = 0;           // relative cost of keeping a GiB there

    bool operator==(const TierSpec&) const = default;
};

// The tighter of two capacities, 0 meaning unlimited on either side.
inline std::uint64_t tighter_capacity(std::uint64_t a, std::uint64_t b) {
    if (a == 0) return b;
    return b == 0 ? a : std::min(a, b);
}

// The executor's channel as a policy models it: how fast it moves extents, how many at once.
struct ChannelSpec {
    double bandwidth_bytes_per_s = 200.0 * (1 << 20);
    std::uint64_t bucket_bytes = 0;  // token bucket depth; 0 = one second of bandwidth
    unsigned max_concurrent = 32;
    std::uint64_t extent_bytes = 4 << 20;

    bool operator==(const ChannelSpec&) const = default;
};

// One extent to move. `reason` says why, for people (migration history, CLI).
struct MigrationOrder {
    LunId lun = 0;
    ExtentIndex extent = 0;
    TierId from = 0;
    TierId to = 0;
    double net_benefit = 0;        // in the policy's units (µs of latency saved, net of cost)
    double forecast_accesses = 0;  // expected accesses within the horizon, if predicted
    std::string reason;
};

// Read-only view of where extents are now, kept by the executor.
class PlacementView {
public:
    virtual ~PlacementView() = default;
    virtual TierId tier_of(LunId lun, ExtentIndex extent) const = 0;
    virtual TierId home_tier(LunId lun) const = 0;
    // Bytes of extents away from their home in `tier`, the destinations of the migrations the
    // executor admitted and has not finished included (their room is taken from their start, as
    // engine/admission.h counts it). What it says of a tier that is the extents' home is the
    // view's own (no room is needed there).
    virtual std::uint64_t used_bytes(TierId tier) const = 0;
    virtual const std::vector<TierSpec>& tiers() const = 0;
    virtual std::uint64_t extent_bytes() const = 0;
    // How many extents LUN `lun` has (0: the executor does not say), for a policy that reads
    // the placement of every extent again (placement_changed()).
    virtual std::uint64_t extents(LunId lun) const {
        (void)lun;
        return 0;
    }
    // Calls each(order) for every migration the executor holds now, waiting for its start or in
    // progress, whoever ordered it (a policy's, an admin's pin): its extent is still where the
    // order takes it from, and it may take longer than any bound a policy would guess. A policy
    // hears of its own when they leave (migrated(), dropped()). By default none: an executor
    // that says nothing.
    virtual void migrations_in_flight(
        const std::function<void(const MigrationOrder&)>& each) const {
        (void)each;
    }
    // Calls each(extent, tier) for every extent of `lun` not in its home tier, in extent order,
    // for a policy that keeps only those. By default it asks tier_of() for each of extents(lun);
    // a view that knows them lists just those, so the walk is proportional to them.
    virtual void away_from_home(LunId lun,
                                const std::function<void(ExtentIndex, TierId)>& each) const {
        const TierId home = home_tier(lun);
        const std::uint64_t n = extents(lun);
        for (ExtentIndex e = 0; e < n; ++e)
            if (const TierId t = tier_of(lun, e); t != home) each(e, t);
    }
};

// What a policy thinks of one extent now (times in the executor's clock).
struct ExtentOutlook {
    double recent_accesses = 0;    // heat: accesses the policy remembers in its recent window
    double p_access = 0;           // probability of an access within the horizon
    double forecast_accesses = 0;  // expected accesses within the horizon
    TierId best = 0;               // where the policy would have it
    double net_benefit = 0;        // of moving it to `best` (<= 0: staying is best)
    std::string model;             // the model behind the forecast
};

// Whether promotions paid: judged promotions, hits (accessed within the horizon), wasted ones.
struct AccuracyCounters {
    std::string name;  // the model or tenant
    std::uint64_t promotions = 0;
    std::uint64_t hits = 0;
    std::uint64_t wasted = 0;
    std::uint64_t wasted_bytes = 0;
    double precision = 0;  // hits / promotions
    double recall = 0;     // accesses to busy extents served from a promoted tier (0: unknown)
    double latency_saved_us = 0;
};

struct ForecastAccuracy {
    std::vector<AccuracyCounters> models;
    std::vector<AccuracyCounters> tenants;
    AccuracyCounters total;
};

// An access pattern that does not fit the profile (kept out of the fast tiers), or accesses the
// policy could not profile ("tracking limit": `extents` is the limit, time_us the last such
// access).
struct PolicyAlert {
    std::string kind;  // "scan", "overwrite burst", "tracking limit"
    InitiatorId initiator = 0;
    ExtentIndex first_extent = 0;
    ExtentIndex last_extent = 0;
    std::uint64_t extents = 0;
    std::uint64_t time_us = 0;
    std::string description;
};

// How a policy that follows one of several candidate strategies per LUN (StrategySelector) chose:
// per LUN, the rounds it followed each candidate and its switches, in time order.
struct StrategySwitch {
    std::uint64_t time_us = 0;
    std::size_t from = 0;  // index into SelectionReport::candidates
    std::size_t to = 0;
};
struct LunSelection {
    LunId lun = 0;
    std::vector<std::uint64_t> rounds;  // rounds spent following each candidate
    std::vector<StrategySwitch> switches;
};
struct SelectionReport {
    std::vector<std::string> candidates;
    std::vector<LunSelection> luns;  // by LUN id
};

class PlacementPolicy {
public:
    virtual ~PlacementPolicy() = default;
    virtual std::string_view name() const = 0;
    // Every served I/O, in time order.
    virtual void observe(const IoEvent& io) = 0;
    // Migrations wanted at `now_us`, best first. May be empty.
    virtual std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) = 0;
    // A round at `now_us` that plans nothing (a live LUN's rounds while paused, or while another
    // gateway owns the LUN): a policy that takes in what it observed only when it plans (a
    // forecast's profile) takes it in now, so that what it knows of the I/O, and shows of it,
    // follows the I/O however long nothing is planned. It orders nothing.
    virtual void unplanned_round(std::uint64_t now_us) { (void)now_us; }
    // The executor moved `order` (it was accepted and completed at `now_us`).
    virtual void migrated(const MigrationOrder& order, std::uint64_t now_us) {
        (void)order;
        (void)now_us;
    }
    // The executor did not take `order` (it refused it, or followed another strategy's orders):
    // nothing moved, and nothing of the budget was spent on it.
    virtual void dropped(const MigrationOrder& order, std::uint64_t now_us) {
        (void)order;
        (void)now_us;
    }

    // The placement of LUN `lun` changed at `now_us` by another hand than this policy's orders
    // (another gateway moved extents and this one took the LUN over, the map was reloaded, the
    // LUN grew): what the policy keeps of where its extents are and how full each tier is must
    // be read again from `view` (view.extents(lun) of them). A policy that reads the view in
    // every plan() keeps nothing.
    virtual void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) {
        (void)lun;
        (void)now_us;
        (void)view;
    }

    // The executor measured its channel anew at `now_us` (e.g. the rate its migrations really
    // run at): a policy that models the channel (shadow placements) uses `channel` from now on.
    // The tiers' latencies as measured come with every plan()'s view.
    virtual void channel_changed(const ChannelSpec& channel, std::uint64_t now_us) {
        (void)channel;
        (void)now_us;
    }

    // Introspection (see the top of this file).
    virtual std::optional<ExtentOutlook> outlook(LunId lun, ExtentIndex extent,
                                                 std::uint64_t now_us) const {
        (void)lun;
        (void)extent;
        (void)now_us;
        return std::nullopt;
    }
    virtual std::optional<ForecastAccuracy> accuracy() const { return std::nullopt; }
    virtual std::vector<PolicyAlert> alerts() const { return {}; }
    // For a policy that selects among strategies: which it followed, per LUN, and when it switched.
    virtual std::optional<SelectionReport> selection() const { return std::nullopt; }
};

}  // namespace rbdtier
