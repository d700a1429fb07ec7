#include "engine/admission.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <limits>
#include <utility>

namespace rbdtier {

std::string_view refusal_name(Refusal refusal) {
    switch (refusal) {
        case Refusal::kNone:
            return "admitted";
        case Refusal::kInvalid:
            return "invalid";
        case Refusal::kStale:
            return "stale";
        case Refusal::kPinned:
            return "pinned";
        case Refusal::kHysteresis:
            return "hysteresis";
        case Refusal::kCapacity:
            return "capacity";
        case Refusal::kPoolFull:
            return "pool full";
        case Refusal::kQuota:
            return "quota";
        case Refusal::kBudget:
            return "budget";
        case Refusal::kConcurrency:
            return "concurrency";
    }
    return "unknown";
}

// --- Hysteresis ---

void Hysteresis::moved(ExtentKey key, std::uint64_t now_us) {
    last_moved_[key] = now_us;
    early_.erase(key);
}

bool Hysteresis::settled(ExtentKey key, std::uint64_t now_us) const {
    auto it = last_moved_.find(key);
    if (it == last_moved_.end()) return true;
    return it->second + window_us_ <= now_us || early_.count(key) != 0;
}

void Hysteresis::prune(std::uint64_t now_us, std::size_t keep) {
    if (last_moved_.size() <= keep) return;
    for (auto it = last_moved_.begin(); it != last_moved_.end();) {
        if (it->second + window_us_ <= now_us) {
            early_.erase(it->first);
            it = last_moved_.erase(it);
        } else {
            ++it;
        }
    }
}

// --- Room ---

Refusal Room::refusal(std::uint64_t bytes) const {
    if (!capacity_fits(bytes)) return Refusal::kCapacity;
    if (pool_full) return Refusal::kPoolFull;
    if (!quota_fits(bytes)) return Refusal::kQuota;
    return Refusal::kNone;
}

// --- PlanningLedger ---

void PlanningLedger::set_tier(TierId tier, std::uint64_t capacity_bytes, std::uint64_t used_bytes) {
    if (tier >= tiers_.size()) tiers_.resize(tier + std::size_t{1});
    const bool unlimited = capacity_bytes == std::numeric_limits<std::uint64_t>::max();
    tiers_[tier] = Tier{unlimited ? 0 : capacity_bytes, used_bytes};
}

void PlanningLedger::set_quota(TenantIndex tenant, TierId tier,
                               std::optional<std::uint64_t> quota_bytes, std::uint64_t held_bytes) {
    if (!quota_bytes || *quota_bytes == std::numeric_limits<std::uint64_t>::max()) {
        quotas_.erase(quota_key(tenant, tier));
        return;
    }
    quotas_[quota_key(tenant, tier)] = Quota{*quota_bytes, held_bytes};
}

void PlanningLedger::in_flight(TenantIndex tenant, TierId to, TierId home) {
    if (to == home) return;
    if (const auto it = quotas_.find(quota_key(tenant, to)); it != quotas_.end())
        it->second.held += extent_bytes_;
}

Room PlanningLedger::room(TenantIndex tenant, TierId to, TierId home) const {
    Room room;
    room.home = to == home;
    if (to < tiers_.size()) {
        room.capacity_bytes = tiers_[to].capacity;
        room.used_bytes = tiers_[to].used;
    }
    if (const auto it = quotas_.find(quota_key(tenant, to)); it != quotas_.end()) {
        const Quota& q = it->second;
        room.tenant_room = q.held >= q.quota ? 0 : q.quota - q.held;
    }
    return room;
}

void PlanningLedger::reserve(TenantIndex tenant, TierId to, TierId home) {
    if (to == home) return;
    if (to < tiers_.size()) tiers_[to].used += extent_bytes_;
    in_flight(tenant, to, home);
}

// --- PinTable ---

void PinTable::cut(std::map<ExtentIndex, PinnedRange>& pins, ExtentIndex first,
                   std::uint64_t count) {
    const ExtentIndex end = first + count;
    auto it = pins.upper_bound(first);
    if (it != pins.begin()) --it;
    while (it != pins.end() && it->first < end) {
        const PinnedRange p = it->second;
        const ExtentIndex p_end = p.first + p.count;
        if (p_end <= first) {
            ++it;
            continue;
        }
        it = pins.erase(it);
        if (p.first < first) pins[p.first] = PinnedRange{p.first, first - p.first, p.tier};
        if (p_end > end) pins[end] = PinnedRange{end, p_end - end, p.tier};
    }
}

std::optional<AdmissionError> PinTable::pin(ExtentIndex first, std::uint64_t count, TierId tier) {
    if (tier >= tiers_) {
        return AdmissionError{-EINVAL, "pin to tier " + std::to_string(tier) + ": the LUN has " +
                                           std::to_string(tiers_) + " tiers"};
    }
    if (count == 0 || first >= extents_ || count > extents_ - first) {
        return AdmissionError{-EINVAL, "pin extents [" + std::to_string(first) + ", +" +
                                           std::to_string(count) + "): the LUN has " +
                                           std::to_string(extents_) + " extents"};
    }
    if (home_pinned_) {
        if (tier == home_) return std::nullopt;  // pinned there already
        return AdmissionError{-EBUSY,
                              "the LUN is pinned home whole (evacuated): release that first"};
    }
    cut(pins_, first, count);
    pins_[first] = PinnedRange{first, count, tier};
    ++pins_version_;
    return std::nullopt;
}

void PinTable::unpin(ExtentIndex first, std::uint64_t count) {
    if (count == 0) return;
    count = std::min(count, std::numeric_limits<std::uint64_t>::max() - first);
    cut(pins_, first, count);
    ++pins_version_;
}

void PinTable::replace(const std::vector<PinnedRange>& ranges,
                       std::optional<std::uint64_t> if_version) {
    if (if_version && *if_version != pins_version_) return;
    ++pins_version_;
    pins_.clear();
    if (home_pinned_) return;
    ExtentIndex next = 0;  // the first extent the next range may start at
    for (const PinnedRange& r : ranges) {
        if (r.count == 0 || r.first < next || r.first >= extents_ || r.count > extents_ - r.first ||
            r.tier >= tiers_)
            continue;
        pins_[r.first] = r;
        next = r.first + r.count;
    }
}

void PinTable::set_home_pinned(bool pinned, std::optional<std::uint64_t> if_version) {
    if (pinned == home_pinned_) return;
    if (if_version && *if_version != home_pin_version_) return;
    home_pinned_ = pinned;
    ++home_pin_version_;
    ++pins_version_;
    pins_.clear();
}

std::vector<PinnedRange> PinTable::ranges() const {
    if (home_pinned_) return {PinnedRange{0, extents_, home_}};
    std::vector<PinnedRange> out;
    out.reserve(pins_.size());
    for (const auto& [first, pin] : pins_) out.push_back(pin);
    return out;
}

std::optional<TierId> PinTable::pinned_tier(ExtentIndex extent) const {
    if (home_pinned_) return home_;
    auto it = pins_.upper_bound(extent);
    if (it == pins_.begin()) return std::nullopt;
    --it;
    if (extent < it->second.first + it->second.count) return it->second.tier;
    return std::nullopt;
}

std::vector<MigrationOrder> PinTable::with_pins(LunId lun, std::vector<MigrationOrder> planned,
                                                const std::function<TierId(ExtentIndex)>& tier_of,
                                                std::size_t most,
                                                const std::vector<TierSpec>& tiers,
                                                std::vector<MigrationOrder>* overruled) const {
    if (empty()) return planned;
    std::vector<MigrationOrder> out;
    for (const PinnedRange& p : ranges()) {
        const ExtentIndex end = std::min<ExtentIndex>(p.first + p.count, extents_);
        for (ExtentIndex e = p.first; e < end && out.size() < most; ++e) {
            const TierId now = tier_of(e);
            if (now == p.tier) continue;
            MigrationOrder o;
            o.lun = lun;
            o.extent = e;
            o.from = now;
            o.to = p.tier;
            o.reason = "pinned to " + (p.tier < tiers.size() ? tiers[p.tier].name
                                                             : "tier " + std::to_string(p.tier));
            out.push_back(std::move(o));
        }
    }
    for (MigrationOrder& o : planned) {
        if (!pinned_tier(o.extent))
            out.push_back(std::move(o));
        else if (overruled != nullptr)
            overruled->push_back(std::move(o));
    }
    return out;
}

// --- Admission ---

Admission::Admission(AdmissionConfig config, std::vector<std::uint64_t> capacity_bytes)
    : config_(std::move(config)),
      ledger_(config_.tenants ? std::move(config_.tenants) : std::make_shared<TenantLedger>()),
      capacity_(std::move(capacity_bytes)),
      used_(capacity_.size(), 0),
      pool_full_(capacity_.size(), false),
      hysteresis_(config_.hysteresis_us) {}

Admission::~Admission() {
    if (!ledger_) return;  // moved from
    for (const auto& [lun, member] : members_) ledger_->leave(member);
}

Admission::Admission(Admission&& other) noexcept
    : config_(std::move(other.config_)),
      ledger_(std::move(other.ledger_)),
      capacity_(std::move(other.capacity_)),
      used_(std::move(other.used_)),
      pool_full_(std::move(other.pool_full_)),
      members_(std::exchange(other.members_, {})),
      lun_used_(std::move(other.lun_used_)),
      in_flight_(std::move(other.in_flight_)),
      hysteresis_(std::move(other.hysteresis_)) {}

std::string Admission::pool(TierId tier) const {
    if (tier < config_.pools.size() && !config_.pools[tier].empty()) return config_.pools[tier];
    return "tier " + std::to_string(tier);
}

TenantLedger::Member Admission::member_of(LunId lun) const {
    const auto it = members_.find(lun);
    return it == members_.end() ? 0 : it->second;
}

TenantLedger::Holdings Admission::holdings_of(LunId lun) const {
    TenantLedger::Holdings out;
    const auto it = lun_used_.find(lun);
    if (it == lun_used_.end()) return out;
    for (std::size_t t = 0; t < it->second.size(); ++t)
        if (it->second[t] != 0) out[pool(static_cast<TierId>(t))] += it->second[t];
    return out;
}

void Admission::set_tenant(LunId lun, const std::string& tenant, const std::string& name) {
    if (const TenantLedger::Member old = member_of(lun); old != 0) ledger_->leave(old);
    const TenantLedger::Member member = ledger_->join(tenant, name);
    members_[lun] = member;
    ledger_->set_holdings(member, holdings_of(lun));
}

void Admission::set_quota(const std::string& tenant, TierId tier,
                          std::optional<std::uint64_t> quota_bytes) {
    if (tier >= capacity_.size()) return;
    ledger_->set_quota(tenant, pool(tier), quota_bytes);
}

void Admission::set_pool_full(TierId tier, bool full) {
    if (tier < pool_full_.size()) pool_full_[tier] = full;
}

std::uint64_t Admission::tenant_used(const std::string& tenant, TierId tier) const {
    return ledger_->held(tenant, pool(tier));
}

bool Admission::count(LunId lun, TierId tier, int sign) {
    if (tier >= used_.size()) return false;
    const std::uint64_t bytes = config_.extent_bytes;
    std::vector<std::uint64_t>& held = lun_used_[lun];
    held.resize(capacity_.size(), 0);
    if (sign > 0) {
        used_[tier] += bytes;
        held[tier] += bytes;
        return true;
    }
    if (used_[tier] < bytes) return false;
    used_[tier] -= bytes;
    held[tier] -= std::min(held[tier], bytes);
    return true;
}

void Admission::place(LunId lun, TierId tier, TierId home) {
    if (tier == home || !count(lun, tier, +1)) return;
    if (const TenantLedger::Member member = member_of(lun); member != 0)
        ledger_->add(member, pool(tier), config_.extent_bytes);
}

void Admission::replace_placement(LunId lun, TierId home,
                                  std::span<const std::uint64_t> extents_in_tier) {
    const std::size_t tiers = capacity_.size();
    // What the LUN's migrations in flight reserved stays on top of its placement.
    std::vector<std::uint64_t> next(tiers, 0);
    for (const auto& [key, to] : in_flight_)
        if (key_lun(key) == lun && to != home && to < tiers) next[to] += config_.extent_bytes;
    for (std::size_t t = 0; t < tiers && t < extents_in_tier.size(); ++t)
        if (t != home) next[t] += extents_in_tier[t] * config_.extent_bytes;
    std::vector<std::uint64_t>& held = lun_used_[lun];
    held.resize(tiers, 0);
    // Each tier's total moves by the difference; counts never go below zero.
    for (std::size_t t = 0; t < tiers; ++t) {
        used_[t] = next[t] >= held[t] ? used_[t] + (next[t] - held[t])
                                      : used_[t] - std::min(used_[t], held[t] - next[t]);
        held[t] = next[t];
    }
    if (const TenantLedger::Member member = member_of(lun); member != 0)
        ledger_->set_holdings(member, holdings_of(lun));
}

Refusal Admission::never_startable(const MigrationOrder& order, const ExtentPlace& place,
                                   const PinTable* pins) const {
    const std::size_t tiers = capacity_.size();
    if (order.to >= tiers || order.from >= tiers || order.to == order.from)
        return Refusal::kInvalid;
    if (place.current != order.from || place.in_flight ||
        in_flight_.count(make_extent_key(order.lun, order.extent)) != 0)
        return Refusal::kStale;
    if (pins != nullptr) {
        if (auto tier = pins->pinned_tier(order.extent); tier && *tier != order.to)
            return Refusal::kPinned;
    }
    return Refusal::kNone;
}

Refusal Admission::check(const MigrationOrder& order, const ExtentPlace& place,
                         std::uint64_t now_us, const PinTable* pins) const {
    if (const Refusal r = never_startable(order, place, pins); r != Refusal::kNone) return r;
    if (!hysteresis_.settled(make_extent_key(order.lun, order.extent), now_us))
        return Refusal::kHysteresis;
    return room(order.lun, order.to, place.home).refusal(config_.extent_bytes);
}

Room Admission::room(LunId lun, TierId to, TierId home) const {
    Room room;
    room.home = to == home;
    if (to >= capacity_.size()) return room;
    room.capacity_bytes = capacity_[to];
    room.used_bytes = used_[to];
    room.pool_full = pool_full_[to];
    if (const TenantLedger::Member member = member_of(lun); member != 0 && !room.home)
        room.tenant_room = ledger_->room(member, pool(to));
    return room;
}

Refusal Admission::admit(const MigrationOrder& order, const ExtentPlace& place,
                         std::uint64_t now_us, const PinTable* pins) {
    const Refusal r = check(order, place, now_us, pins);
    if (r != Refusal::kNone) return r;
    if (order.to != place.home) {
        // Checked and reserved in one step: another LUN of the tenant may have taken the room
        // since check().
        if (const TenantLedger::Member member = member_of(order.lun);
            member != 0 && !ledger_->reserve(member, pool(order.to), config_.extent_bytes))
            return Refusal::kQuota;
        count(order.lun, order.to, +1);
    }
    in_flight_.emplace(make_extent_key(order.lun, order.extent), order.to);
    return r;
}

bool Admission::completed(const MigrationOrder& order, TierId home, std::uint64_t now_us) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    in_flight_.erase(key);
    hysteresis_.moved(key, now_us);
    hysteresis_.prune(now_us);
    if (order.from == home) return true;
    bool held = count(order.lun, order.from, -1);
    if (const TenantLedger::Member member = member_of(order.lun); member != 0)
        held = ledger_->release(member, pool(order.from), config_.extent_bytes) && held;
    return held;
}

