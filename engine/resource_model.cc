#include "engine/resource_model.h"

#include <algorithm>
#include <limits>

namespace rbdtier {

namespace {
constexpr double kLatencyAlpha = 0.05;
}

ResourceModel::ResourceModel(const EngineConfig& config)
    : local_site_(config.local_site),
      default_remote_us_(config.remote_site_penalty_us),
      bandwidth_(config.migration_bandwidth_bytes_per_s > 0 ? config.migration_bandwidth_bytes_per_s
                                                            : 1),
      idle_move_cost_(config.idle_move_cost) {
    for (const auto& spec : config.tiers) {
        if (spec.id >= index_.size()) index_.resize(spec.id + 1, -1);
        index_[spec.id] = static_cast<int>(tiers_.size());
        Tier t;
        t.spec = spec;
        t.read_us = spec.read_latency_us;
        t.write_us = spec.write_latency_us > 0 ? spec.write_latency_us : spec.read_latency_us;
        t.distance_us = (!local_site_.empty() && !spec.site.empty() && spec.site != local_site_)
                            ? default_remote_us_
                            : 0.0;
        tiers_.push_back(t);
    }
    resort();
}

void ResourceModel::resort() {
    by_speed_.clear();
    for (const auto& t : tiers_) by_speed_.push_back(t.spec.id);
    std::stable_sort(by_speed_.begin(), by_speed_.end(), [&](TierId a, TierId b) {
        return access_latency_us(a) < access_latency_us(b);
    });
}

void ResourceModel::observe_latency(TierId tier, IoOp op, double latency_us) {
    const int i = index(tier);
    if (i < 0 || latency_us <= 0) return;
    double& l = op == IoOp::kRead ? tiers_[i].read_us : tiers_[i].write_us;
    l = l <= 0 ? latency_us : (1 - kLatencyAlpha) * l + kLatencyAlpha * latency_us;
    resort();
}

void ResourceModel::set_latency(TierId tier, double read_us, double write_us) {
    const int i = index(tier);
    if (i < 0) return;
    tiers_[i].read_us = read_us;
    tiers_[i].write_us = write_us > 0 ? write_us : read_us;
    resort();
}

void ResourceModel::set_capacity(TierId tier, std::uint64_t bytes) {
    const int i = index(tier);
    if (i >= 0) tiers_[i].spec.capacity_bytes = bytes;
}

void ResourceModel::set_used_bytes(TierId tier, std::uint64_t bytes) {
    const int i = index(tier);
    if (i >= 0) tiers_[i].used = bytes;
}

void ResourceModel::set_utilization(TierId tier, double u) {
    const int i = index(tier);
    if (i >= 0) tiers_[i].utilization = std::clamp(u, 0.0, 1.0);
}

void ResourceModel::set_site_distance(const std::string& site, double us) {
    site_distance_[site] = us;
    for (auto& t : tiers_)
        if (t.spec.site == site && site != local_site_) t.distance_us = us;
    resort();
}

double ResourceModel::access_latency_us(TierId tier, double write_fraction) const {
    const int i = index(tier);
    if (i < 0) return 0.0;
    const Tier& t = tiers_[i];
    const double w = std::clamp(write_fraction, 0.0, 1.0);
    return (1 - w) * t.read_us + w * t.write_us + t.distance_us;
}

std::uint64_t ResourceModel::capacity(TierId tier) const {
    const int i = index(tier);
    if (i < 0) return 0;
    const auto c = tiers_[i].spec.capacity_bytes;
    return c == 0 ? std::numeric_limits<std::uint64_t>::max() : c;
}

std::uint64_t ResourceModel::used(TierId tier) const {
    const int i = index(tier);
    return i < 0 ? 0 : tiers_[i].used;
}

std::uint64_t ResourceModel::free_bytes(TierId tier) const {
    const auto c = capacity(tier), u = used(tier);
    return c > u ? c - u : 0;
}

double ResourceModel::utilization(TierId tier) const {
    const int i = index(tier);
    return i < 0 ? 0.0 : tiers_[i].utilization;
}

double ResourceModel::move_cost_us(TierId from, TierId to, std::uint64_t bytes) const {
    const double transfer_us = static_cast<double>(bytes) / bandwidth_ * 1e6;
    return transfer_us * (idle_move_cost_ + utilization(from) + utilization(to));
}

}  // namespace rbdtier
