#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace rbdtier {

Scheduler::Scheduler(const EngineConfig& config, const TenantTable& tenants)
    : config_(config.validated()),
      tenants_(&tenants),
      hysteresis_(config_.min_residency_us),
      granted_total_(tenants.size(), 0) {}

void Scheduler::refill(std::uint64_t now_us) {
    if (!bucket_) {
        const double burst = std::max(static_cast<double>(config_.burst_bytes),
                                      static_cast<double>(config_.extent_bytes));
        bucket_.emplace(config_.migration_bandwidth_bytes_per_s, burst, now_us);
        return;
    }
    bucket_->refill(now_us);
}

void Scheduler::completed(const MigrationOrder& order, std::uint64_t now_us) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    in_flight_.erase(key);
    hysteresis_.moved(key, now_us);
}

void Scheduler::dropped(const MigrationOrder& order) {
    if (in_flight_.erase(make_extent_key(order.lun, order.extent)) == 0) return;
    if (bucket_) bucket_->give_back(static_cast<double>(config_.extent_bytes));
}

std::vector<MigrationOrder> Scheduler::schedule(
    std::uint64_t now_us, std::span<const ExtentScore> scores, const ScoringContext& ctx,
    const ResourceModel& resources, const PlacementState& placement, double threshold_us,
    double min_accesses, std::span<const MigrationOrder> held,
    std::vector<std::uint8_t>* order_models) {
    refill(now_us);
    std::vector<MigrationOrder> orders;
    // What the executor holds, as flights: those this scheduler ordered are not lost however
    // long they take; the others (an admin's pin, another planner's order) take their extent, a
    // slot and their room alike for this round.
    std::unordered_map<ExtentKey, Flight> others;
    for (const MigrationOrder& o : held) {
        Flight f;
        f.tenant = tenants_->tenant_of(o.lun);
        f.to = o.to;
        f.home = placement.home(o.lun, ctx.default_home);
        others.emplace(make_extent_key(o.lun, o.extent), f);
    }
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (others.erase(it->first) == 0 && it->second.expiry_us <= now_us) {
            ++stats_.expired;
            it = in_flight_.erase(it);
        } else {
            ++it;
        }
    }
    const auto busy = [&](ExtentKey key) {
        return in_flight_.count(key) != 0 || others.count(key) != 0;
    };
    const auto slots_used = [&] { return in_flight_.size() + others.size(); };
    hysteresis_.prune(now_us);
    const double ext = static_cast<double>(config_.extent_bytes);
    const std::size_t cap = config_.max_concurrent_migrations;
    if (bucket_->level() < ext || slots_used() >= cap) return orders;

    // The room each tier and each tenant's quota leave, counted as the admission counts it: the
    // executor's bytes away from home (its admitted migrations included), the placement's per
    // tenant, and the destinations of the migrations in flight (this scheduler's, and the others
    // the executor holds).
    PlanningLedger ledger(config_.extent_bytes, hysteresis_);
    for (TierId t : ctx.tiers) {
        ledger.set_tier(t, resources.capacity(t), resources.used(t));
        for (TenantIndex i = 0; i < tenants_->size(); ++i)
            ledger.set_quota(i, t, tenants_->quota(i, t), placement.tenant_used(i, t));
    }
    for (const auto& [key, f] : in_flight_) ledger.in_flight(f.tenant, f.to, f.home);
    for (const auto& [key, f] : others) ledger.in_flight(f.tenant, f.to, f.home);
    // Residents of every non-home placement, coldest first (what keeping them there is worth).
    struct Resident {
        double keep = 0;
        std::size_t index = 0;
    };
    std::vector<std::vector<Resident>> residents(ctx.stride);
    std::vector<std::vector<std::size_t>> candidates(tenants_->size());
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const ExtentScore& s = scores[i];
        if (s.current != s.home) {
            const double keep = s.value * (ctx.latency(s.home, s.write_fraction) -
                                           ctx.latency(s.current, s.write_fraction));
            residents[s.current].push_back({keep, i});
        }
        if (s.best != s.current && s.gain_us > threshold_us && s.value >= min_accesses &&
            ctx.latency(s.best, s.write_fraction) < ctx.latency(s.current, s.write_fraction) &&
            s.tenant < candidates.size())
            candidates[s.tenant].push_back(i);
    }
    for (auto& r : residents)
        std::sort(r.begin(), r.end(), [](const Resident& a, const Resident& b) {
            return a.keep < b.keep || (a.keep == b.keep && a.index < b.index);
        });
    for (auto& c : candidates)
        std::sort(c.begin(), c.end(), [&](std::size_t a, std::size_t b) {
            return scores[a].gain_us > scores[b].gain_us ||
                   (scores[a].gain_us == scores[b].gain_us && a < b);
        });
    std::vector<std::size_t> next(tenants_->size(), 0);
    std::vector<double> granted(tenants_->size(), 0.0);
    std::unordered_set<ExtentKey> chosen;
    auto emit = [&](const ExtentScore& s, TierId to, double net, std::string reason) {
        MigrationOrder o;
        o.lun = key_lun(s.key);
        o.extent = key_extent(s.key);
        o.from = s.current;
        o.to = to;
        o.net_benefit = net;
        o.forecast_accesses = s.value;
        o.reason = std::move(reason);
        orders.push_back(std::move(o));
        if (order_models != nullptr) order_models->push_back(s.model);
        bucket_->take(ext);
        ledger.reserve(s.tenant, to, s.home);
        granted[s.tenant] += ext;
        granted_total_[s.tenant] += config_.extent_bytes;
        const double transfer_us = ext / config_.migration_bandwidth_bytes_per_s * 1e6;
        Flight f;
        f.expiry_us = now_us +
                      static_cast<std::uint64_t>(transfer_us * 2.0 *
                                                 static_cast<double>(in_flight_.size() + 2)) +
                      5'000'000;
        f.tenant = s.tenant;
        f.to = to;
        f.home = s.home;
        in_flight_[s.key] = f;
        chosen.insert(s.key);
        ++stats_.orders;
    };

    while (orders.size() < config_.max_orders_per_round) {
        if (bucket_->level() < ext || slots_used() >= cap) {
            ++stats_.skipped_budget;
            break;
        }
        // Weighted fair choice of the tenant to serve.
        TenantIndex t = 0;
        double best_share = std::numeric_limits<double>::infinity();
        bool any = false;
        for (TenantIndex i = 0; i < candidates.size(); ++i) {
            if (next[i] >= candidates[i].size()) continue;
            const double share = granted[i] / tenants_->weight(i);
            if (share < best_share) {
                best_share = share;
                t = i;
                any = true;
            }
        }
        if (!any) break;
        const ExtentScore& x = scores[candidates[t][next[t]++]];
        if (busy(x.key) || chosen.count(x.key)) continue;
        if (!ledger.settled(x.key, now_us)) {
            ++stats_.skipped_hysteresis;
            continue;
        }
        const double here = ctx.latency(x.current, x.write_fraction);
        for (TierId d : ctx.tiers) {
            const double there = ctx.latency(d, x.write_fraction);
            if (there >= here) break;
            const double benefit = x.value * (here - there);
            const double gain =
                benefit - ctx.move_cost_factor * ctx.move_cost_us[x.current * ctx.stride + d];
            if (gain <= threshold_us) continue;
            const Room room = ledger.room(x.tenant, d, x.home);
            const bool capacity_ok = room.capacity_fits(config_.extent_bytes);
            const bool quota_ok = room.quota_fits(config_.extent_bytes);
            if (capacity_ok && quota_ok) {
                emit(x, d, gain,
                     "forecast " + std::string(model_name(static_cast<ModelId>(x.model))));
                ++stats_.promotions;
                break;
            }
            if (!quota_ok) ++stats_.skipped_quota;
            if (!x.proven) continue;
            // Displace the coldest resident (of this tenant when the quota binds).
            const ExtentScore* victim = nullptr;
            double victim_loss = 0;
            TierId victim_to = 0;
            for (const Resident& r : residents[d]) {
                const ExtentScore& y = scores[r.index];
                if (chosen.count(y.key) || busy(y.key)) continue;
                if (!quota_ok && y.tenant != x.tenant) continue;
                if (!ledger.settled(y.key, now_us)) continue;
                // y steps down to the next slower tier that has room for it and is still
                // faster than its home (a second-level fast tier), else home.
                TierId to = y.home;
                for (TierId u : ctx.tiers) {
                    if (ctx.latency(u, y.write_fraction) <= ctx.latency(d, y.write_fraction))
                        continue;
                    if (u == y.home) break;
                    if (ctx.latency(u, y.write_fraction) >= ctx.latency(y.home, y.write_fraction))
                        break;
                    if (ledger.fits(y.tenant, u, y.home)) {
                        to = u;
                        break;
                    }
                }
                if (to == d || !ledger.fits(y.tenant, to, y.home)) break;
                const double y_benefit = y.value * (ctx.latency(to, y.write_fraction) -
                                                    ctx.latency(d, y.write_fraction));
                // Clearly better only: by the relative margin, and by more than the Poisson noise
                // of the two estimates (under uniform random load, values differ by noise only).
                if (benefit < (1.0 + config_.benefit_margin) * y_benefit) break;
                if (x.value - y.value < config_.displacement_z * std::sqrt(x.value + y.value))
                    break;
                victim_loss =
                    y_benefit + ctx.move_cost_factor * ctx.move_cost_us[d * ctx.stride + to];
                victim = &y;
                victim_to = to;
                break;
            }
            if (victim == nullptr || gain - victim_loss <= threshold_us) continue;
            // The executor frees the victim's space only when its demotion completes: demote
            // now, promote in a later round (the candidate will still rank high).
            emit(*victim, victim_to, -victim_loss,
                 "make room in " + resources.spec(d).name + " for extent " +
                     std::to_string(key_extent(x.key)));
            ++stats_.demotions;
            ++stats_.displacements;
            break;
        }
    }
    return orders;
}

}  // namespace rbdtier
