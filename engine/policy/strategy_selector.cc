#include "engine/policy/strategy_selector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "engine/admission.h"

namespace rbdtier {

GhostPlacement::GhostPlacement(std::unique_ptr<PlacementPolicy> policy, ChannelSpec channel)
    : policy_(std::move(policy)), spec_(channel), extent_bytes_(channel.extent_bytes) {}

MigrationChannel::Owner GhostPlacement::owner() {
    return {[this](const MigrationOrder& o, std::uint64_t) { return admit(o); },
            [this](const MigrationOrder& o, std::uint64_t t) { policy_->dropped(o, t); },
            [this](const MigrationChannel::Flight& f) { complete(f.order, f.finish_us); }};
}

TierId GhostPlacement::home_or_default(LunId lun) const {
    auto it = homes_.find(lun);
    return it == homes_.end() ? default_home_ : it->second;
}

TierId GhostPlacement::tier_of(LunId lun, ExtentIndex extent) const {
    auto it = extents_.find(make_extent_key(lun, extent));
    return it == extents_.end() ? home_or_default(lun) : it->second.tier;
}

TierId GhostPlacement::home_tier(LunId lun) const {
    return home_or_default(lun);
}

std::uint64_t GhostPlacement::used_bytes(TierId tier) const {
    return tier < used_.size() ? used_[tier] : 0;
}

double lead_beyond_noise(double spread, double scale, double error) {
    // Robbins' normal mixture over the rate of exp(rate * lead - rate² * spread / 2), a
    // supermartingale when each difference is as likely either way, with a normal of variance
    // 1/scale over the rate: its value sqrt(scale / (spread + scale)) * exp(lead² / (2 (spread +
    // scale))) exceeds 1/error at any round with a chance of at most `error` (Ville).
    const double v = std::max(spread, 0.0) + std::max(scale, 1.0);
    return std::sqrt(v * (std::log(v / std::max(scale, 1.0)) - 2.0 * std::log(error)));
}

double modelled_service_us(const IoEvent& io, const PlacementView& placement) {
    const std::uint64_t extent_bytes = placement.extent_bytes();
    const auto& tiers = placement.tiers();
    if (extent_bytes == 0) return 0;
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes;
    double latency = 0;
    for (std::uint64_t e = first; e <= last; ++e) {
        const TierId t = placement.tier_of(io.lun, e);
        if (t >= tiers.size()) continue;
        const TierSpec& spec = tiers[t];
        latency =
            std::max(latency, io.op == IoOp::kRead ? spec.read_latency_us : spec.write_latency_us);
    }
    return latency;
}

double GhostPlacement::serve(const IoEvent& io) {
    if (!channel_) return 0;
    complete_until(io.time_us);
    const double latency = modelled_service_us(io, *this);
    IoEvent seen = io;
    seen.latency_us = static_cast<std::uint32_t>(std::lround(latency));
    policy_->observe(seen);
    return latency;
}

void GhostPlacement::round(std::uint64_t now_us, const PlacementView& real) {
    if (!channel_) {
        channel_.emplace(spec_, now_us);
        tiers_ = real.tiers();
        used_.assign(tiers_.size(), 0);
    }
    // The latencies as the executor knows them now (measured live); the rest as at the start.
    for (std::size_t t = 0; t < tiers_.size() && t < real.tiers().size(); ++t) {
        tiers_[t].read_latency_us = real.tiers()[t].read_latency_us;
        tiers_[t].write_latency_us = real.tiers()[t].write_latency_us;
    }
    default_home_ = real.home_tier(0);
    complete_until(now_us);
    // As a live LUN's round: the last round's orders not started are withdrawn (the policy hears
    // them dropped) before it plans, against this placement, which lists what is in flight.
    channel_->round(
        now_us, [this](const MigrationOrder& o, std::uint64_t t) { policy_->dropped(o, t); },
        [&] {
            auto orders = policy_->plan(now_us, *this);
            for (const MigrationOrder& o : orders)
                if (!homes_.count(o.lun)) homes_[o.lun] = real.home_tier(o.lun);
            return orders;
        },
        owner());
}

void GhostPlacement::migrations_in_flight(
    const std::function<void(const MigrationOrder&)>& each) const {
    if (channel_) channel_->each_held(each);
}

void GhostPlacement::set_channel(const ChannelSpec& channel, std::uint64_t now_us) {
    spec_ = channel;
    if (!channel_) return;  // made with spec_ at the first round
    complete_until(now_us);
    channel_->set_spec(channel, now_us);
}

void GhostPlacement::complete_until(std::uint64_t now_us) {
    // An idle channel (nothing queued, nothing in flight) has nothing due: advance() would only
    // move its clock, as the next replace_queue() or set_spec() does before the clock is read.
    if (channel_->in_flight() == 0 && channel_->queued() == 0) return;
    channel_->advance(now_us, owner());
}

bool GhostPlacement::admit(const MigrationOrder& order) {
    if (order.to >= tiers_.size() || order.from >= tiers_.size() || order.to == order.from)
        return false;
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    const TierId home = home_or_default(order.lun);
    auto it = extents_.find(key);
    const TierId current = it == extents_.end() ? home : it->second.tier;
    if (current != order.from || (it != extents_.end() && it->second.in_flight)) return false;
    Room room;  // the admission's rule of capacity (engine/admission.h)
    room.home = order.to == home;
    room.capacity_bytes = tiers_[order.to].capacity_bytes;
    room.used_bytes = used_[order.to];
    if (!room.capacity_fits(extent_bytes_)) return false;
    if (order.to != home) used_[order.to] += extent_bytes_;
    extents_.try_emplace(key, State{home, false}).first->second.in_flight = true;
    const TierSpec& from = tiers_[order.from];
    const TierSpec& to = tiers_[order.to];
    charges_[order.lun] +=
        migration_cost_ ? migration_cost_(from, to) : from.read_latency_us + to.write_latency_us;
    ++migrations_;
    return true;
}

std::vector<MigrationOrder> GhostPlacement::promotions_to_follow(LunId lun,
                                                                 const PlacementView& real) const {
    std::vector<MigrationOrder> out;
    const TierId home = home_or_default(lun);
    if (home >= tiers_.size()) return out;
    const double home_latency = tiers_[home].read_latency_us;
    for (const auto& [key, state] : extents_) {
        if (key_lun(key) != lun || state.tier >= tiers_.size() ||
            tiers_[state.tier].read_latency_us >= home_latency)
            continue;
        const ExtentIndex extent = key_extent(key);
        const TierId now = real.tier_of(lun, extent);
        if (now == state.tier) continue;
        MigrationOrder o;
        o.lun = lun;
        o.extent = extent;
        o.from = now;
        o.to = state.tier;
        out.push_back(std::move(o));
    }
    return out;
}

std::unordered_map<LunId, double> GhostPlacement::take_charges() {
    std::unordered_map<LunId, double> out;
    out.swap(charges_);
    return out;
}

void GhostPlacement::complete(const MigrationOrder& order, std::uint64_t now_us) {
    const TierId home = home_or_default(order.lun);
    const auto it = extents_.find(make_extent_key(order.lun, order.extent));
    if (it == extents_.end())
        throw std::logic_error("GhostPlacement: a migration completed that never started");
    if (order.from != home) used_[order.from] -= std::min(used_[order.from], extent_bytes_);
    // An extent back home needs no record: tier_of() answers home for an absent one.
    if (order.to == home) {
        extents_.erase(it);
        // Gives back the buckets of a table that held many more extents than it does now.
        if (extents_.bucket_count() > 64 && extents_.size() * 8 < extents_.bucket_count())
            extents_.rehash(0);
    } else
        it->second = State{order.to, false};
    policy_->migrated(order, now_us);
}

namespace {

// Whether `order` moves its extent to a tier with a higher read latency (a demotion).
bool to_slower_tier(const PlacementView& view, const MigrationOrder& order) {
    const auto& tiers = view.tiers();
    if (order.from >= tiers.size() || order.to >= tiers.size()) return false;
    return tiers[order.to].read_latency_us > tiers[order.from].read_latency_us;
}

// The price (µs) of one migration from `from` to `to`: `cost`'s, or one read of the source
// tier and one write of the destination.
double price_of(const GhostPlacement::MigrationCost& cost, const TierSpec& from,
                const TierSpec& to) {
    return cost ? cost(from, to) : from.read_latency_us + to.write_latency_us;
}

}  // namespace

FillOnly::FillOnly(std::string name, std::unique_ptr<PlacementPolicy> inner)
    : ForwardingPolicy(std::move(inner)), name_(std::move(name)) {}

std::vector<MigrationOrder> FillOnly::plan(std::uint64_t now_us, const PlacementView& view) {
    std::vector<MigrationOrder> kept;
    for (MigrationOrder& o : inner().plan(now_us, view)) {
        if (to_slower_tier(view, o))
            inner().dropped(o, now_us);
        else
            kept.push_back(std::move(o));
    }
    return kept;
}

// What the candidates made at the first I/O are told: the last round's tiers, usage and default
// home, and per LUN where its extents are away from home (from placement_changed() and
// migrated()), as a PlacementView.
struct StrategySelector::Deferred final : PlacementView {
    struct Lun {
        std::uint64_t now_us = 0;  // when its placement was last told
        TierId home = 0;
        std::uint64_t extents = 0;
        std::map<ExtentIndex, TierId> away;
    };
    bool planned = false;  // a round was planned
    std::vector<TierSpec> tiers_seen;
    std::vector<std::uint64_t> used;
    std::uint64_t bytes = 0;
    TierId default_home = 0;
    std::map<LunId, Lun> luns;

