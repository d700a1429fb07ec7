// Admission: the one rule that decides whether a proposed migration may start.
//
// Policies propose migrations (engine/placement_policy.h); executors carry them out: a live LUN's
// rounds (engine/lun_rounds.h) and the replay simulator in engine/replay/. Both ask this component,
// at the moment an order would start, whether it may, so a replay runs the gateway's own decisions.
// A planner that respects the limits when it proposes (the forecast engine's scheduler,
// engine/scheduler.h) counts them with the same code: Room is the rule of capacity, full pool and
// quota for one destination, read from whatever books its caller keeps; the Admission builds one
// per order from its counts and the tenant ledger, a PlanningLedger one per destination a round
// considers, from the executor's counts and the planner's orders in flight; both judge
// settledness with a Hysteresis ledger. So a planner never proposes for lack of a limit what the
// admission refuses, nor holds back what it admits, in the same state.
//
// An order is checked in this order, the first failing rule giving the refusal:
//  1. invalid:     a tier id out of range, or from == to;
//  2. stale:       the extent is not in `from` (any more), or a migration of it is in flight;
//  3. pinned:      the LUN's PinTable puts the extent in another tier (pins win over policies);
//  4. hysteresis:  the extent completed a move less than hysteresis_us ago (unless released
//                  early); 0 disables the rule;
//  5. capacity:    the destination, unless it is the extent's home, would hold more than its
//                  capacity_bytes of extents away from their home (0 = unlimited);
//  6. pool full:   the destination's pool is full (any destination, home included: nothing is
//                  written into a full pool);
//  7. quota:       the destination, unless it is home, would hold more of the LUN's tenant than
//                  the tenant's quota there: what the tenant holds in the destination's pool in
//                  the gateway's TenantLedger (engine/tenant_ledger.h: all its LUNs of the
//                  gateway, reservations included, plus what its LUNs of other gateways hold, as
//                  measured on the cluster);
//  8. budget and concurrency (admit_round only): one extent of budget bytes and one free slot
//     per admitted order; executors that wait for tokens over time (a TokenBucket, a
//     MigrationChannel) check those themselves and ask admit() per order.
// Admitting reserves the destination (capacity and quota count it from the start); the source is
// freed only when the migration completes (completed()); a migration that was admitted but did
// not move gives its reservation back (abandoned()). Capacities and quotas count only extents
// away from their home, as TierSpec and TenantModel do. When a LUN's placement changes by
// another hand than the executor's admitted orders (another gateway moved its extents, a map
// reload), replace_placement() sets what the ledger holds of it from the new placement.
// Tenants: set_tenant() makes a LUN a member of its tenant in the TenantLedger the admission is
// given (AdmissionConfig::tenants: the gateway's, shared by the admissions of all its LUNs; null:
// one of its own, as a replay has), which keeps the tenant's holdings by pool name
// (AdmissionConfig::pools) and checks and reserves quota in one step; the admission's LUNs leave
// that ledger when it is destroyed.
// Everything is deterministic: no clock is read (times are the caller's), no hash order shows.
// Not thread-safe: the executor serializes calls (the live tiering under its mutex); the tenant
// ledger it shares is thread-safe on its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/extent_key.h"
#include "engine/placement_policy.h"
#include "engine/tenant.h"
#include "engine/tenant_ledger.h"

namespace rbdtier {

enum class Refusal : std::uint8_t {
    kNone = 0,  // admitted
    kInvalid,
    kStale,
    kPinned,
    kHysteresis,
    kCapacity,
    kPoolFull,
    kQuota,
    kBudget,
    kConcurrency,
};

// "invalid", "stale", "pinned", ... ("admitted" for kNone).
std::string_view refusal_name(Refusal refusal);

// Hysteresis: when each extent last completed a move, and which may leave early (feedback found
// the promotion wasted). settled() is true once `window_us` has passed since the last move.
class Hysteresis {
public:
    explicit Hysteresis(std::uint64_t window_us = 0) : window_us_(window_us) {}

    void moved(ExtentKey key, std::uint64_t now_us);
    void release_early(ExtentKey key) { early_.insert(key); }
    bool settled(ExtentKey key, std::uint64_t now_us) const;
    // Forgets extents settled at `now_us` once more than `keep` are remembered.
    void prune(std::uint64_t now_us, std::size_t keep = 4096);
    std::uint64_t window_us() const { return window_us_; }

private:
    std::uint64_t window_us_;
    std::unordered_map<ExtentKey, std::uint64_t> last_moved_;  // key -> completion time
    std::unordered_set<ExtentKey> early_;
};

// Room: what one destination tier offers an order moving one more extent there, under rules 5-7
// above, from the numbers its caller keeps. A move to the extent's home needs no room: capacities
// and quotas count only extents away from their home (a full pool still refuses it). Plain value.
struct Room {
    bool home = false;                 // the destination is the extent's home
    std::uint64_t capacity_bytes = 0;  // what the tier may hold away from home; 0: unlimited
    std::uint64_t used_bytes = 0;      // what it holds away from home, reservations included
    bool pool_full = false;
    std::optional<std::uint64_t> tenant_room;  // what the tenant may still add; nullopt: no quota

