// LunRounds: the tiering rounds of one LUN. They bind the LUN's storage (engine/lun_storage.h:
// where its extents are, and how one moves) to a placement policy and to the engine's admission
// rule; the live gateway's storage is ceph/lun_tiering.h.
//
// The I/O path reports every completed command with record() (any thread, lock-free: a bounded
// ring; a full ring drops the event and counts it). Rounds run, once start()ed, every round_us on
// a worker of a RoundDriver (engine/round_driver.h: by default the process's, a fixed pool of
// threads that every tiered LUN of the gateway shares, so the threads do not grow with the LUNs);
// after a quiet round (no I/O handed to the policy, no order submitted) the next one comes no
// sooner than kQuietRoundUs, so that a shorter round_us costs an idle LUN nothing more (a round
// may ask the storage whether the LUN may migrate: for the live gateway, requests to the cluster)
// while a LUN with I/O plans at its round_us.
// A round hands the recorded events to the policy in order, asks whether it plans
// (options.may_plan: the LUN is this gateway's as far as it knows), withdraws the last round's
// orders not started yet (the policy hears them dropped), asks the policy for migrations
// (PlacementPolicy::plan) and puts the LUN's pins first (PinTable::with_pins). Only a round with
// an order that can start asks whether it may migrate now (options.may_migrate: for the live
// gateway the lock asked of the cluster; a "no" drops its orders, the policy hears so): an idle
// LUN's round asks nothing. It submits every order to the migration executor
// (engine/migration_executor.h): the gateway's, shared by every tiered LUN. There each order waits
// in the gateway's migration budget (engine/gateway_budget.h: one token bucket one second deep and
// a limit on migrations at once) with the LUN's tenant, the tenant's bandwidth weight and the
// order's net benefit (pin orders: the highest), so the budget ranks the orders of all the
// gateway's LUNs together: weighted fair share between tenants, highest benefit first within a
// tenant. The round does not wait for them. When the budget grants an order, one of the executor's
// workers has this LUN carry it out (a LUN moves one extent at a time): whether it may start is
// decided by engine/admission.h at that moment (stale or invalid orders, pins, a tier's capacity of
// extents away from home, a full pool, the tenant's quota), the same rule the replay simulator
// applies; then LunStorage::migrate. An order granted after this gateway gave the LUN up
// (LunStorage::owns_extents() false: its lock released or lost since the round) does not start
// either: it is dropped, no failed migration. Without a gateway executor (options.executor null)
// the LUN has one of its own without workers, and each round carries out what its budget grants at
// the round's end (the rest waits for the next round's plan). The policy hears of each completed
// move (migrated()) and of each of its orders not handed to the storage (dropped(): refused or the
// LUN given up when it would start, overruled by a pin, or withdrawn unstarted by the next round, a
// pause or a stop); every attempt is kept in the migration history. Tier ids are the storage's (0 =
// home). Times are microseconds on the steady clock since the LunRounds was made (now_us()). stop()
// (or the destructor) ends the rounds: it waits for a round in progress, withdraws the LUN's orders
// from the executor and waits for its migration in progress; once it returns nothing of the LUN
// runs (so the LUN's storage may go then). set_paused(true) withdraws the orders not started; a
// migration in progress ends as it would, and an order granted at the same moment sees the pause
// and does not start. A round that plans nothing (paused, or the LUN another gateway's) still hands
// the recorded events to the policy and tells it so (PlacementPolicy::unplanned_round): what the
// policy knows and shows of the LUN's I/O (`rbdtier heat`) follows the I/O while nothing moves.
// Pins (admin): a pinned extent is moved to its pin's tier before any policy order (within the
// bandwidth budget and the tier's capacity) and never elsewhere; the policy's orders for it are
// dropped. queue() shows the last round's orders not carried out yet; inspect() runs a function
// with the policy while no round uses it. All public members are thread-safe.
// Home pin (the LUN taken out of tiering): every extent is pinned to the home tier, those away
// from it are brought back first, and nothing moves anywhere else (pins to other tiers are
// refused) until it is released; it covers extents added by a resize too.
// Resources: every resource_interval_us a round asks the storage to sample the tier pools' usage
// and the LUN's tenant (its quotas, what its other LUNs hold, LUN by LUN; its bandwidth weight
// goes with the LUN's requests to the budget), and hands both to the admission: a tier whose pool
// is full takes no more extents; a tier takes no more than the tenant's quota there allows nor
// more than its own capacity: the smallest limit wins. The tenant's usage is kept in the
// gateway's tenant ledger (engine/tenant_ledger.h, options.tenants), shared by the rounds of every
// LUN of the gateway: its LUNs here count exactly as they move (an admitted order reserves its
// room there at once), the sampled LUNs that are not the gateway's (other gateways') as measured.
// The policy sees the same limits as the tiers' capacity_bytes in its PlacementView
// (Admission::effective_tiers), and the same use: a tier's bytes count the destinations of the
// LUN's admitted migrations from their start; the view lists the LUN's migrations the executor
// holds (PlacementView::migrations_in_flight), however long they take. A failed tenant reading
// keeps the last known room. Logged
// (common/log.h), rate-limited: every order refused for capacity, a full pool or the tenant's
// quota, and deferred for the bandwidth budget; a change of the sampling problem; a change of the
// tenant's quota or weight. Migrations log themselves (the storage). Placement changed by another
// hand: the counts of extents per tier (stats, the policy's view) and the admission's ledger follow
// the rounds' own migrations; when the storage's routing changes otherwise
// (LunStorage::placement_epoch), the next round recounts them from the storage (before it plans,
// after may_plan, which may take the LUN over), grows the pins to the LUN's extents and tells
// the policy (PlacementPolicy::placement_changed); a changed count is logged.
// Measured (engine/lun_measurements.h): each round attributes the commands it hands the policy
// to the tier that served them (where the extent was when the command completed: the storage's
// tier now, or the source of a migration of the extent that ended after it), and each carried-out
// migration gives the rate it moved its extent at. The policy's view (effective_tiers) shows the
// tiers' latencies as measured once there are enough samples, and the policy is told the channel
// the executor really gives the LUN (PlacementPolicy::channel_changed: the measured rate, within
// the budget's bandwidth, MigrationExecutor::kMigrationsPerLun at once) once the rate is measured
// and whenever it moves by more than kChannelChange since it was last told (a policy that
// replace_policy() put in is told at its first round).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/admission.h"
#include "engine/event_ring.h"
#include "engine/gateway_budget.h"
#include "engine/lun_measurements.h"
#include "engine/lun_storage.h"
#include "engine/migration_executor.h"
#include "engine/migration_record.h"
#include "engine/placement_policy.h"
#include "engine/resource_sample.h"
#include "engine/round_driver.h"
#include "engine/tenant.h"
#include "engine/tenant_ledger.h"