    TierId tier_of(LunId lun, ExtentIndex extent) const override {
        const auto it = luns.find(lun);
        if (it == luns.end()) return default_home;
        const auto away = it->second.away.find(extent);
        return away == it->second.away.end() ? it->second.home : away->second;
    }
    TierId home_tier(LunId lun) const override {
        const auto it = luns.find(lun);
        return it == luns.end() ? default_home : it->second.home;
    }
    std::uint64_t used_bytes(TierId tier) const override {
        return tier < used.size() ? used[tier] : 0;
    }
    const std::vector<TierSpec>& tiers() const override { return tiers_seen; }
    std::uint64_t extent_bytes() const override { return bytes; }
    std::uint64_t extents(LunId lun) const override {
        const auto it = luns.find(lun);
        return it == luns.end() ? 0 : it->second.extents;
    }

    // Where `lun`'s extents are now, as `view` says.
    void placement(LunId lun, std::uint64_t now_us, const PlacementView& view) {
        Lun& l = luns[lun];
        l.now_us = now_us;
        l.home = view.home_tier(lun);
        l.extents = view.extents(lun);
        l.away.clear();
        view.away_from_home(
            lun, [&](ExtentIndex e, TierId t) { l.away.emplace_hint(l.away.end(), e, t); });
    }
    // `order` moved its extent.
    void moved(const MigrationOrder& order, std::uint64_t now_us) {
        auto [it, fresh] = luns.try_emplace(order.lun);
        Lun& l = it->second;
        if (fresh) l.home = default_home;
        l.now_us = now_us;
        l.extents = std::max<std::uint64_t>(l.extents, order.extent + 1);
        if (order.to == l.home)
            l.away.erase(order.extent);
        else
            l.away[order.extent] = order.to;
    }
};

// Where the real extents are away from home, as migrated() and placement_changed() tell the
// selector, with the tiers of the last round's view: the placement the LUNs really run.
class StrategySelector::RealPlacement final : public PlacementView {
public:
    // From what was told before the first I/O.
    explicit RealPlacement(const Deferred& told)
        : tiers_(told.planned ? told.tiers_seen : std::vector<TierSpec>{}),
          extent_bytes_(told.bytes),
          default_home_(told.default_home) {
        for (const auto& [lun, l] : told.luns) {
            homes_[lun] = l.home;
            for (const auto& [extent, tier] : l.away) away_[make_extent_key(lun, extent)] = tier;
        }
    }

