#include "ceph/tier_discovery.h"

#include <rados/librados.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "ceph/io_context.h"
#include "engine/device_class.h"

namespace rbdtier::ceph {
namespace {

// Runs a monitor command; the parsed JSON reply, or null on any failure.
nlohmann::json mon_command(const Cluster& cluster, const nlohmann::json& command) {
    const std::string text = command.dump();
    const char* cmd[] = {text.c_str()};
    char* out = nullptr;
    char* status = nullptr;
    std::size_t out_len = 0, status_len = 0;
    int rc = rados_mon_command(cluster.handle(), cmd, 1, nullptr, 0, &out, &out_len, &status,
                               &status_len);
    nlohmann::json reply;
    if (rc >= 0 && out != nullptr) {
        reply = nlohmann::json::parse(std::string(out, out_len), nullptr, false);
        if (reply.is_discarded()) reply = nullptr;
    }
    if (out != nullptr) rados_buffer_free(out);
    if (status != nullptr) rados_buffer_free(status);
    return reply;
}

// The median of a few round trips to one of the pool's OSDs; none when the pool cannot be
// reached.
std::optional<double> median_round_trip_us(const Cluster& cluster, const std::string& pool) {
    auto io = IoContext::open(cluster, pool);
    if (!io) return std::nullopt;
    std::vector<double> samples;
    for (int i = 0; i < 5; ++i) {
        std::uint64_t size = 0;
        time_t mtime = 0;
        const auto t0 = std::chrono::steady_clock::now();
        int rc = rados_stat(io->handle(), "rbdtier_latency_probe", &size, &mtime);
        const auto t1 = std::chrono::steady_clock::now();
        if (rc < 0 && rc != -ENOENT) return std::nullopt;
        samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

// The CRUSH rule's first `take` item of the pool ("<bucket>[~<class>]", "" when it has none);
// none when the monitors did not answer.
std::optional<std::string> take_item(const Cluster& cluster, const std::string& pool) {
    const auto rule = mon_command(
        cluster,
        {{"prefix", "osd pool get"}, {"pool", pool}, {"var", "crush_rule"}, {"format", "json"}});
    if (!rule.is_object() || !rule.contains("crush_rule") || !rule["crush_rule"].is_string())
        return std::nullopt;
    const auto dump = mon_command(
        cluster,
        {{"prefix", "osd crush rule dump"}, {"name", rule["crush_rule"]}, {"format", "json"}});
    if (!dump.is_object() || !dump.contains("steps") || !dump["steps"].is_array())
        return std::nullopt;
    for (const auto& step : dump["steps"]) {
        if (step.is_object() && step.value("op", "") == "take" && step.contains("item_name") &&
            step["item_name"].is_string())
            return step["item_name"].get<std::string>();
    }
    return std::string();
}

// What `catalog` keeps of a pool of one cluster, and stores there what is learnt.
class PoolLookup {
public:
    PoolLookup(const Cluster& cluster, const std::string& pool, TierCatalog* catalog)
        : cluster_(cluster),
          pool_(pool),
          catalog_(catalog != nullptr ? catalog : TierCatalog::process().get()) {
        char fsid[64] = {};
        const std::int64_t id = rados_pool_lookup(cluster.handle(), pool.c_str());
        // Without the cluster's id and the pool's, facts cannot be told from another pool's.
        if (id < 0 || rados_cluster_fsid(cluster.handle(), fsid, sizeof fsid - 1) < 0) {
            catalog_ = nullptr;
            return;
        }
        fsid_ = fsid;
        pool_id_ = id;
        facts_ = catalog_->find(fsid_, pool_id_, std::chrono::steady_clock::now());
    }

    const std::string& take() {
        if (!facts_.take_item) learn(PoolFacts{take_item(cluster_, pool_), std::nullopt});
        return facts_.take_item ? *facts_.take_item : empty_;
    }
    double round_trip_us() {
        if (!facts_.round_trip_us)
            learn(PoolFacts{std::nullopt, median_round_trip_us(cluster_, pool_)});
        return facts_.round_trip_us.value_or(0);
    }

private:
    void learn(const PoolFacts& learnt) {
        if (learnt.take_item) facts_.take_item = learnt.take_item;
        if (learnt.round_trip_us) facts_.round_trip_us = learnt.round_trip_us;
        if (catalog_ != nullptr)
            catalog_->store(fsid_, pool_id_, learnt, std::chrono::steady_clock::now());
    }

    const Cluster& cluster_;
    const std::string& pool_;
    TierCatalog* catalog_;
    std::string fsid_;
    std::int64_t pool_id_ = -1;
    PoolFacts facts_;
    const std::string empty_;
};

}  // namespace

PoolFacts TierCatalog::find(const std::string& fsid, std::int64_t pool_id,
                            std::chrono::steady_clock::time_point now) const {
    return facts_.find({fsid, pool_id}, now).value_or(PoolFacts{});
}

void TierCatalog::store(const std::string& fsid, std::int64_t pool_id, const PoolFacts& facts,
                        std::chrono::steady_clock::time_point now) {
    if (!facts.take_item && !facts.round_trip_us) return;
    facts_.update({fsid, pool_id}, now, [&facts](PoolFacts& kept) {
        if (!kept.take_item) kept.take_item = facts.take_item;
        if (!kept.round_trip_us) kept.round_trip_us = facts.round_trip_us;
    });
}

void TierCatalog::clear() {
    facts_.clear();
}

std::size_t TierCatalog::size() const {
    return facts_.size();
}

std::shared_ptr<TierCatalog> TierCatalog::process() {
    static const auto catalog = std::make_shared<TierCatalog>(kProcessMaxAge);
    return catalog;
}

std::string pool_device_class(const Cluster& cluster, const std::string& pool,
                              TierCatalog* catalog) {
    PoolLookup lookup(cluster, pool, catalog);
    const std::string& item = lookup.take();
    const auto tilde = item.find('~');
    return tilde == std::string::npos ? "" : item.substr(tilde + 1);
}

bool pool_is_solid_state(const Cluster& cluster, const std::string& pool, TierCatalog* catalog) {
    // Solid-state media rank before spinning media (engine/device_class.h).
    const std::optional<int> rank = device_class_rank(pool_device_class(cluster, pool, catalog));
    return rank && *rank < *device_class_rank("hdd");
}

TierSpec describe_tier(const Cluster& cluster, const std::string& pool, TierCatalog* catalog) {
    TierSpec spec;
    spec.name = pool;
    PoolLookup lookup(cluster, pool, catalog);
    const std::string& item = lookup.take();
    if (!item.empty()) {
        const auto tilde = item.find('~');
        const std::string bucket = item.substr(0, tilde);
        if (tilde != std::string::npos) spec.device_class = item.substr(tilde + 1);
        if (bucket != "default") spec.site = bucket;
    }
    // A few round trips cannot tell media apart on an idle cluster (memstore, caches): the
    // device class sets a floor, so an hdd pool never looks faster than an nvme one by noise.
    spec.read_latency_us = spec.write_latency_us =
        std::max(lookup.round_trip_us(), device_class_floor_us(spec.device_class));
    return spec;
}

}  // namespace rbdtier::ceph