namespace rbdtier {

struct LunRoundsOptions {
    LunId lun = 0;  // the LUN's id for the policy: 24 bits (engine/extent_key.h)
    std::uint64_t round_us = 1'000'000;
    // What carries the LUN's orders out: the gateway's executor, shared with its other LUNs, and
    // its budget (null: one of the LUN's own, without workers, over `budget`: each round carries
    // out what that budget grants at its end).
    std::shared_ptr<MigrationExecutor> executor;
    // With no executor: the budget the LUN's own executor draws from (null: one of the LUN's own,
    // of bandwidth_bytes_per_s, one migration at a time).
    std::shared_ptr<GatewayBudget> budget;
    double bandwidth_bytes_per_s = 200.0 * (1 << 20);
    std::string tenant;  // the LUN's tenant, in the budget and the tenant ledger ("": none)
    // The LUN's name among its tenant's LUNs as the storage's tenant readings name them
    // (TenantRoom::luns): the ledger counts those of the gateway's LUNs once ("": none).
    std::string name_in_tenant;
    // What each tenant holds per tier pool on this gateway, shared by the rounds of all its LUNs
    // (null: TenantLedger::process(), the process's).
    std::shared_ptr<TenantLedger> tenants;
    std::size_t event_ring = 1 << 16;
    std::size_t history = 4096;  // migration records kept
    // Where the rounds run (null: RoundDriver::shared(), the process's).
    std::shared_ptr<RoundDriver> driver;
    // Asked before each round plans: whether the LUN is this gateway's as far as it knows, so
    // that the round plans (a "no": a round of a LUN another gateway owns). May take the LUN
    // over (null: always).
    std::function<bool()> may_plan;
    // Asked by a round that has orders to submit, before it submits them: only the gateway
    // holding the LUN's exclusive lock moves data (null: always).
    std::function<bool()> may_migrate;
    // How often the pools and the tenant are sampled (in a round).
    std::uint64_t resource_interval_us = 5'000'000;
    // Per tier id: a pool used to this fraction of its capacity is full (absent:
    // kDefaultPoolFullRatio, Ceph's nearfull ratio). A pool without room for one extent is
    // full whatever its ratio.
    std::vector<double> pool_full_ratio;
};

inline constexpr double kDefaultPoolFullRatio = 0.85;
// The share by which the measured migration rate must move before the policy is told again.
inline constexpr double kChannelChange = 0.1;

// What the LUN's last round did about moving extents: it moved some, or why it moved none.
// Paused and not-owner rounds say so at once; a round that submitted orders is settled when the
// next round begins (with a budget of the LUN's own: at its end), from what its orders did.
enum class RoundOutcome : std::uint8_t {
    kNoRound,        // no round has run yet
    kMoved,          // at least one extent moved
    kNothingToMove,  // neither the policy nor a pin asked for a move that could start
    kPaused,         // paused (set_paused), or paused while it ran
    kNotOwner,       // may_plan or may_migrate said no: this gateway may not move the extents now
    kBudget,         // its orders waited for the migration budget, none moved
    kRefused,        // every order it could start was refused (capacity, full pool, quota)
    kFailed,         // every migration it tried failed
};
// "no_round", "moved", "nothing_to_move", "paused", "not_owner", "budget", "refused", "failed".
const char* to_string(RoundOutcome outcome);

struct LunRoundsStats {
    std::uint64_t rounds = 0;
    std::uint64_t events = 0;
    std::uint64_t dropped_events = 0;
    std::uint64_t orders = 0;
    std::uint64_t moved = 0;
    std::uint64_t failed = 0;
    std::uint64_t refused_capacity = 0;
    std::uint64_t deferred_bandwidth = 0;  // orders not granted within the round that planned them
    std::uint64_t rounds_not_owner = 0;  // rounds that moved nothing: another gateway owns the LUN
    RoundOutcome last_round = RoundOutcome::kNoRound;
    std::uint64_t refused_pool_full = 0;     // orders into a full pool
    std::uint64_t refused_tenant_quota = 0;  // orders beyond the tenant's quota
    std::uint64_t resource_samples = 0;
    std::string resource_problem;  // the last sampling error (tenant, pools), empty if none
    std::uint64_t bytes_moved = 0;
    std::vector<std::uint64_t> extents_in_tier;  // per tier id
};

class LunRounds : private MigrationExecutor::Client {
public:
    // specs[i] describes the storage's tier i (specs[i].id must be i). The storage must outlive
    // the LunRounds.
    LunRounds(LunStorage& storage, std::vector<TierSpec> specs,
              std::unique_ptr<PlacementPolicy> policy, LunRoundsOptions options);
    virtual ~LunRounds();
    LunRounds(const LunRounds&) = delete;
    LunRounds& operator=(const LunRounds&) = delete;