    bool capacity_fits(std::uint64_t bytes) const {
        return home || capacity_bytes == 0 || used_bytes + bytes <= capacity_bytes;
    }
    bool quota_fits(std::uint64_t bytes) const {
        return home || !tenant_room || bytes <= *tenant_room;
    }
    // The first of kCapacity, kPoolFull and kQuota that refuses `bytes` more; kNone: they fit.
    Refusal refusal(std::uint64_t bytes) const;
};

// PlanningLedger: the room a planner sees in one round, counted as the admission counts it. Per
// tier: its capacity for extents away from their home and what they hold there, reservations of
// admitted migrations included (the executor's count, Admission::used()); per tenant and tier
// with a quota: the quota and what the tenant's extents away from home hold there as the
// placement says, plus the destinations of the planner's orders still in flight (in_flight()),
// which the admission reserved or will reserve when they start. reserve() counts an order the
// planner proposes this round against both; its source is freed only when the migration
// completes, in a later round's ledger. Settledness is the planner's Hysteresis ledger's.
// Not thread-safe; one per round (it refers to the Hysteresis it was given).
class PlanningLedger {
public:
    PlanningLedger(std::uint64_t extent_bytes, const Hysteresis& hysteresis)
        : extent_bytes_(extent_bytes), hysteresis_(&hysteresis) {}

    // Tier `tier` may hold `capacity_bytes` of extents away from their home (0 or UINT64_MAX:
    // unlimited) and holds `used_bytes` of them.
    void set_tier(TierId tier, std::uint64_t capacity_bytes, std::uint64_t used_bytes);
    // Tenant `tenant` may hold `quota_bytes` on `tier` (nullopt or UINT64_MAX: no quota) and its
    // extents away from home hold `held_bytes` there, migrations in flight not included.
    void set_quota(TenantIndex tenant, TierId tier, std::optional<std::uint64_t> quota_bytes,
                   std::uint64_t held_bytes);
    // A migration of the tenant's proposed in an earlier round, not completed, bound for `to`
    // (its extent's home `home`): its destination counts against the tenant's quota there.
    void in_flight(TenantIndex tenant, TierId to, TierId home);

    bool settled(ExtentKey key, std::uint64_t now_us) const {
        return hysteresis_->settled(key, now_us);
    }
    // What `to` offers one extent of the tenant's whose home is `home`.
    Room room(TenantIndex tenant, TierId to, TierId home) const;
    // Whether one more extent fits there, capacity and quota.
    bool fits(TenantIndex tenant, TierId to, TierId home) const {
        return room(tenant, to, home).refusal(extent_bytes_) == Refusal::kNone;
    }
    // The planner proposes moving one extent of the tenant's to `to` (home `home`).
    void reserve(TenantIndex tenant, TierId to, TierId home);

private:
    struct Tier {
        std::uint64_t capacity = 0;  // 0: unlimited
        std::uint64_t used = 0;
    };
    struct Quota {
        std::uint64_t quota = 0;
        std::uint64_t held = 0;
    };
    static std::uint64_t quota_key(TenantIndex tenant, TierId tier) {
        return (static_cast<std::uint64_t>(tenant) << 16) | tier;
    }

    std::uint64_t extent_bytes_;
    const Hysteresis* hysteresis_;
    std::vector<Tier> tiers_;                          // by tier id
    std::unordered_map<std::uint64_t, Quota> quotas_;  // by (tenant, tier)
};

// Extents [first, first+count) pinned to `tier`.
struct PinnedRange {
    ExtentIndex first = 0;
    std::uint64_t count = 0;
    TierId tier = 0;
    bool operator==(const PinnedRange&) const = default;
};

// A refusal a person can act on: an errno value (negative) and why.
struct AdmissionError {
    int code = 0;
    std::string message;
};

// The pins of one LUN of `extents` extents with `tiers` tiers (home is tier `home`), set by
// admins. A pin replaces what it overlaps. The home pin (the LUN taken out of tiering) pins every
// extent home, replaces every pin and refuses pins elsewhere until it is released; each change of
// it bumps home_pin_version(), each change of the other pins (pin, unpin, replace) pins_version().
// Not thread-safe.
class PinTable {
public:
    PinTable(std::uint64_t extents, std::size_t tiers, TierId home = 0)
        : extents_(extents), tiers_(tiers), home_(home) {}