    TierId tier_of(LunId lun, ExtentIndex extent) const override {
        const auto it = away_.find(make_extent_key(lun, extent));
        return it == away_.end() ? home_tier(lun) : it->second;
    }
    TierId home_tier(LunId lun) const override {
        const auto it = homes_.find(lun);
        return it == homes_.end() ? default_home_ : it->second;
    }
    std::uint64_t used_bytes(TierId) const override { return 0; }  // not kept
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return extent_bytes_; }

    // A round's `view`: the tiers (their latencies now), the homes of `luns`.
    template <typename Luns>
    void round(const PlacementView& view, const Luns& luns) {
        if (tiers_ != view.tiers()) tiers_ = view.tiers();
        extent_bytes_ = view.extent_bytes();
        default_home_ = view.home_tier(0);
        for (const auto& entry : luns) homes_[entry.first] = view.home_tier(entry.first);
    }
    void moved(const MigrationOrder& order) {
        const ExtentKey key = make_extent_key(order.lun, order.extent);
        if (order.to == home_tier(order.lun))
            away_.erase(key);
        else
            away_[key] = order.to;
    }
    void placement(LunId lun, const PlacementView& view) {
        homes_[lun] = view.home_tier(lun);
        std::erase_if(away_, [lun](const auto& entry) { return key_lun(entry.first) == lun; });
        view.away_from_home(lun,
                            [&](ExtentIndex e, TierId t) { away_[make_extent_key(lun, e)] = t; });
    }

private:
    std::vector<TierSpec> tiers_;
    std::uint64_t extent_bytes_ = 0;
    TierId default_home_ = 0;
    std::unordered_map<LunId, TierId> homes_;
    std::unordered_map<ExtentKey, TierId> away_;
};

