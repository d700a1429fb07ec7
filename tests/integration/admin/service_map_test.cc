// The gateway's service map on the live cluster: a LUN that opens is registered and published at
// once, by itself; the LUNs already open are published on the period, not again at each open
// (an open must cost the same with any number of LUNs open); a status is pushed again only when it
// changed, at the next period's look.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../tiering/tiered_storage_fixture.h"
#include "handler/gateway.h"

namespace rbdtier::test {
namespace {

using namespace std::chrono_literals;

// A count the service map shows for `lun` (-1: not listed): status_updates (statuses pushed)
// or status_unchanged (looks that pushed nothing).
long service_count(const Gateway& gateway, const std::string& lun,
                   const char* count = "status_updates") {
    const nlohmann::json map = gateway.service_json();
    if (!map.is_object()) return -1;
    for (const auto& d : map["daemons"]) {
        if (d.value("lun", "") == lun) return d.value(count, 0L);
    }
    return -1;
}
long status_updates(const Gateway& gateway, const std::string& lun) {
    return service_count(gateway, lun);
}

// Waits (deadline 30 s) until `lun`'s `count` is at least `n`.
bool wait_for_updates(const Gateway& gateway, const std::string& lun, long n,
                      const char* count = "status_updates") {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (service_count(gateway, lun, count) >= n) return true;
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

TEST(GatewayServiceMap, AnUnchangedStatusIsPushedOnceAndAChangeWithinAPeriod) {
    ceph::Cluster client = connect_test_cluster();
    Gateway gateway(GatewayConfig{}, "/nonexistent/rbdtier.conf");
    gateway.start_service_map([](const ceph::Status& s) { ADD_FAILURE() << s.message(); },
                              std::chrono::milliseconds(100));
    // The policy in force is one field of the status: a change of it is a change of the status.
    auto policy = std::make_shared<std::string>("none");
    auto policy_mutex = std::make_shared<std::mutex>();
    GatewayLun lun = service_lun("svc-idle", client);
    lun.in_force = [policy, policy_mutex] {
        std::lock_guard lock(*policy_mutex);
        return TieringInForce{*policy, 0, 0};
    };
    std::string error;
    Gateway::Registration registration = gateway.add_lun(std::move(lun), error);
    ASSERT_TRUE(registration.registered()) << error;
    ASSERT_TRUE(wait_for_updates(gateway, "svc-idle", 1)) << "pushed when it opened";
    // Idle over many periods: looked at every period, pushed no more.
    ASSERT_TRUE(wait_for_updates(gateway, "svc-idle", 5, "status_unchanged"));
    EXPECT_EQ(status_updates(gateway, "svc-idle"), 1) << gateway.service_json().dump();

    const long looks_before = service_count(gateway, "svc-idle", "status_unchanged");
    {
        std::lock_guard lock(*policy_mutex);
        *policy = "reactive";
    }
    ASSERT_TRUE(wait_for_updates(gateway, "svc-idle", 2)) << "the change was never pushed";
    // At the first look after the change (a look under way as it changed may miss it).
    EXPECT_LE(service_count(gateway, "svc-idle", "status_unchanged"), looks_before + 1)
        << "the change was pushed periods late";
    // And not again while it stays.
    const long looks_after = service_count(gateway, "svc-idle", "status_unchanged");
    ASSERT_TRUE(wait_for_updates(gateway, "svc-idle", looks_after + 3, "status_unchanged"));
    EXPECT_EQ(status_updates(gateway, "svc-idle"), 2) << gateway.service_json().dump();
}

}  // namespace
}  // namespace rbdtier::test
