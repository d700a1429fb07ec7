#include "ceph/tier_discovery.h"

#include <rados/librados.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "ceph/io_context.h"

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

double median_round_trip_us(const Cluster& cluster, const std::string& pool) {
    auto io = IoContext::open(cluster, pool);
    if (!io) return 0;
    std::vector<double> samples;
    for (int i = 0; i < 5; ++i) {
        std::uint64_t size = 0;
        time_t mtime = 0;
        const auto t0 = std::chrono::steady_clock::now();
        int rc = rados_stat(io->handle(), "rbdtier_latency_probe", &size, &mtime);
        const auto t1 = std::chrono::steady_clock::now();
        if (rc < 0 && rc != -ENOENT) return 0;
        samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

// The CRUSH rule's first `take` item of the pool ("<bucket>[~<class>]"), or "".
std::string take_item(const Cluster& cluster, const std::string& pool) {
    const auto rule = mon_command(
        cluster,
        {{"prefix", "osd pool get"}, {"pool", pool}, {"var", "crush_rule"}, {"format", "json"}});
    if (!rule.is_object() || !rule.contains("crush_rule") || !rule["crush_rule"].is_string())
        return "";
    const auto dump = mon_command(
        cluster,
        {{"prefix", "osd crush rule dump"}, {"name", rule["crush_rule"]}, {"format", "json"}});
    if (!dump.is_object() || !dump.contains("steps") || !dump["steps"].is_array()) return "";
    for (const auto& step : dump["steps"]) {
        if (step.is_object() && step.value("op", "") == "take" && step.contains("item_name") &&
            step["item_name"].is_string())
            return step["item_name"].get<std::string>();
    }
    return "";
}

}  // namespace

std::string pool_device_class(const Cluster& cluster, const std::string& pool) {
    const std::string item = take_item(cluster, pool);
    const auto tilde = item.find('~');
    return tilde == std::string::npos ? "" : item.substr(tilde + 1);
}

bool pool_is_solid_state(const Cluster& cluster, const std::string& pool) {
    const std::string c = pool_device_class(cluster, pool);
    return c == "ssd" || c == "nvme";
}

TierSpec describe_tier(const Cluster& cluster, const std::string& pool) {
    TierSpec spec;
    spec.name = pool;
    const std::string item = take_item(cluster, pool);
    if (!item.empty()) {
        const auto tilde = item.find('~');
        const std::string bucket = item.substr(0, tilde);
        if (tilde != std::string::npos) spec.device_class = item.substr(tilde + 1);
        if (bucket != "default") spec.site = bucket;
    }
    // A few round trips cannot tell media apart on an idle cluster (memstore, caches): the
    // device class sets a floor, so an hdd pool never looks faster than an nvme one by noise.
    double floor_us = 0;
    if (spec.device_class == "nvme") floor_us = 100;
    if (spec.device_class == "ssd") floor_us = 300;
    if (spec.device_class == "hdd") floor_us = 5000;
    spec.read_latency_us = spec.write_latency_us =
        std::max(median_round_trip_us(cluster, pool), floor_us);
    return spec;
}

}  // namespace rbdtier::ceph