StrategySelector::StrategySelector(std::string name, const std::vector<Candidate>& candidates,
                                   ChannelSpec channel, SelectorParams params)
    : name_(std::move(name)),
      deferred_(std::make_unique<Deferred>()),
      params_(params),
      channel_(channel) {
    for (const auto& c : candidates) {
        names_.push_back(c.name);
        followable_.push_back(c.followable);
        factories_.push_back(c.make);
    }
    rounds_followed_.assign(candidates.size(), 0);
    first_ = static_cast<std::size_t>(std::find(followable_.begin(), followable_.end(), true) -
                                      followable_.begin());
    if (first_ == followable_.size())
        throw std::invalid_argument("strategy selector: no candidate may be followed");
    // Every LUN follows the first followable candidate until its first I/O: that one plans from
    // the start; the others wait for I/O to learn from (build()).
    live_.resize(candidates.size());
    live_[first_] = factories_[first_]();
    for (const std::string& reference : params_.references) {
        auto it = std::find(names_.begin(), names_.end(), reference);
        if (it == names_.end())
            throw std::invalid_argument("strategy selector: reference candidate '" + reference +
                                        "' is not one of its candidates");
        references_.push_back(static_cast<std::size_t>(it - names_.begin()));
    }
}

StrategySelector::~StrategySelector() = default;

void StrategySelector::defer_round(const PlacementView& view) {
    Deferred& d = *deferred_;
    d.planned = true;
    if (d.tiers_seen.size() != view.tiers().size()) d.tiers_seen = view.tiers();
    for (std::size_t t = 0; t < d.tiers_seen.size(); ++t) {
        const TierSpec& seen = view.tiers()[t];
        TierSpec& kept = d.tiers_seen[t];
        // Copied only when changed: an idle LUN's rounds allocate nothing.
        if (kept != seen) kept = seen;
    }
    d.used.resize(d.tiers_seen.size());
    for (std::size_t t = 0; t < d.used.size(); ++t)
        d.used[t] = view.used_bytes(static_cast<TierId>(t));
    d.bytes = view.extent_bytes();
    d.default_home = view.home_tier(0);
}

void StrategySelector::build() {
    const std::unique_ptr<Deferred> told = std::move(deferred_);
    const std::uint64_t round_us = last_round_us_;
    real_ = std::make_unique<RealPlacement>(*told);
    ghosts_.reserve(factories_.size());
    for (std::size_t i = 0; i < factories_.size(); ++i) {
        const bool fresh = live_[i] == nullptr;
        if (fresh) live_[i] = factories_[i]();
        ghosts_.emplace_back(factories_[i](), channel_);
        ghosts_.back().set_migration_cost(
            [weight = params_.migration_charge, cost = params_.migration_cost_us](
                const TierSpec& from, const TierSpec& to) {
                return weight * price_of(cost, from, to);
            });
        if (!fresh) continue;
        // The new live instance learns the placement as told before the last round, plans that
        // round (its orders were never the real ones: dropped), then learns what was told after.
        PlacementPolicy& p = *live_[i];
        for (const auto& [lun, l] : told->luns)
            if (!told->planned || l.now_us <= round_us) p.placement_changed(lun, l.now_us, *told);
        if (!told->planned) continue;
        for (const MigrationOrder& o : p.plan(round_us, *told)) p.dropped(o, round_us);
        for (const auto& [lun, l] : told->luns)
            if (l.now_us > round_us) p.placement_changed(lun, l.now_us, *told);
    }
    if (told->planned)
        for (GhostPlacement& g : ghosts_) g.round(round_us, *told);
    factories_.clear();
    factories_.shrink_to_fit();
}

double StrategySelector::switch_cost(LunId lun, std::size_t i, const PlacementView& real,
                                     double lead_per_us) const {
    if (params_.switch_charge <= 0) return 0;
    const auto& tiers = real.tiers();
    double price = 0;
    std::uint64_t moves = 0;
    for (const MigrationOrder& o : ghosts_.at(i).promotions_to_follow(lun, real)) {
        if (o.from >= tiers.size() || o.to >= tiers.size()) continue;
        price += price_of(params_.migration_cost_us, tiers[o.from], tiers[o.to]);
        ++moves;
    }
    // The channel moves one extent at a time at its bandwidth.
    const double replace_us = static_cast<double>(moves) *
                              static_cast<double>(channel_.extent_bytes) /
                              std::max(channel_.bandwidth_bytes_per_s, 1.0) * 1e6;
    return params_.switch_charge * (price + lead_per_us * replace_us);
}

