// Promote-on-access placement policies that attack what plain reactive placement loses on real
// traces (candidates for the strategy selector, and standalone policies in the registry).
//
// CachingPolicy promotes accessed extents into the fastest tier, as ReactivePolicy does, and
// differs in switchable ways, each aimed at one kind of miss:
//   - carry-over: an accessed extent that found no room stays wanted (for `want_ttl_us` after
//     its last access) and is promoted as soon as an eviction frees room, instead of waiting
//     for another access after the eviction (reactive needs two accesses once the tier is full);
//   - reserve: least recently used residents are demoted ahead of need so that `reserve_share`
//     of the tier's slots is free or being freed, and a promotion does not wait for room;
//   - read-ahead: an access to extent e of a LUN within `run_window_us` of an access to e-1
//     extends the run ending at e-1; once a run spans three extents, the next ones are
//     promoted ahead of the walk, twice the run's length (at most `prefetch_depth`), and before
//     anything else (sequential scans and bursts of writes that walk the LUN); with
//     `prefetch_feedback`, only one extent ahead while most read-ahead goes unused, and with
//     coldest eviction a read-ahead extent counts as hot as the run that asked for it;
//   - segmented LRU (scan resistance): residents accessed again after their promotion are
//     protected (at most `protected_share` of the tier); eviction takes the least recently used
//     probationary resident first, so one-touch extents do not push out reused ones;
//   - heat order: with `heat_half_life_us`, the extents wanted in a round are promoted hottest
//     first (exponentially decayed access count) rather than most recent first, so that a
//     saturated channel carries the extents that keep coming back;
//   - coldest eviction (with heat order, `evict_coldest`): the resident with the lowest heat
//     goes first, and only to make room for a hotter extent (TinyLFU-style admission), so one-off
//     reads neither evict a hot set nor spend the channel on trading one-off extents;
//   - admission: an extent is promoted only once it has been accessed `admit_accesses` times
//     within `admit_window_us` (the history remembers non-resident extents that long), which
//     spends no bandwidth on extents touched once;
//   - admission by eviction age (`admit_by_eviction_age`, scan resistance as LIRS and ARC judge
//     a block by its reuse against what the cache keeps): while the fastest tier has free room
//     every accessed extent is promoted; once it is full, only one whose last two accesses came
//     within the tier's eviction age (how long its least recently used resident has gone
//     unused: the reuse gap that LRU keeps in the tier) is, so extents touched once do not push
//     out reused ones (nor take the room an eviction freed for one). The history of non-resident
//     extents (evicted ones included: a ghost list) is kept for the eviction age, and for at most
//     four times the tier's slots.
//   - frequency admission (`sketch_admission`, TinyLFU): every access counts in a count-min
//     sketch of the extents (engine/policy/frequency_sketch.h; about 16 counters per slot of the
//     fastest tier, at most `sketch_counters`, halved every 10 accesses per slot, or every
//     5/8 access per counter when that bound is reached), the extents wanted in a round are
//     promoted most frequent first, and once the fastest tier is full, a resident is evicted (in
//     LRU order, probationary first) only for an extent accessed more than once lately whose
//     estimated frequency is higher than the resident's: an extent touched once takes neither
//     the channel nor the room of one that keeps coming back, equals are not traded, and a new
//     hot set is admitted as soon as its extents have been accessed more often than the
//     residents;
//   - adaptive recency/frequency (`adaptive`, ARC): residents accessed once since their
//     promotion form the recency side, those accessed again the frequency side; extents evicted
//     from each side are remembered in a ghost list of its own (at most the tier's slots each).
//     An access to an extent of the recency ghost list grows the recency side's target share of
//     the tier (by the ratio of the ghost lists' sizes, at least one slot), one of the frequency
//     ghost list shrinks it, and the extent returns into the frequency side; eviction takes the
//     least recently used resident of the recency side while that side is above its target, of
//     the frequency side otherwise.
// An extent the fastest tier has no free room for is promoted into the fastest other tier faster
// than where it is that has free room, as reactive placement does (the room of every faster tier
// is used while the channel could fill it); only when none has room does it wait for an eviction
// from the fastest tier. Only the fastest tier's residents are tracked and evicted: an extent in
// another fast tier leaves it when it is promoted into the fastest one. Such a promotion trades a
// resident sent home (a loss of home's latency per access) for a gain of its own tier's latency
// per access: LRU eviction, blind to how hot either is, does not make that trade; coldest
// eviction makes it when the extent's heat weighed by its gain exceeds the resident's.
// Demotions go to the LUN's home tier. The executor enforces capacity, quotas and budget;
// orders it refuses or drops are simply wanted again later. Single-threaded, as
// PlacementPolicy requires. Memory: one entry per resident, per wanted extent and per extent
// accessed within the longest window (older history is pruned every round); with frequency
// admission the sketch (at most sketch_counters / 2 bytes), adaptive the ghost lists (at most
// the fastest tier's slots each). observe() costs O(1) per extent an I/O touches.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/extent_key.h"
#include "engine/placement_policy.h"
#include "engine/policy/frequency_sketch.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