void Admission::abandoned(const MigrationOrder& order, TierId home) {
    if (in_flight_.erase(make_extent_key(order.lun, order.extent)) == 0 || order.to == home) return;
    count(order.lun, order.to, -1);
    if (const TenantLedger::Member member = member_of(order.lun); member != 0)
        ledger_->release(member, pool(order.to), config_.extent_bytes);
}

AdmittedRound Admission::admit_round(
    std::span<const MigrationOrder> proposed,
    const std::function<ExtentPlace(const MigrationOrder&)>& place_of, std::uint64_t now_us,
    double budget_bytes, std::size_t free_slots,
    const std::function<const PinTable*(LunId)>& pins_of) {
    AdmittedRound round;
    const double bytes = static_cast<double>(config_.extent_bytes);
    for (const MigrationOrder& order : proposed) {
        Refusal r = Refusal::kNone;
        if (budget_bytes < bytes) {
            r = Refusal::kBudget;
        } else if (free_slots == 0) {
            r = Refusal::kConcurrency;
        } else {
            const PinTable* pins = pins_of ? pins_of(order.lun) : nullptr;
            r = admit(order, place_of(order), now_us, pins);
        }
        if (r != Refusal::kNone) {
            round.refused.emplace_back(order, r);
            continue;
        }
        budget_bytes -= bytes;
        --free_slots;
        round.admitted.push_back(order);
    }
    return round;
}

std::vector<TierSpec> Admission::effective_tiers(std::vector<TierSpec> tiers, LunId lun,
                                                 TierId home) const {
    for (std::size_t t = 0; t < tiers.size() && t < capacity_.size(); ++t) {
        if (t == home) continue;
        const Room r = room(lun, static_cast<TierId>(t), home);
        std::optional<std::uint64_t> limit;
        if (r.pool_full) limit = r.used_bytes;
        if (r.tenant_room) {
            limit = std::min(limit.value_or(std::numeric_limits<std::uint64_t>::max()),
                             r.used_bytes + *r.tenant_room);
        }
        if (!limit) continue;
        // capacity 0 means unlimited: a tier with no room at all shows one byte.
        const std::uint64_t cap = std::max<std::uint64_t>(*limit, 1);
        tiers[t].capacity_bytes = tighter_capacity(tiers[t].capacity_bytes, cap);
    }
    return tiers;
}

}  // namespace rbdtier
