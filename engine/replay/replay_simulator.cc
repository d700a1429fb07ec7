#include "engine/replay/replay_simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "engine/admission.h"
#include "engine/extent_key.h"
#include "engine/migration_channel.h"

namespace rbdtier {

namespace {

constexpr std::uint64_t kNoRound = 0;  // last_round is stored +1 so 0 means "never"

struct ExtentState {
    TierId tier = 0;
    bool in_flight = false;
    bool promoted_unused = false;  // arrived by promotion, not accessed in that tier yet
    std::uint64_t last_round = kNoRound;
    bool waiting = false;             // accessed in a tier not faster than home, not promoted since
    std::uint64_t first_wait_us = 0;  // the first such access
    bool accessed = false;            // accessed at least once
    bool demoted = false;             // sent back from a faster tier, not promoted since
    std::uint64_t demoted_us = 0;     // when
};

// Tenant `i` of the config in the simulated gateway's tenant ledger (names need not be unique).
std::string tenant_key(std::size_t i) {
    return "tenant " + std::to_string(i);
}

// The admission the executor applies: every tier's capacity, every tenant's LUNs and quotas, in a
// tenant ledger of the simulated gateway's own, as a gateway's LUNs share the gateway's.
Admission make_admission(const StorageModel& config) {
    config.validate();
    std::vector<std::uint64_t> capacity;
    for (const auto& t : config.tiers) capacity.push_back(t.spec.capacity_bytes);
    Admission admission(AdmissionConfig{config.extent_bytes, 0, {}, nullptr}, std::move(capacity));
    for (std::size_t i = 0; i < config.tenants.size(); ++i) {
        for (LunId lun : config.tenants[i].luns) admission.set_tenant(lun, tenant_key(i));
        for (const auto& [tier, quota] : config.tenants[i].quota_bytes)
            admission.set_quota(tenant_key(i), tier, quota);
    }
    return admission;
}

class Simulator final : public PlacementView {
public:
    Simulator(const StorageModel& config, PlacementPolicy& policy)
        : config_(config), policy_(policy), admission_(make_admission(config)) {
        for (const auto& t : config_.tiers) specs_.push_back(t.spec);
        fastest_latency_ = specs_[0].read_latency_us;
        for (const auto& s : specs_)
            fastest_latency_ = std::min(fastest_latency_, s.read_latency_us);
        result_.policy = std::string(policy_.name());
        for (const auto& s : specs_) result_.tier_names.push_back(s.name);
        result_.ios_per_tier.assign(specs_.size(), 0);
        result_.bytes_per_tier.assign(specs_.size(), 0);
    }

    // PlacementView
    TierId tier_of(LunId lun, ExtentIndex extent) const override {
        auto it = extents_.find(make_extent_key(lun, extent));
        return it == extents_.end() ? config_.home_of(lun) : it->second.tier;
    }
    TierId home_tier(LunId lun) const override { return config_.home_of(lun); }
    std::uint64_t used_bytes(TierId tier) const override { return admission_.used(tier); }
    const std::vector<TierSpec>& tiers() const override { return specs_; }
    std::uint64_t extent_bytes() const override { return config_.extent_bytes; }
    void migrations_in_flight(
        const std::function<void(const MigrationOrder&)>& each) const override {
        channel_->each_held(each);
    }