struct CachingParams {
    bool carry_over = true;
    std::uint64_t want_ttl_us = 10'000'000;
    double reserve_share = 0.0;  // of the fastest tier's slots; 0 = no demotion ahead of need
    std::size_t prefetch_depth = 0;
    std::uint64_t run_window_us = 2'000'000;
    // Read ahead one extent only while less than a third of recent read-ahead was used.
    bool prefetch_feedback = false;
    double protected_share = 0.0;         // 0 = plain LRU eviction
    std::uint64_t heat_half_life_us = 0;  // 0: promote most recent first; else hottest first
    bool evict_coldest = false;           // evict the lowest heat first (needs heat_half_life_us)
    unsigned admit_accesses = 1;
    // Orders proposed per round at most (0: no limit). What the channel cannot start within a
    // round is dropped at the next one, so proposing more only costs CPU (in a selector's
    // ghosts, for every candidate); make_caching_policy sets it from the budget.
    std::size_t max_orders_per_round = 0;
    std::uint64_t admit_window_us = 60'000'000;
    bool admit_by_eviction_age = false;
    bool sketch_admission = false;       // frequency admission (TinyLFU)
    std::size_t sketch_counters = 8192;  // at most, per policy (4 KiB)
    bool adaptive = false;               // adaptive recency/frequency (ARC)
};

class CachingPolicy final : public PlacementPolicy {
public:
    CachingPolicy(std::string name, std::uint64_t extent_bytes, CachingParams params);
    std::string_view name() const override { return name_; }
    void observe(const IoEvent& io) override;
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    // Reads the LUN's extents away from home again from the view.
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;
    void dropped(const MigrationOrder& order, std::uint64_t now_us) override;

private:
    struct Resident {
        std::uint64_t last_use = 0;  // sequence number of the last access (or promotion)
        bool protected_ = false;
        std::uint64_t last_us = 0;  // time of the last access (or promotion)
    };
    struct History {
        std::uint64_t last_us = 0;
        unsigned accesses = 0;              // within admit_window_us of last_us
        std::uint64_t gap_us = UINT64_MAX;  // between its last two accesses (UINT64_MAX: one)
    };
    using Lru = std::set<std::pair<std::uint64_t, ExtentKey>>;
    // Extents evicted lately, oldest first, at most a given number of them; an entry remembers
    // whether an access since its eviction was already counted (ARC adapts once per return).
    class GhostList {
    public:
        void push(ExtentKey key);
        // Whether `key` is listed and was not accessed since its eviction (it is marked now).
        bool first_hit(ExtentKey key);
        bool erase(ExtentKey key);  // whether it was listed
        std::size_t size() const { return entries_.size(); }
        void trim(std::size_t keep);

    private:
        struct Entry {
            std::uint64_t seq = 0;
            bool hit = false;
        };
        std::unordered_map<ExtentKey, Entry> entries_;
        std::deque<std::pair<std::uint64_t, ExtentKey>> order_;  // stale pairs skipped
        std::uint64_t next_seq_ = 0;
    };

