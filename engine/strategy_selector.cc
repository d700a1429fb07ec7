#include "engine/strategy_selector.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

GhostPlacement::GhostPlacement(std::unique_ptr<PlacementPolicy> policy, GhostChannel channel,
                               std::uint64_t extent_bytes)
    : policy_(std::move(policy)), channel_(channel), extent_bytes_(extent_bytes) {
    const double bw = std::max(channel_.bandwidth_bytes_per_s, 1.0);
    extent_us_ = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(static_cast<double>(extent_bytes_) / bw * 1e6)));
    bucket_ = channel_.burst_bytes != 0 ? static_cast<double>(channel_.burst_bytes) : bw;
    bucket_ = std::max(bucket_, static_cast<double>(extent_bytes_));
    tokens_ = bucket_;
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

double GhostPlacement::serve(const IoEvent& io) {
    if (!started_) return 0;
    complete_until(io.time_us);
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes_;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes_;
    double latency = 0;
    for (std::uint64_t e = first; e <= last; ++e) {
        const TierId t = tier_of(io.lun, e);
        if (t >= tiers_.size()) continue;
        const TierSpec& spec = tiers_[t];
        latency =
            std::max(latency, io.op == IoOp::kRead ? spec.read_latency_us : spec.write_latency_us);
    }
    IoEvent seen = io;
    seen.latency_us = static_cast<std::uint32_t>(std::lround(latency));
    policy_->observe(seen);
    return latency;
}

void GhostPlacement::round(std::uint64_t now_us, const PlacementView& real) {
    if (!started_) {
        started_ = true;
        tiers_ = real.tiers();
        used_.assign(tiers_.size(), 0);
        last_refill_us_ = now_us;
    }
    default_home_ = real.home_tier(0);
    complete_until(now_us);
    if (now_us > last_refill_us_) {
        tokens_ =
            std::min(bucket_, tokens_ + channel_.bandwidth_bytes_per_s *
                                            static_cast<double>(now_us - last_refill_us_) / 1e6);
        last_refill_us_ = now_us;
    }
    for (const MigrationOrder& o : policy_->plan(now_us, *this)) {
        if (!homes_.count(o.lun)) homes_[o.lun] = real.home_tier(o.lun);
        if (!execute(o, now_us)) policy_->dropped(o, now_us);
    }
}

bool GhostPlacement::execute(const MigrationOrder& order, std::uint64_t now_us) {
    if (order.to >= tiers_.size() || order.from >= tiers_.size() || order.to == order.from)
        return false;
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    const TierId home = home_or_default(order.lun);
    auto it = extents_.find(key);
    const TierId current = it == extents_.end() ? home : it->second.tier;
    if (current != order.from || (it != extents_.end() && it->second.in_flight)) return false;
    if (inflight_.size() >= channel_.max_concurrent) return false;
    const std::uint64_t capacity = tiers_[order.to].capacity_bytes;
    if (order.to != home && capacity != 0 && used_[order.to] + extent_bytes_ > capacity)
        return false;
    if (tokens_ < static_cast<double>(extent_bytes_)) return false;
    tokens_ -= static_cast<double>(extent_bytes_);
    if (order.to != home) used_[order.to] += extent_bytes_;
    State& st = extents_.try_emplace(key, State{home, false}).first->second;
    st.in_flight = true;
    const std::uint64_t start = std::max(now_us, link_free_us_);
    link_free_us_ = start + extent_us_;
    inflight_.push_back({order, link_free_us_});
    return true;
}

void GhostPlacement::complete_until(std::uint64_t now_us) {
    while (!inflight_.empty() && inflight_.front().finish_us <= now_us) {
        const Flight f = std::move(inflight_.front());
        inflight_.pop_front();
        const TierId home = home_or_default(f.order.lun);
        State& st = extents_.at(make_extent_key(f.order.lun, f.order.extent));
        if (f.order.from != home)
            used_[f.order.from] -= std::min(used_[f.order.from], extent_bytes_);
        st.tier = f.order.to;
        st.in_flight = false;
        policy_->migrated(f.order, f.finish_us);
    }
}