void StrategySelector::leave_first_early(LunState& s, bool active, std::uint64_t now_us) {
    if (params_.early_periods == 0 || s.choice != first_ || !s.switches.empty() || !active) return;
    // The candidates that served the LUN clearly better lately, and this period too, and no
    // worse over the window: the exit waives the margin, the warmup and the confirmation, not the
    // window's evidence, so one period does not outweigh it.
    // Lately is since the two shadows parted (the first period with I/O in which they served the
    // LUN at different costs): the periods before, in which the candidate's shadow served it
    // exactly as the first one's did (an empty fast tier filled alike), added the same to both
    // recent costs, and would dilute a lead by a share with what is no evidence.
    for (std::size_t i = 0; i < s.recent.size(); ++i)
        if (!s.parted[i] && s.period_cost[i] != s.period_cost[s.choice]) {
            s.parted[i] = true;
            s.parted_own[i] = s.recent_before[i];
            s.parted_first[i] = s.recent_before[s.choice];
        }
    const auto clearly_better = [&](std::size_t i) {
        return followable_[i] && i != s.choice &&
               s.recent[i] - s.parted_own[i] <
                   (1.0 - params_.early_margin) * (s.recent[s.choice] - s.parted_first[i]) &&
               s.period_cost[i] < s.period_cost[s.choice] && s.cost[i] <= s.cost[s.choice];
    };
    // Of those, the leader of the window.
    std::size_t target = s.choice;
    for (std::size_t i = 0; i < s.recent.size(); ++i)
        if (clearly_better(i) && (target == s.choice || s.cost[i] < s.cost[target])) target = i;
    if (target == s.choice) {
        s.early = 0;
        return;
    }
    if (s.early++ == 0) s.early_ios = s.period_ios;
    if (s.early < params_.early_periods || s.ios - s.early_ios < params_.early_ios) return;
    s.switches.push_back({now_us, s.choice, target});
    s.choice = target;
    s.early = 0;
    s.streak = 0;
    std::fill(s.run.begin(), s.run.end(), 0u);
    s.leader_run = 0;
    ++switches_;
}

void StrategySelector::count_runs(LunState& s) const {
    const double keep = 1.0 - params_.switch_margin;
    for (std::size_t i = 0; i < s.run.size(); ++i) {
        const bool ahead = followable_[i] && i != s.choice && s.cost[i] < keep * s.cost[s.choice] &&
                           s.recent[i] <= (1.0 + params_.switch_margin) * s.recent[s.choice];
        if (!ahead) {
            s.run[i] = 0;
            continue;
        }
        const bool counts =
            s.recent[i] <= s.recent[s.choice] && s.period_cost[i] < s.period_cost[s.choice];
        if (counts && s.run[i]++ == 0) s.run_ios[i] = s.ios;
    }
}

void StrategySelector::decay(LunState& s, std::uint64_t now_us) const {
    if (now_us <= s.at_us) return;
    const auto factor = [&](std::uint64_t half_life_us) {
        return std::exp2(-static_cast<double>(now_us - s.at_us) /
                         static_cast<double>(std::max<std::uint64_t>(half_life_us, 1)));
    };
    const double f = factor(params_.half_life_us);
    const double g = factor(params_.recent_half_life_us);
    for (double& c : s.cost) c *= f;
    for (double& c : s.cost_at_start) c *= f;
    for (double& c : s.recent) c *= g;
    for (double& c : s.recent_before) c *= g;
    for (double& c : s.parted_own) c *= g;
    for (double& c : s.parted_first) c *= g;
    s.at_us = now_us;
}

StrategySelector::LunState& StrategySelector::lun_state(LunId lun, std::uint64_t now_us) {
    LunState& s = luns_[lun];
    if (s.cost.empty()) {
        s.cost.assign(ghosts_.size(), 0.0);
        s.recent.assign(ghosts_.size(), 0.0);
        s.period_cost.assign(ghosts_.size(), 0.0);
        s.streak_lead.assign(ghosts_.size(), 0.0);
        s.run.assign(ghosts_.size(), 0);
        s.run_ios.assign(ghosts_.size(), 0);
        s.recent_before.assign(ghosts_.size(), 0.0);
        s.parted.assign(ghosts_.size(), false);
        s.parted_own.assign(ghosts_.size(), 0.0);
        s.parted_first.assign(ghosts_.size(), 0.0);
        s.followed.assign(ghosts_.size(), 0);
        s.choice = first_;
        s.challenger = first_;
        s.at_us = now_us;
    }
    decay(s, now_us);
    return s;
}

void StrategySelector::charge(std::size_t i, std::uint64_t now_us) {
    if (!ghosts_[i].has_charges()) return;
    for (const auto& [lun, cost] : ghosts_[i].take_charges()) {
        LunState& s = lun_state(lun, now_us);
        s.cost[i] += cost;
        s.recent[i] += cost;
        s.period_cost[i] += cost;
        if (i == s.choice && s.comparing) s.held_shadow += cost;
    }
}