    void start();
    void stop();
    // Paused: the orders not started are withdrawn (see the top of this file); rounds still read
    // the events and follow the placement, and plan nothing.
    void set_paused(bool paused);
    // The budget the LUN draws from, and its bandwidth (bytes/s).
    const std::shared_ptr<GatewayBudget>& budget() const { return budget_; }
    double bandwidth() const { return budget_->bandwidth(); }
    // Share of the budget this LUN used over the last `window_us`: bytes it moved by migrations
    // that ended within it, over what the budget allowed in it (0 when the budget is 0).
    double budget_use(std::uint64_t window_us = 10'000'000) const;

    std::uint64_t now_us() const { return time_us(std::chrono::steady_clock::now()); }
    // The rounds' time of `at` (microseconds since the LunRounds was made; 0 before that): what
    // an IoEvent's time_us holds, for a caller that already read the clock.
    std::uint64_t time_us(std::chrono::steady_clock::time_point at) const {
        return at <= epoch_ ? 0
                            : static_cast<std::uint64_t>(
                                  std::chrono::duration_cast<std::chrono::microseconds>(at - epoch_)
                                      .count());
    }
    // The event is this LUN's whatever its `lun` says (policies key extents by options.lun).
    void record(IoEvent event) noexcept {
        event.lun = options_.lun;
        bool contended = false;
        if (!ring_.try_push(event, contended)) dropped_.fetch_add(1, std::memory_order_relaxed);
    }

    // A quiet round (see the top of this file) is followed by the next one after round_us, but
    // no sooner than this: a second, the default round.
    static constexpr std::uint64_t kQuietRoundUs = 1'000'000;
    // Runs one round now, on the caller's thread (tests; not while start()ed); returns how long
    // after it the next round is due (µs): round_us, at least kQuietRoundUs after a quiet round.
    std::uint64_t run_round();
    // The next round samples the resources, whenever the last sample was (what the storage
    // samples changed). Not while start()ed.
    void sample_next_round() { next_sample_us_ = 0; }