    void touch_resident(ExtentKey key, Resident& r, std::uint64_t now_us);
    void insert_resident(ExtentKey key, std::uint64_t now_us);
    void erase_resident(ExtentKey key);
    bool admitted(ExtentKey key) const;
    // With admit_by_eviction_age: whether `key` was accessed again within the eviction age.
    bool reused_within_eviction_age(ExtentKey key) const;
    // The fastest tier's eviction age at `now_us`: the idle time of the resident LRU eviction
    // takes first (UINT64_MAX without residents).
    std::uint64_t eviction_age(std::uint64_t now_us) const;
    // Drops history that can no longer admit an extent.
    void prune_history(std::uint64_t now_us, std::int64_t slots);
    void want(ExtentKey key, std::uint64_t until_us);
    // What orders the extents wanted in a round and decides a trade of a resident for one:
    // the sketch's estimate with frequency admission, else the decayed heat.
    double frequency_at(ExtentKey key, std::uint64_t now_us) const;
    bool ranks_by_frequency() const {
        return params_.heat_half_life_us > 0 || params_.sketch_admission;
    }
    bool trades_by_frequency() const { return params_.evict_coldest || params_.sketch_admission; }

    std::string name_;
    std::uint64_t extent_bytes_;
    CachingParams params_;
    std::uint64_t seq_ = 0;
    std::vector<ExtentKey> accessed_;  // since the last plan, in access order
    std::vector<ExtentKey> runs_;      // read-ahead extents found since the last plan
    // Extents wanted: key -> until when (µs), never a resident's (but for those adopted since
    // the last plan()); and the lists of the extents each plan() wanted, oldest first, each
    // with its `until` (sorted by key, highest first, once its plan() is over). An extent wanted
    // again is in several lists: the one with the `until` the map holds counts.
    std::unordered_map<ExtentKey, std::uint64_t> wanted_;
    std::deque<std::pair<std::uint64_t, std::vector<ExtentKey>>> wanted_rounds_;
    std::vector<ExtentKey> adopted_;  // residents placement_changed() adopted since plan()
    std::unordered_map<ExtentKey, Resident> residents_;
    Lru probationary_, protected_;
    std::size_t protected_slots_ = SIZE_MAX;
    std::unordered_map<ExtentKey, History> history_;
    std::uint64_t eviction_age_us_ = UINT64_MAX;  // as of the last plan
    std::int64_t freed_by_eviction_ = 0;  // fast-tier slots evictions freed, not yet refilled
    struct Heat {
        double value = 0;
        std::uint64_t at_us = 0;
    };
    double heat_at(ExtentKey key, std::uint64_t now_us) const;
    double decayed(const Heat& heat, std::uint64_t now_us) const;  // its value at `now_us`
    std::unordered_map<ExtentKey, Heat> heat_;
    std::uint64_t next_heat_prune_us_ = 0;
    struct RunMark {
        std::uint64_t time_us = 0;
        std::uint64_t length = 0;  // extents of the run ending here (1: no run)
    };
    std::unordered_map<ExtentKey, RunMark> last_access_;  // for run detection
    std::unordered_set<ExtentKey> read_ahead_orders_;     // promotions ordered as read-ahead
    std::unordered_set<ExtentKey> read_ahead_unused_;     // read ahead, resident, not yet used
    double read_ahead_used_ = 1, read_ahead_wasted_ = 0;  // decayed counts
    void count_read_ahead(bool used);
    std::unordered_set<ExtentKey> promoting_, demoting_;  // ordered, not yet done
    std::unordered_map<LunId, TierId> homes_;
    TierId fast_ = 0;
    FrequencySketch sketch_;
    GhostList recency_ghosts_, frequency_ghosts_;  // adaptive only
    double recency_target_ = 0;                    // adaptive: slots the recency side aims at
    std::size_t fast_slots_ = 0;                   // of the fastest tier, as of the last plan
};

// The variants registered by name (builtin_policy_registry), each with what it is for:
// readahead (carry-over + read-ahead with feedback), lrfu (carry-over + 1-minute heat order +
// coldest eviction), slru (carry-over + 10-minute heat order + segmented LRU), admit (carry-over
// + admission by eviction age), tinylfu (carry-over + frequency admission + segmented LRU), arc
// (carry-over + adaptive recency/frequency).
struct CachingVariant {
    std::string name;
    std::string description;
    CachingParams params;
};
std::vector<CachingVariant> caching_variants();

// `variant` for the storage model `config`: its extent size, and at most twice the
// orders per round that the budget (bandwidth over a round, plus the concurrency) can start.
std::unique_ptr<PlacementPolicy> make_caching_policy(const CachingVariant& variant,
                                                     const StorageModel& config);

}  // namespace rbdtier