StrategySelector::StrategySelector(std::string name, const std::vector<Candidate>& candidates,
                                   GhostChannel channel, std::uint64_t extent_bytes,
                                   SelectorParams params)
    : name_(std::move(name)), params_(params) {
    ghosts_.reserve(candidates.size());
    for (const auto& c : candidates) {
        names_.push_back(c.name);
        live_.push_back(c.make());
        ghosts_.emplace_back(c.make(), channel, extent_bytes);
    }
    rounds_followed_.assign(candidates.size(), 0);
}

void StrategySelector::decay(LunState& s, std::uint64_t now_us) const {
    if (now_us <= s.at_us) return;
    const double f =
        std::exp2(-static_cast<double>(now_us - s.at_us) /
                  static_cast<double>(std::max<std::uint64_t>(params_.half_life_us, 1)));
    for (double& c : s.cost) c *= f;
    s.at_us = now_us;
}

void StrategySelector::observe(const IoEvent& io) {
    for (auto& p : live_) p->observe(io);
    LunState& s = luns_[io.lun];
    if (s.cost.empty()) {
        s.cost.assign(ghosts_.size(), 0.0);
        s.at_us = io.time_us;
    }
    decay(s, io.time_us);
    s.active = true;
    for (std::size_t i = 0; i < ghosts_.size(); ++i) s.cost[i] += ghosts_[i].serve(io);
}

std::vector<MigrationOrder> StrategySelector::plan(std::uint64_t now_us,
                                                   const PlacementView& view) {
    for (auto& g : ghosts_) g.round(now_us, view);
    for (auto& [lun, s] : luns_) {
        (void)lun;
        if (s.cost.empty()) continue;
        decay(s, now_us);
        std::size_t best = s.choice;
        for (std::size_t i = 0; i < s.cost.size(); ++i)
            if (s.cost[i] < s.cost[best]) best = i;
        if (s.active) ++s.rounds;
        s.active = false;
        if (best != s.choice && s.rounds > params_.warmup_rounds &&
            s.cost[best] < (1.0 - params_.switch_margin) * s.cost[s.choice]) {
            s.streak = best == s.challenger ? s.streak + 1 : 1;
            s.challenger = best;
            if (s.streak >= params_.confirm_rounds) {
                s.choice = best;
                s.streak = 0;
                ++switches_;
            }
        } else {
            s.streak = 0;
        }
        ++rounds_followed_[s.choice];
    }
    std::vector<MigrationOrder> orders;
    for (std::size_t i = 0; i < live_.size(); ++i) {
        auto mine = live_[i]->plan(now_us, view);
        for (auto& o : mine) {
            if (choice(o.lun) == i)
                orders.push_back(std::move(o));
            else
                live_[i]->dropped(o, now_us);
        }
    }
    return orders;
}

void StrategySelector::migrated(const MigrationOrder& order, std::uint64_t now_us) {
    for (auto& p : live_) p->migrated(order, now_us);
}

void StrategySelector::dropped(const MigrationOrder& order, std::uint64_t now_us) {
    live_[choice(order.lun)]->dropped(order, now_us);
}

std::size_t StrategySelector::choice(LunId lun) const {
    auto it = luns_.find(lun);
    return it == luns_.end() ? 0 : it->second.choice;
}

double StrategySelector::windowed_cost(LunId lun, std::size_t i) const {
    auto it = luns_.find(lun);
    return it == luns_.end() || i >= it->second.cost.size() ? 0.0 : it->second.cost[i];
}

std::optional<ExtentOutlook> StrategySelector::outlook(LunId lun, ExtentIndex extent,
                                                       std::uint64_t now_us) const {
    for (const auto& p : live_)
        if (auto o = p->outlook(lun, extent, now_us)) return o;
    return std::nullopt;
}

std::optional<ForecastAccuracy> StrategySelector::accuracy() const {
    for (const auto& p : live_)
        if (auto a = p->accuracy()) return a;
    return std::nullopt;
}

std::vector<PolicyAlert> StrategySelector::alerts() const {
    std::vector<PolicyAlert> out;
    for (const auto& p : live_) {
        auto a = p->alerts();
        out.insert(out.end(), a.begin(), a.end());
    }
    return out;
}

}  // namespace rbdtier