void StrategySelector::observe(const IoEvent& io) {
    if (deferred_) build();
    for (auto& p : live_) p->observe(io);
    LunState& s = lun_state(io.lun, io.time_us);
    s.active = true;
    ++s.ios;
    double shadow = 0;  // the latency the followed candidate's shadow served `io` with
    for (std::size_t i = 0; i < ghosts_.size(); ++i) {
        const double latency = ghosts_[i].serve(io);
        s.cost[i] += latency;
        s.recent[i] += latency;
        s.period_cost[i] += latency;
        if (i == s.choice) shadow = latency;
        if (i == s.choice && s.comparing) s.held_shadow += latency;
        charge(i, io.time_us);
    }
    if (s.comparing) {
        const double real = modelled_service_us(io, *real_);
        s.held_real += real;
        s.held_spread += (real - shadow) * (real - shadow);
    }
}

std::vector<MigrationOrder> StrategySelector::plan(std::uint64_t now_us,
                                                   const PlacementView& view) {
    for (std::size_t i = 0; i < ghosts_.size(); ++i) {
        ghosts_[i].round(now_us, view);
        charge(i, now_us);
    }
    if (real_) real_->round(view, luns_);
    const bool period_ends = ends_period(now_us);
    double slowest_us = 0;
    for (const TierSpec& t : view.tiers())
        slowest_us = std::max({slowest_us, t.read_latency_us, t.write_latency_us});
    for (auto& [lun, s] : luns_) {
        if (s.cost.empty()) continue;
        if (period_ends) judge(lun, s, now_us, view, slowest_us);
        ++rounds_followed_[s.choice];
        ++s.followed[s.choice];
    }
    if (period_ends) {
        // Periods keep to their grid (a round that ends one a little early or late does not move
        // the next one); a round longer than the period starts a new grid.
        period_end_us_ = (period_end_us_ ? *period_end_us_ : now_us) + params_.period_us;
        if (*period_end_us_ <= now_us) period_end_us_ = now_us + params_.period_us;
        period_start_us_ = now_us;
    }
    last_round_us_ = now_us;
    if (deferred_) defer_round(view);
    std::vector<MigrationOrder> orders;
    for (std::size_t i = 0; i < live_.size(); ++i) {
        if (!live_[i]) continue;
        auto mine = live_[i]->plan(now_us, view);
        for (auto& o : mine) {
            if (choice(o.lun) == i && (trusted(o.lun) || !to_slower_tier(view, o)))
                orders.push_back(std::move(o));
            else
                live_[i]->dropped(o, now_us);
        }
    }
    return orders;
}

bool StrategySelector::ends_period(std::uint64_t now_us) const {
    if (!period_end_us_) return true;  // the first round ends the first period
    // The round nearest the period's end ends it: one less than half a round before the end (a
    // driver's jitter) does, and rounds as long as the period or longer end one each.
    const std::uint64_t round = now_us - std::min(now_us, last_round_us_);
    return now_us + round / 2 >= *period_end_us_;
}