    // Refuses (-EINVAL) a tier out of range or an empty or out-of-LUN range, (-EBUSY) a pin
    // away from home while the LUN is pinned home.
    std::optional<AdmissionError> pin(ExtentIndex first, std::uint64_t count, TierId tier);
    // Releases [first, first+count) (parts of pins outside it stay; not the home pin).
    void unpin(ExtentIndex first, std::uint64_t count);
    // Replaces every pin but the home pin with `ranges` (ascending, apart, within the LUN and
    // its tiers: those that are not are left out); while the LUN is pinned home, with none. Given
    // `if_version`, changes nothing unless pins_version() is still that one.
    void replace(const std::vector<PinnedRange>& ranges,
                 std::optional<std::uint64_t> if_version = std::nullopt);
    std::uint64_t pins_version() const { return pins_version_; }
    // The LUN now has `extents` extents (a resize); never shrinks. The home pin covers the
    // extents added; other pins stay as they are.
    void grow(std::uint64_t extents) { extents_ = std::max(extents_, extents); }
    std::uint64_t extents() const { return extents_; }
    // Sets or releases the home pin; given `if_version`, changes nothing unless the version is
    // still that one.
    void set_home_pinned(bool pinned, std::optional<std::uint64_t> if_version = std::nullopt);
    bool home_pinned() const { return home_pinned_; }
    std::uint64_t home_pin_version() const { return home_pin_version_; }
    // By first extent, never overlapping; the home pin shows as the whole LUN pinned home.
    std::vector<PinnedRange> ranges() const;
    // The tier `extent` is pinned to, if it is.
    std::optional<TierId> pinned_tier(ExtentIndex extent) const;
    bool empty() const { return !home_pinned_ && pins_.empty(); }

    // The round's orders with pins applied: first orders that bring pinned extents of LUN `lun`
    // to their tier from where `tier_of` says they are (at most `most` of them, reason "pinned
    // to <tier name>"), then `planned` without its orders for pinned extents (those go to
    // `overruled`, if given).
    std::vector<MigrationOrder> with_pins(LunId lun, std::vector<MigrationOrder> planned,
                                          const std::function<TierId(ExtentIndex)>& tier_of,
                                          std::size_t most, const std::vector<TierSpec>& tiers,
                                          std::vector<MigrationOrder>* overruled = nullptr) const;

private:
    static void cut(std::map<ExtentIndex, PinnedRange>& pins, ExtentIndex first,
                    std::uint64_t count);

    std::uint64_t extents_;
    std::size_t tiers_;
    TierId home_;
    std::map<ExtentIndex, PinnedRange> pins_;  // by first extent
    bool home_pinned_ = false;
    std::uint64_t home_pin_version_ = 0;
    std::uint64_t pins_version_ = 0;
};

// Where the executor says an order's extent is now.
struct ExtentPlace {
    TierId current = 0;
    TierId home = 0;
    bool in_flight = false;
};

struct AdmissionConfig {
    std::uint64_t extent_bytes = 4ull << 20;
    std::uint64_t hysteresis_us = 0;  // 0: no hysteresis at admission
    // Per tier id: its pool's name, the tenant ledger's key (a tier without one: "tier <id>").
    std::vector<std::string> pools;
    // What each tenant holds per pool: the gateway's ledger (null: one of the admission's own).
    std::shared_ptr<TenantLedger> tenants;
};

// The orders of a round that were admitted, in their proposed order, and the others with why.
struct AdmittedRound {
    std::vector<MigrationOrder> admitted;
    std::vector<std::pair<MigrationOrder, Refusal>> refused;  // in proposed order
};

class Admission {
public:
    // capacity_bytes[t]: what tier t may hold of extents away from their home (0 = unlimited).
    Admission(AdmissionConfig config, std::vector<std::uint64_t> capacity_bytes);
    // Its LUNs leave the tenant ledger.
    ~Admission();
    Admission(Admission&& other) noexcept;
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;
    Admission& operator=(Admission&&) = delete;

    // The LUN joins its tenant in the tenant ledger (a LUN without one has no quota), with what
    // the admission holds of it; `name` is how the tenant's measurements name the LUN
    // (TenantLedger::set_measured). Once per LUN: a later call moves it to `tenant`.
    void set_tenant(LunId lun, const std::string& tenant, const std::string& name = "");
    // The tenant's quota on `tier`'s pool (nullopt: none), in the tenant ledger.
    void set_quota(const std::string& tenant, TierId tier,
                   std::optional<std::uint64_t> quota_bytes);
    TenantLedger& tenants() const { return *ledger_; }
    // The pool of `tier`, as the tenant ledger names it.
    std::string pool(TierId tier) const;
    void set_pool_full(TierId tier, bool full);
    bool pool_full(TierId tier) const { return tier < pool_full_.size() && pool_full_[tier]; }