    ReplayResult run(std::span<const IoEvent> events, const ReplayProgress& progress) {
        const auto wall_start = std::chrono::steady_clock::now();
        latencies_.reserve(events.size());
        if (!events.empty()) {
            start_us_ = events.front().time_us;
            next_round_ = start_us_;
        }
        channel_.emplace(config_.channel(), start_us_);
        std::uint64_t prev = start_us_;
        for (std::size_t i = 0; i < events.size(); ++i) {
            const IoEvent& io = events[i];
            if (io.time_us < prev)
                throw std::invalid_argument("events are not sorted by time at index " +
                                            std::to_string(i));
            prev = io.time_us;
            while (io.time_us >= next_round_) {
                round(next_round_);
                next_round_ += config_.round_us;
            }
            complete_until(io.time_us);
            serve(io);
            if (progress && (i & 0xffff) == 0) progress(i, events.size());
        }
        finish(events.empty() ? start_us_ : events.back().time_us);
        if (progress) progress(events.size(), events.size());
        result_.wall_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        return std::move(result_);
    }

private:
    bool faster_than_home(TierId tier, TierId home) const {
        return specs_[tier].read_latency_us < specs_[home].read_latency_us;
    }

    void serve(const IoEvent& io) {
        const std::uint64_t e_bytes = config_.extent_bytes;
        const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
        const std::uint64_t first = io.offset / e_bytes;
        const std::uint64_t last = (io.offset + length - 1) / e_bytes;
        const TierId home = config_.home_of(io.lun);
        const bool home_is_fastest = specs_[home].read_latency_us <= fastest_latency_;
        const std::uint64_t round_no = (io.time_us - start_us_) / config_.round_us + 1;
        double latency = 0;
        TierId first_tier = home;
        for (std::uint64_t e = first; e <= last; ++e) {
            const std::uint64_t lo = std::max(io.offset, e * e_bytes);
            const std::uint64_t hi = std::min(io.offset + length, (e + 1) * e_bytes);
            ExtentState& st =
                extents_.try_emplace(make_extent_key(io.lun, e), ExtentState{home}).first->second;
            if (e == first) first_tier = st.tier;
            latency =
                std::max(latency, modelled_latency_us(config_.tiers[st.tier], io.op, hi - lo));
            result_.bytes_per_tier[st.tier] += hi - lo;
            if (st.promoted_unused) {
                st.promoted_unused = false;
                ++result_.useful_promotions;
            }
            if (!home_is_fastest && !faster_than_home(st.tier, home)) {
                ++slow_accesses_;
                if (!st.accessed) {
                    ++result_.slow_first_accesses;
                } else if (st.demoted) {
                    ++result_.slow_after_demotion;
                    if (io.time_us - std::min(io.time_us, st.demoted_us) <= 10'000'000)
                        ++result_.slow_after_demotion_10s;
                } else if (st.waiting && io.time_us - st.first_wait_us < config_.round_us) {
                    ++result_.slow_within_round;
                } else {
                    ++result_.slow_before_promotion;
                }
                if (!st.waiting) {
                    st.waiting = true;
                    st.first_wait_us = io.time_us;
                }
            }
            if (!home_is_fastest && st.last_round != round_no) {
                ++result_.recall_needed;
                if (faster_than_home(st.tier, home)) ++result_.recall_hits;
            }
            st.last_round = round_no;
            st.accessed = true;
        }
        ++result_.ios;
        result_.bytes += io.length;
        ++result_.ios_per_tier[first_tier];
        if (faster_than_home(first_tier, home)) ++result_.fast_ios;
        latencies_.push_back(static_cast<float>(latency));
        IoEvent seen = io;
        seen.latency_us = static_cast<std::uint32_t>(std::lround(latency));
        policy_.observe(seen);
    }

    void round(std::uint64_t now) {
        complete_until(now);
        ++result_.rounds;
        const bool channel_idle = channel_->in_flight() == 0;
        const bool demand = slow_accesses_ > 0;
        slow_accesses_ = 0;
        const std::uint64_t promotions_before = promotions_accepted_;
        // The last round's orders not started yet are withdrawn before the policy plans again,
        // as a live LUN's round withdraws them from the gateway's executor (MigrationChannel::
        // round): the policy hears them dropped first, so it plans without counting them.
        const bool short_of_tokens = channel_->short_of_tokens();
        const auto withdrawn = [&](const MigrationOrder& left, std::uint64_t t) {
            // The round's budget ran out before this order could start.
            ++(short_of_tokens ? result_.refused_bandwidth : result_.refused_concurrency);
            policy_.dropped(left, t);
        };
        result_.orders += channel_->round(
            now, withdrawn, [&] { return policy_.plan(now, *this); }, owner());
        if (channel_idle && demand && promotions_accepted_ == promotions_before)
            ++result_.idle_rounds_without_promotion;
    }