    std::optional<ResourceSample> resources() const;  // the last sample, if any
    std::optional<TenantRoom> tenant_room() const;    // the last known, if any
    // The tiers as the policy sees them now: capacity_bytes lowered to what the pools and the
    // tenant allow, the latencies as measured (see the top of this file).
    std::vector<TierSpec> effective_tiers() const;

    LunRoundsStats stats() const;
    std::vector<MigrationRecord> history() const;
    std::vector<MigrationRecord> history(std::size_t last) const;  // the newest `last` of them
    std::vector<bool> pools_full() const;  // per tier id, as the last resource sample found
    const std::vector<TierSpec>& tiers() const { return specs_; }

    // Pins extents [first, first+count) to `tier`: rounds move them there first (within the
    // bandwidth budget and tier capacity) and never move them elsewhere; the policy's orders for
    // them are dropped. Refuses (-EINVAL) a tier id out of range or an empty/out-of-LUN range,
    // (-EBUSY) a pin away from home while the LUN is pinned home; a new pin replaces overlap.
    std::optional<AdmissionError> pin(ExtentIndex first, std::uint64_t count, TierId tier);
    // Releases extents [first, first+count) to the policy (parts of pins outside stay pinned;
    // not the home pin: set_home_pinned(false)).
    void unpin(ExtentIndex first, std::uint64_t count);
    // Replaces every pin but the home pin with `ranges` (PinTable::replace): whoever follows the
    // pins kept in the cluster passes the pins_version() it saw before reading them, so a stale
    // read cannot undo a newer change.
    void replace_pins(const std::vector<PinnedRange>& ranges,
                      std::optional<std::uint64_t> if_version = std::nullopt);
    std::uint64_t pins_version() const;
    std::vector<PinnedRange> pins() const;  // by first extent, never overlapping
    // The home pin (see above): set, it replaces every pin (pins() shows the whole LUN pinned
    // to tier 0); released, the LUN is the policy's again, without pins. Each change bumps
    // home_pin_version(); given `if_version`, the call changes nothing unless the version is
    // still that one (whoever follows the pin in the cluster passes the version it saw before
    // reading it, so a stale read cannot undo a newer change).
    void set_home_pinned(bool pinned, std::optional<std::uint64_t> if_version = std::nullopt);
    bool home_pinned() const;
    std::uint64_t home_pin_version() const;
    // The orders of the last round that are not carried out yet (the migration queue: waiting
    // for the budget or in progress), as submitted: pins first, then the policy's order.
    std::vector<MigrationOrder> queue() const;
    // From the next round on, plans with `policy` (what the old one learned is dropped) every
    // `round_us`: the LUN's policy or horizon changed while it is open. Any thread, but not from a
    // round's policy calls; the round hook may call it.
    void replace_policy(std::unique_ptr<PlacementPolicy> policy, std::uint64_t round_us);
    std::uint64_t round_us() const { return round_us_.load(); }
    // Called at the start of every round (paused or not), in the round, with no lock
    // held (e.g. to follow settings kept in the cluster). Set before start(); null: none.
    void set_round_hook(std::function<void()> hook) { round_hook_ = std::move(hook); }
    // Runs fn with the policy while no round uses it (admin introspection; fn must be quick).
    void inspect(const std::function<void(const PlacementPolicy&, const PlacementView&)>& fn) const;

private:
    class View;
    // Orders that bring pinned extents to their tier (as many as `budget_bytes` carries, and
    // one more; `pin_orders` of them, first), then the policy's orders without those for
    // pinned extents (put in `overruled`).
    std::vector<MigrationOrder> with_pins(std::vector<MigrationOrder> orders, double budget_bytes,
                                          std::size_t& pin_orders,
                                          std::vector<MigrationOrder>& overruled) const;
    void sample_resources(std::uint64_t now);
    // One round (run_round()); returns whether it was quiet (no I/O handed to the policy, no
    // order submitted).
    bool quiet_round();
    // Recounts the extents per tier from the storage if its placement epoch moved since the last
    // count (see the top of this file). Rounds thread, with policy_mutex_ held.
    void follow_placement(std::uint64_t now);
    // The storage's extents per tier id, read after `epoch` (the storage's placement epoch);
    // with `away`, the extents not in the home tier too, in extent order.
    std::vector<std::uint64_t> count_extents(
        std::uint64_t& epoch, std::vector<std::pair<ExtentIndex, TierId>>* away = nullptr) const;
    std::vector<TierSpec> effective_tiers_locked() const;  // under mutex_
    // What the policy's view says each tier holds of the LUN: the home tier its extents there;
    // every other its extents there with the destinations of its admitted migrations not ended
    // (the admission's count). Under mutex_.
    std::vector<std::uint64_t> used_bytes_locked() const;
    // Counts and logs an order the admission refused for capacity, a full pool or the tenant's
    // quota. Under mutex_.
    void refused_locked(const MigrationOrder& order, Refusal refusal);
    // Carries out one order the budget granted (an executor's worker, or the round with an
    // executor of its own): re-checks it, migrates, counts; true if it used the grant.
    bool carry_out(const MigrationOrder& order, bool pin) override;
    // Withdraws the orders not started from the executor and tells the policy they were dropped.
    // With policy_mutex_ held.
    std::vector<MigrationExecutor::Submitted> withdraw_locked(std::uint64_t now);
    // Where the order's extent is now; nullopt if the order is not this LUN's or its extent is
    // past the LUN's end.
    std::optional<ExtentPlace> place_of(const MigrationOrder& order) const;
    // Whether the order could start now, its room aside: the LUN's, the extent where it says,
    // not pinned elsewhere (Admission::never_startable).
    bool startable(const MigrationOrder& order) const;
    // Notes which tier served `event` (for the measurements), if it touched one extent and the
    // measurements count it (LunMeasurements::counts). Rounds thread.
    void note_served(const IoEvent& event);
    // Hands what note_served() noted since the last round to the measurements, each command
    // to the tier where its extent was when it completed. Under mutex_.
    void measure_served_locked();
    // The channel to tell the policy now, if it is to be told (see the top of this file). With
    // policy_mutex_ held.
    std::optional<ChannelSpec> channel_to_tell();
    // Sets stats_.last_round from what the last planned round's orders did (`waited`: how many
    // of them the budget never granted), once; mutex_ held.
    void settle_outcome_locked(std::size_t waited);
    // The round moves nothing: this gateway may not move the LUN's extents now.
    void not_owner_round();
    // Counts (deferred_bandwidth) and logs the orders the budget did not grant within the round
    // that planned them.
    void waited_for_budget(const std::vector<MigrationOrder>& orders);