void StrategySelector::judge(LunId lun, LunState& s, std::uint64_t now_us,
                             const PlacementView& view, double slowest_us) {
    decay(s, now_us);
    const std::size_t held = s.choice;
    const bool active = s.active;
    if (active) ++s.periods;
    s.active = false;
    leave_first_early(s, active, now_us);
    s.period_ios = s.ios;
    std::size_t best = s.choice;
    for (std::size_t i = 0; i < s.cost.size(); ++i)
        if (followable_[i] && s.cost[i] < s.cost[best]) best = i;
    const bool ahead = best != s.choice && s.periods > params_.warmup_periods &&
                       s.cost[best] < (1.0 - params_.switch_margin) * s.cost[s.choice];
    if (!ahead) {
        s.streak = 0;
        std::fill(s.run.begin(), s.run.end(), 0u);
        s.leader_run = 0;
    } else if (active) {
        // The challenger must be no worse lately either, but for the margin (closer is a
        // tie); a period in which it served the LUN's I/O (migrations included) at a lower
        // cost lately and in the period confirms, any other holds.
        // A new leader of the window restarts the streak, unless the params let the streak
        // run on across leaders (then the switch must pay for itself, see below).
        // The leader's run is the part of the streak led by the current leader.
        if (s.recent[best] > (1.0 + params_.switch_margin) * s.recent[s.choice]) {
            s.streak = 0;
            s.leader_run = 0;
        } else if (best != s.challenger) {
            s.leader_run = 0;
            if (!params_.streak_across_leaders) s.streak = 0;
        }
        const bool counts =
            s.recent[best] <= s.recent[s.choice] && s.period_cost[best] < s.period_cost[s.choice];
        if (counts) ++s.leader_run;
        count_runs(s);
        if (counts && s.streak++ == 0) {
            s.streak_ios = s.ios;
            s.streak_us = period_start_us_;
            std::fill(s.streak_lead.begin(), s.streak_lead.end(), 0.0);
        }
        if (s.streak > 0)
            for (std::size_t i = 0; i < s.cost.size(); ++i)
                s.streak_lead[i] += s.period_cost[s.choice] - s.period_cost[i];
        s.challenger = best;
        // Enough I/Os over the periods confirm them; a streak of fewer I/Os (a near-idle LUN)
        // confirms once the challenger's lead over it pays for the switch.
        const auto enough_ios = [this, ios = s.ios](unsigned periods, std::uint64_t since_ios) {
            const std::uint64_t span = ios - since_ios;
            return (periods >= params_.confirm_periods && span >= params_.confirm_ios) ||
                   (params_.fast_confirm_ios > 0 && periods >= params_.fast_confirm_periods &&
                    span >= params_.fast_confirm_ios);
        };
        // The evidence is that the current candidate serves the LUN worse; the one to follow
        // is, of those ahead of it in the window by the margin that served this period better,
        // the one that served the LUN best lately: at a burst the first to lead the window is
        // often one whose lead is from before the burst.
        std::size_t target = best;
        for (std::size_t i = 0; i < s.cost.size(); ++i)
            if (followable_[i] && i != s.choice &&
                s.cost[i] < (1.0 - params_.switch_margin) * s.cost[s.choice] &&
                s.period_cost[i] < s.period_cost[s.choice] && s.recent[i] < s.recent[target])
                target = i;
        // The I/Os of the run of the leader or of the candidate to follow (count_runs(): its
        // own periods ahead, whoever led the window in them) confirm a switch outright; those
        // of a streak across leaders only with a lead that pays for it, as do the periods of
        // the leader's run on a near-idle LUN.
        const bool by_ios = enough_ios(s.run[best], s.run_ios[best]) ||
                            enough_ios(s.run[target], s.run_ios[target]);
        const bool confirmed =
            by_ios || enough_ios(s.streak, s.streak_ios) ||
            (params_.switch_charge > 0 && s.leader_run >= params_.confirm_periods);
        if (confirmed) {
            // A switch re-places the LUN's data: without the I/Os to confirm it, the lead the
            // challenger has built over the streak must pay for that first; until it does,
            // the streak goes on gathering lead.
            const double lead = s.streak_lead[target];
            const double lead_per_us =
                std::max(lead, 0.0) /
                static_cast<double>(std::max<std::uint64_t>(now_us - s.streak_us, 1));
            if (by_ios || lead > switch_cost(lun, target, view, lead_per_us)) {
                s.switches.push_back({now_us, s.choice, target});
                s.choice = target;
                s.streak = 0;
                std::fill(s.run.begin(), s.run.end(), 0u);
                s.leader_run = 0;
                ++switches_;
            }
        }
    }
    std::fill(s.period_cost.begin(), s.period_cost.end(), 0.0);
    s.recent_before = s.recent;
    judge_probation(s, active, s.choice != held, level_with_shadow(lun, s.choice, view),
                    slowest_us);
}

void StrategySelector::hold_anew(LunState& s) {
    s.held_real = 0;
    s.held_shadow = 0;
    s.held_spread = 0;
    s.held_periods = 0;
    s.held_ios = s.ios;
    s.comparing = false;
    s.proven = false;
}

bool StrategySelector::level_with_shadow(LunId lun, std::size_t i,
                                         const PlacementView& real) const {
    const auto& tiers = real.tiers();
    const TierId home = real.home_tier(lun);
    if (home >= tiers.size()) return false;
    std::uint64_t real_used = 0;
    std::uint64_t shadow_used = 0;
    for (TierId t = 0; t < tiers.size(); ++t) {
        if (!(tiers[t].read_latency_us < tiers[home].read_latency_us)) continue;
        real_used += real.used_bytes(t);
        shadow_used += ghosts_.at(i).used_bytes(t);
    }
    return real_used + real.extent_bytes() >= shadow_used;
}