    // What the channel asks of the simulator (admit) and tells it (refused, completed).
    MigrationChannel::Owner owner() {
        return {[this](const MigrationOrder& o, std::uint64_t t) { return admit(o, t); },
                [this](const MigrationOrder& o, std::uint64_t t) { policy_.dropped(o, t); },
                [this](const MigrationChannel::Flight& f) { complete(f); }};
    }

    // Completes and starts migrations up to `now`, in time order.
    void complete_until(std::uint64_t now) { channel_->advance(now, owner()); }

    // Whether `order`, at the head of the queue at `now`, may start (engine/admission.h);
    // reserves its room if so.
    bool admit(const MigrationOrder& order, std::uint64_t now) {
        const TierId home = config_.home_of(order.lun);
        const ExtentKey key = make_extent_key(order.lun, order.extent);
        auto it = extents_.find(key);
        const ExtentPlace place{it == extents_.end() ? home : it->second.tier, home,
                                it != extents_.end() && it->second.in_flight};
        switch (admission_.admit(order, place, now)) {
            case Refusal::kNone:
                break;
            case Refusal::kCapacity:
                ++result_.refused_capacity;
                return false;
            case Refusal::kQuota:
                ++result_.refused_quota;
                return false;
            default:  // invalid or stale
                ++result_.refused_invalid;
                return false;
        }
        ExtentState& st = extents_.try_emplace(key, ExtentState{home}).first->second;
        st.in_flight = true;
        if (faster_than_home(order.to, home)) ++promotions_accepted_;
        check_invariants(now, 1);
        return true;
    }

    void complete(const MigrationChannel::Flight& m) {
        const std::uint64_t e_bytes = config_.extent_bytes;
        const TierId home = config_.home_of(m.order.lun);
        ExtentState& st = extents_.at(make_extent_key(m.order.lun, m.order.extent));
        if (st.promoted_unused) {  // left before being used
            ++result_.wasted_promotions;
            result_.wasted_promotion_bytes += e_bytes;
        }
        if (!admission_.completed(m.order, home, m.finish_us))
            throw InvariantViolation("tier usage underflow on " + specs_[m.order.from].name);
        if (faster_than_home(st.tier, home) && !faster_than_home(m.order.to, home)) {
            st.demoted = true;
            st.demoted_us = m.finish_us;
        } else if (faster_than_home(m.order.to, home)) {
            st.demoted = false;
        }
        st.tier = m.order.to;
        st.in_flight = false;
        st.promoted_unused = faster_than_home(m.order.to, home);
        if (st.promoted_unused && st.waiting) {
            result_.promotion_wait_us_sum += m.finish_us - st.first_wait_us;
            ++result_.promotions_after_wait;
        }
        if (st.promoted_unused) st.waiting = false;
        if (st.promoted_unused)
            ++result_.promotions;
        else
            ++result_.demotions;
        ++result_.migrations;
        result_.bytes_migrated += e_bytes;
        if (m.finish_us - m.start_us < channel_->extent_us())
            throw InvariantViolation("a migration finished faster than the bandwidth allows");
        policy_.migrated(m.order, m.finish_us);
        check_invariants(m.finish_us, 0);
    }