    LunStorage& storage_;
    std::vector<TierSpec> specs_;
    std::unique_ptr<PlacementPolicy> policy_;
    LunRoundsOptions options_;
    const std::chrono::steady_clock::time_point epoch_;

    EventRing ring_;
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<bool> paused_{false};
    std::atomic<bool> stop_requested_{false};  // stop() called: the round ends early

    // Round state: touched by the rounds only (one at a time), except under mutex_ for readers.
    const bool own_executor_;  // options_.executor was null
    const std::shared_ptr<MigrationExecutor> executor_;
    const std::shared_ptr<GatewayBudget> budget_;  // executor_'s
    mutable std::mutex mutex_;
    LunRoundsStats stats_;
    // What the orders of the last round that submitted any did, until it is settled.
    struct {
        std::size_t moved = 0, failed = 0, refused = 0;
    } submitted_;
    bool outcome_pending_ = false;
    // Made with the first record (a std::deque allocates its first block when constructed: an
    // idle LUN that never migrates holds none).
    std::optional<std::deque<MigrationRecord>> history_;
    PinTable pins_;        // under mutex_
    Admission admission_;  // under mutex_
    // Held by a round while it uses the policy, and by inspect().
    mutable std::mutex policy_mutex_;

    std::function<void()> round_hook_;     // set before start()
    std::atomic<std::uint64_t> round_us_;  // options_.round_us, or what replace_policy set
    std::uint64_t next_sample_us_ = 0;
    std::uint64_t placement_epoch_ = 0;        // the storage's, at the last count (rounds)
    std::optional<ResourceSample> resources_;  // under mutex_
    std::optional<TenantRoom> tenant_room_;    // under mutex_
    LunMeasurements measured_;                 // under mutex_
    // A migration carried out: its extent, where from, and when it ended.
    struct Moved {
        ExtentIndex extent;
        TierId from;
        std::uint64_t at_us;
    };
    std::vector<Moved> moved_;  // under mutex_: since the last round measured its commands
    // A command of one extent that note_served() noted: the tier the storage said then.
    struct Served {
        ExtentIndex extent;
        TierId tier;
        IoOp op;
        std::uint32_t latency_us;
        std::uint64_t time_us;
    };
    std::vector<Served> served_;               // rounds only
    std::optional<ChannelSpec> told_channel_;  // under policy_mutex_: what the policy was told

    std::mutex registration_mutex_;
    std::shared_ptr<RoundDriver> driver_;          // from the first start() on
    std::optional<RoundDriver::Id> registration_;  // under registration_mutex_, while started
};

}  // namespace rbdtier
