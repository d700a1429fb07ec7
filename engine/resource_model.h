// ResourceModel: what each tier costs to access and to move data into, right now.
//
// Per tier: access latency (configured from TierSpec, then a measured EWMA once completions are
// fed in), capacity and used bytes, utilization (0 = idle, 1 = saturated), and the network
// distance of its site from the gateway's site (added to every access). Plus the migration
// bandwidth. Plain setters: the replay tier model feeds it now, the ceph/ resource monitor
// (df, OSD stats, completions) later. move_cost_us() prices moving `bytes` from one tier to
// another: transfer time at the migration bandwidth, weighted by the load of both tiers (plus
// `idle_move_cost` when both are idle: moving data is never entirely free).
// Engine-thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine_config.h"

namespace rbdtier {

class ResourceModel {
public:
    explicit ResourceModel(const EngineConfig& config);

    // Setters (measurements and configuration).
    void observe_latency(TierId tier, IoOp op, double latency_us);
    void set_latency(TierId tier, double read_us, double write_us);
    void set_capacity(TierId tier, std::uint64_t bytes);
    void set_used_bytes(TierId tier, std::uint64_t bytes);
    void set_utilization(TierId tier, double utilization);
    void set_site_distance(const std::string& site, double extra_latency_us);
    void set_migration_bandwidth(double bytes_per_s) {
        bandwidth_ = bytes_per_s > 0 ? bytes_per_s : 1;
    }

    // Queries.
    bool known(TierId tier) const { return index(tier) >= 0; }
    const std::vector<TierId>& tiers_fastest_first() const { return by_speed_; }
    double access_latency_us(TierId tier, double write_fraction = 0.0) const;
    std::uint64_t capacity(TierId tier) const;  // UINT64_MAX when unlimited
    std::uint64_t used(TierId tier) const;
    std::uint64_t free_bytes(TierId tier) const;
    double utilization(TierId tier) const;
    double migration_bandwidth() const { return bandwidth_; }
    double move_cost_us(TierId from, TierId to, std::uint64_t bytes) const;
    const TierSpec& spec(TierId tier) const {
        return tiers_[static_cast<std::size_t>(index(tier))].spec;
    }

private:
    struct Tier {
        TierSpec spec;
        double read_us = 0, write_us = 0;
        std::uint64_t used = 0;
        double utilization = 0;
        double distance_us = 0;
    };
    int index(TierId id) const { return id < index_.size() ? index_[id] : -1; }
    void resort();

    std::vector<Tier> tiers_;
    std::vector<int> index_;
    std::vector<TierId> by_speed_;
    std::string local_site_;
    std::unordered_map<std::string, double> site_distance_;
    double default_remote_us_;
    double bandwidth_;
    double idle_move_cost_;
};

}  // namespace rbdtier