    // `starting`: a migration admitted but not yet handed to the channel.
    void check_invariants(std::uint64_t now, std::size_t starting) const {
        for (std::size_t t = 0; t < specs_.size(); ++t) {
            const auto cap = specs_[t].capacity_bytes;
            const auto used = admission_.used(static_cast<TierId>(t));
            if (cap != 0 && used > cap)
                throw InvariantViolation("capacity of tier " + specs_[t].name + " exceeded: " +
                                         std::to_string(used) + " > " + std::to_string(cap));
        }
        for (std::size_t i = 0; i < config_.tenants.size(); ++i)
            for (const auto& [tier, quota] : config_.tenants[i].quota_bytes)
                if (admission_.tenant_used(tenant_key(i), tier) > quota)
                    throw InvariantViolation("quota of tenant " + config_.tenants[i].name +
                                             " on tier " + specs_[tier].name + " exceeded");
        const double allowed = channel_->bucket_bytes() + config_.bandwidth_bytes_per_s *
                                                              static_cast<double>(now - start_us_) /
                                                              1e6;
        const auto started = channel_->bytes_started() + starting * config_.extent_bytes;
        if (static_cast<double>(started) > allowed + 1.0)
            throw InvariantViolation("migration bandwidth budget exceeded");
        if (channel_->in_flight() + starting > config_.max_concurrent)
            throw InvariantViolation("too many concurrent migrations");
    }

    void finish(std::uint64_t end_us) {
        complete_until(end_us);
        result_.unfinished_migrations = channel_->in_flight();
        for (const auto& [key, st] : extents_) {
            (void)key;
            if (st.promoted_unused) {
                ++result_.wasted_promotions;
                result_.wasted_promotion_bytes += config_.extent_bytes;
            }
        }
        result_.start_us = start_us_;
        result_.trace_duration_us = end_us - start_us_;
        if (!latencies_.empty()) {
            double sum = 0;
            for (float l : latencies_) sum += l;
            result_.mean_latency_us = sum / static_cast<double>(latencies_.size());
            auto at = [&](double q) {
                const auto k =
                    static_cast<std::size_t>(q * static_cast<double>(latencies_.size() - 1));
                std::nth_element(latencies_.begin(), latencies_.begin() + k, latencies_.end());
                return static_cast<double>(latencies_[k]);
            };
            result_.p50_latency_us = at(0.50);
            result_.p99_latency_us = at(0.99);
        }
        result_.selection = policy_.selection();
    }

    const StorageModel& config_;
    PlacementPolicy& policy_;
    Admission admission_;  // tier and tenant usage, reserved from a migration's start
    std::vector<TierSpec> specs_;
    std::unordered_map<ExtentKey, ExtentState> extents_;
    std::optional<MigrationChannel> channel_;  // from the first event's time
    std::vector<float> latencies_;
    double fastest_latency_ = 0;
    std::uint64_t start_us_ = 0;
    std::uint64_t next_round_ = 0;
    std::uint64_t slow_accesses_ = 0;  // extent accesses served slower than possible, this round
    std::uint64_t promotions_accepted_ = 0;  // promotions accepted so far
    ReplayResult result_;
};

}  // namespace

double modelled_latency_us(const TierModel& tier, IoOp op, std::uint64_t length) {
    const double extra_kib = length > 4096 ? static_cast<double>(length - 4096) / 1024.0 : 0.0;
    switch (op) {
        case IoOp::kRead:
            return tier.spec.read_latency_us + extra_kib * tier.read_us_per_kib;
        case IoOp::kWrite:
            return tier.spec.write_latency_us + extra_kib * tier.write_us_per_kib;
        case IoOp::kUnmap:
            return tier.spec.write_latency_us;
    }
    return tier.spec.read_latency_us;
}

void sort_by_time(std::vector<IoEvent>& events) {
    const bool sorted =
        std::is_sorted(events.begin(), events.end(),
                       [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
    if (!sorted)
        std::stable_sort(events.begin(), events.end(),
                         [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
}

ReplayResult replay(const StorageModel& config, std::span<const IoEvent> events,
                    PlacementPolicy& policy, const ReplayProgress& progress) {
    Simulator sim(config, policy);
    return sim.run(events, progress);
}

}  // namespace rbdtier