void StrategySelector::judge_probation(LunState& s, bool active, bool switched, bool level,
                                       double slowest_us) {
    if (switched) hold_anew(s);
    // The comparison starts from a common point: the real faster tiers hold as much as the
    // shadow's, and no real migration of the LUN ended in the period (none is left to be charged
    // to the real run alone).
    if (!s.comparing && level && s.real_moves == 0) {
        hold_anew(s);
        s.comparing = true;
        s.held_scale = params_.proof_scale_ios * slowest_us * slowest_us;
        s.cost_at_start = s.cost;
    }
    s.real_moves = 0;
    if (active && s.comparing) ++s.held_periods;
    const double keep = 1.0 - params_.switch_margin;
    // What candidate `i` has cost the LUN since the comparison started (windowed).
    const auto since_start = [&s](std::size_t i) { return s.cost[i] - s.cost_at_start[i]; };
    bool beats_a_reference = false;
    for (std::size_t r : references_)
        beats_a_reference = beats_a_reference || s.choice == r ||
                            (s.periods > params_.warmup_periods &&
                             (s.cost[s.choice] < keep * s.cost[r] ||
                              (s.comparing && since_start(s.choice) < keep * since_start(r))));
    if (!s.proven && s.comparing && s.held_periods > params_.warmup_periods &&
        s.ios - s.held_ios >= params_.confirm_ios &&
        s.held_shadow < (1.0 - params_.proof_margin) * s.held_real &&
        s.held_real - s.held_shadow >
            lead_beyond_noise(s.held_spread, s.held_scale, params_.proof_error))
        s.proven = true;
    s.trusted = references_.empty() || beats_a_reference || s.proven;
}

void StrategySelector::unplanned_round(std::uint64_t now_us) {
    for (auto& p : live_)
        if (p) p->unplanned_round(now_us);
}

void StrategySelector::migrated(const MigrationOrder& order, std::uint64_t now_us) {
    if (deferred_) deferred_->moved(order, now_us);
    if (real_) {
        real_->moved(order);
        const auto& tiers = real_->tiers();
        if (order.from < tiers.size() && order.to < tiers.size()) {
            LunState& s = lun_state(order.lun, now_us);
            ++s.real_moves;
            if (s.comparing)
                s.held_real +=
                    params_.migration_charge *
                    price_of(params_.migration_cost_us, tiers[order.from], tiers[order.to]);
        }
    }
    for (auto& p : live_)
        if (p) p->migrated(order, now_us);
}

void StrategySelector::placement_changed(LunId lun, std::uint64_t now_us,
                                         const PlacementView& view) {
    if (deferred_) deferred_->placement(lun, now_us, view);
    if (real_) real_->placement(lun, view);
    for (auto& p : live_)
        if (p) p->placement_changed(lun, now_us, view);
}

void StrategySelector::channel_changed(const ChannelSpec& channel, std::uint64_t now_us) {
    channel_ = channel;
    for (GhostPlacement& g : ghosts_) g.set_channel(channel, now_us);
    for (auto& p : live_)
        if (p) p->channel_changed(channel, now_us);
}

void StrategySelector::dropped(const MigrationOrder& order, std::uint64_t now_us) {
    live_[choice(order.lun)]->dropped(order, now_us);
}

bool StrategySelector::trusted(LunId lun) const {
    auto it = luns_.find(lun);
    return it == luns_.end() ? references_.empty() : it->second.trusted;
}

std::size_t StrategySelector::choice(LunId lun) const {
    auto it = luns_.find(lun);
    return it == luns_.end() ? first_ : it->second.choice;
}

double StrategySelector::windowed_cost(LunId lun, std::size_t i) const {
    auto it = luns_.find(lun);
    return it == luns_.end() || i >= it->second.cost.size() ? 0.0 : it->second.cost[i];
}

std::optional<ExtentOutlook> StrategySelector::outlook(LunId lun, ExtentIndex extent,
                                                       std::uint64_t now_us) const {
    for (const auto& p : live_)
        if (p)
            if (auto o = p->outlook(lun, extent, now_us)) return o;
    return std::nullopt;
}

std::optional<ForecastAccuracy> StrategySelector::accuracy() const {
    for (const auto& p : live_)
        if (p)
            if (auto a = p->accuracy()) return a;
    return std::nullopt;
}

std::optional<SelectionReport> StrategySelector::selection() const {
    SelectionReport out;
    out.candidates = names_;
    for (const auto& [lun, s] : luns_)
        if (!s.cost.empty()) out.luns.push_back({lun, s.followed, s.switches});
    std::sort(out.luns.begin(), out.luns.end(),
              [](const LunSelection& a, const LunSelection& b) { return a.lun < b.lun; });
    return out;
}

std::vector<PolicyAlert> StrategySelector::alerts() const {
    std::vector<PolicyAlert> out;
    for (const auto& p : live_) {
        if (!p) continue;
        auto a = p->alerts();
        out.insert(out.end(), a.begin(), a.end());
    }
    return out;
}

}  // namespace rbdtier