    // Accounts one extent of `lun` found in `tier` (before any migration; no-op at home).
    void place(LunId lun, TierId tier, TierId home);
    // What the ledger holds of `lun` becomes `extents_in_tier[t]` extents in each tier t (its
    // home `home` not counted; tiers beyond capacity_bytes ignored), as a placement changed by
    // another hand says: its admitted migrations still in flight keep their reservations, the
    // other LUNs' holdings and the hysteresis stay.
    void replace_placement(LunId lun, TierId home, std::span<const std::uint64_t> extents_in_tier);

    // The first of rules 1-3 `order` breaks: kInvalid, kStale or kPinned, an order that cannot
    // start as it was planned (an executor drops it rather than count it refused); kNone: none
    // (the other rules may still refuse it). Changes nothing.
    Refusal never_startable(const MigrationOrder& order, const ExtentPlace& place,
                            const PinTable* pins = nullptr) const;
    // The first rule `order` breaks at `now_us` (kNone: it may start); changes nothing.
    Refusal check(const MigrationOrder& order, const ExtentPlace& place, std::uint64_t now_us,
                  const PinTable* pins = nullptr) const;
    // check(), and if admitted, reserves the destination.
    Refusal admit(const MigrationOrder& order, const ExtentPlace& place, std::uint64_t now_us,
                  const PinTable* pins = nullptr);
    // An admitted migration moved the extent at `now_us`: frees the source, starts the
    // hysteresis window. False if the ledger held nothing of the source (an executor bug).
    bool completed(const MigrationOrder& order, TierId home, std::uint64_t now_us);
    // An admitted migration did not move: its destination reservation is given back.
    void abandoned(const MigrationOrder& order, TierId home);
    // Feedback: the extent may leave before its hysteresis window ends.
    void release_early(LunId lun, ExtentIndex extent) {
        hysteresis_.release_early(make_extent_key(lun, extent));
    }

    // Admits `proposed` in order, each against the state the previous admissions left, within
    // `budget_bytes` (one extent each) and `free_slots` migrations; `place_of` says where each
    // order's extent is, `pins_of` (may be null, or return null) the pins of its LUN.
    AdmittedRound admit_round(std::span<const MigrationOrder> proposed,
                              const std::function<ExtentPlace(const MigrationOrder&)>& place_of,
                              std::uint64_t now_us, double budget_bytes, std::size_t free_slots,
                              const std::function<const PinTable*(LunId)>& pins_of = {});

    // What `to` offers one more extent of `lun`, whose home is `home`: rules 5-7 of check().
    Room room(LunId lun, TierId to, TierId home) const;

    // `tiers` with capacity_bytes lowered to what LUN `lun` (home `home`) may still reach: a
    // full pool keeps what the ledger holds there, a quota what the tenant may add; a tier with
    // no room shows one byte (0 means unlimited).
    std::vector<TierSpec> effective_tiers(std::vector<TierSpec> tiers, LunId lun,
                                          TierId home) const;

    // Bytes of extents away from their home in `tier`, reserved ones included.
    std::uint64_t used(TierId tier) const { return tier < used_.size() ? used_[tier] : 0; }
    // Bytes of the tenant's LUNs in `tier`'s pool in the tenant ledger (not those measured
    // outside it).
    std::uint64_t tenant_used(const std::string& tenant, TierId tier) const;
    std::uint64_t extent_bytes() const { return config_.extent_bytes; }

private:
    // The LUN's member in the tenant ledger (0: none).
    TenantLedger::Member member_of(LunId lun) const;
    // Adds (or with `sign` -1 removes) one extent of `lun` in `tier` to the capacity counts.
    bool count(LunId lun, TierId tier, int sign);
    // What the admission holds of `lun`, by pool, for the tenant ledger.
    TenantLedger::Holdings holdings_of(LunId lun) const;

    AdmissionConfig config_;
    std::shared_ptr<TenantLedger> ledger_;  // config_.tenants, or one of its own
    std::vector<std::uint64_t> capacity_;
    std::vector<std::uint64_t> used_;
    std::vector<bool> pool_full_;
    std::unordered_map<LunId, TenantLedger::Member> members_;
    // Per LUN, per tier: its bytes away from home here (reservations included).
    std::unordered_map<LunId, std::vector<std::uint64_t>> lun_used_;
    // Admitted, not completed or abandoned: the extent and its destination.
    std::unordered_map<ExtentKey, TierId> in_flight_;
    Hysteresis hysteresis_;
};

}  // namespace rbdtier
