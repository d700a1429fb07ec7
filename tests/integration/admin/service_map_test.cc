// The gateway's service map on the live cluster: a LUN that opens is registered and published at
// once, by itself; the LUNs already open are published on the period, not again at each open
// (an open must cost the same with any number of LUNs open).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../tiering/tiered_storage_fixture.h"
#include "handler/gateway.h"

namespace rbdtier::test {
namespace {

using namespace std::chrono_literals;

// The status updates the service map shows for `lun` (-1: not listed).
long status_updates(const Gateway& gateway, const std::string& lun) {
    const nlohmann::json map = gateway.service_json();
    if (!map.is_object()) return -1;
    for (const auto& d : map["daemons"]) {
        if (d.value("lun", "") == lun) return d.value("status_updates", 0L);
    }
    return -1;
}

// Waits (deadline 30 s) until `lun` has at least `n` status updates.
bool wait_for_updates(const Gateway& gateway, const std::string& lun, long n) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (status_updates(gateway, lun) >= n) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

GatewayLun service_lun(const std::string& name, ceph::Cluster& cluster) {
    GatewayLun lun;
    lun.name = name;
    lun.pool = "hdd-a";
    lun.image = name;
    lun.cluster = &cluster;
    return lun;
}

TEST(GatewayServiceMap, AnOpeningLunIsPublishedAloneNotWithEveryLunOpen) {
    constexpr int kLuns = 4;
    // One RADOS client per LUN, as the LUNs have (librados takes one registration per client).
    std::vector<std::unique_ptr<ceph::Cluster>> clients;
    for (int i = 0; i < kLuns; ++i)
        clients.push_back(std::make_unique<ceph::Cluster>(connect_test_cluster()));
    Gateway gateway(GatewayConfig{}, "/nonexistent/rbdtier.conf");
    // A period far longer than the test: every publication seen comes from an open.
    gateway.start_service_map([](const ceph::Status& s) { ADD_FAILURE() << s.message(); },
                              std::chrono::hours(1));
    std::vector<Gateway::Registration> registrations;
    for (int i = 0; i < kLuns; ++i) {
        const std::string name = "svc-" + std::to_string(i);
        std::string error;
        registrations.push_back(gateway.add_lun(service_lun(name, *clients[i]), error));
        ASSERT_TRUE(registrations.back().registered()) << error;
        ASSERT_TRUE(wait_for_updates(gateway, name, 1)) << name << " was not published at once";
    }
    // The first pass (the publisher's start) may have seen svc-0; none was published again.
    EXPECT_LE(status_updates(gateway, "svc-0"), 2);
    for (int i = 1; i < kLuns; ++i) {
        const std::string name = "svc-" + std::to_string(i);
        EXPECT_EQ(status_updates(gateway, name), 1)
            << name << " was published again when a later LUN opened";
    }
    registrations.clear();
}

}  // namespace
}  // namespace rbdtier::test
