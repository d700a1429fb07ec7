// TenantStore on the local cluster, and the `rbdtier tenant` verbs against it (no gateway).
#include "ceph/tenant_store.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "../tiering/tiered_storage_fixture.h"
#include "tests/support/shell_command.h"

namespace rbdtier::test {
namespace {

using nlohmann::json;
constexpr const char* kPool = "nvme-a";

struct Store {
    ceph::Cluster cluster = connect_test_cluster();
    ceph::IoContext io = open_test_pool(cluster, kPool);
    ceph::TenantStore store{io};
};

TEST(TenantStore, RoundTripAndRefusals) {
    Store s;
    ceph::StoredTenant t;
    t.name = unique_name("gold");
    t.quota_bytes = {{"nvme-a", 10ull << 30}, {"nvme-b", 1ull << 30}};
    t.bandwidth_weight = 3;
    t.priority = 2.5;
    ASSERT_TRUE(s.store.create(t)) << "create";
    EXPECT_EQ(s.store.create(t).code(), -EEXIST);
    auto got = s.store.get(t.name);
    ASSERT_TRUE(got) << got.status().message();
    EXPECT_EQ(got.value(), t);

    t.priority = 4;
    t.quota_bytes.erase("nvme-b");
    ASSERT_TRUE(s.store.update(t));
    EXPECT_EQ(s.store.get(t.name).value(), t);
    auto all = s.store.list();
    ASSERT_TRUE(all);
    EXPECT_EQ(std::count(all.value().begin(), all.value().end(), t), 1);

    const TenantSpec spec = t.to_spec({"hdd-a", "nvme-a", "nvme-b"});
    EXPECT_EQ(spec.quota_bytes.at(1), 10ull << 30);
    EXPECT_EQ(spec.quota_bytes.count(2), 0u);
    EXPECT_DOUBLE_EQ(spec.priority, 4);

    ceph::StoredTenant missing;
    missing.name = unique_name("nobody");
    EXPECT_EQ(s.store.update(missing).code(), -ENOENT);
    EXPECT_EQ(s.store.get(missing.name).status().code(), -ENOENT);
    missing.name = "bad name";
    EXPECT_EQ(s.store.create(missing).code(), -EINVAL);

    ASSERT_TRUE(s.store.remove(t.name));
    EXPECT_EQ(s.store.get(t.name).status().code(), -ENOENT);
}

// Two writers updating different tenants at once: the version guard loses no update.
TEST(TenantStore, ConcurrentWritersLoseNothing) {
    Store a, b;
    const std::string na = unique_name("ta"), nb = unique_name("tb");
    ceph::StoredTenant ta, tb;
    ta.name = na;
    tb.name = nb;
    ASSERT_TRUE(a.store.create(ta));
    ASSERT_TRUE(b.store.create(tb));
    constexpr int kRounds = 15;
    int failures = 0;
    auto writer = [&failures](ceph::TenantStore& store, ceph::StoredTenant t) {
        for (int i = 1; i <= kRounds; ++i) {
            t.priority = i;
            if (const ceph::Status st = store.update(t); !st) {
                ++failures;
                ADD_FAILURE() << st.message();
            }
        }
    };
    std::thread x(writer, std::ref(a.store), ta), y(writer, std::ref(b.store), tb);
    x.join();
    y.join();
    EXPECT_EQ(failures, 0);
    EXPECT_DOUBLE_EQ(a.store.get(na).value().priority, kRounds);
    EXPECT_DOUBLE_EQ(a.store.get(nb).value().priority, kRounds);
    ASSERT_TRUE(a.store.remove(na));
    ASSERT_TRUE(a.store.remove(nb));
}

using CliRun = test_support::ShellRun;

CliRun cli(const std::string& args) {
    const std::string cmd = std::string(RBDTIER_CLI_PATH) + " " + args + " --pool " + kPool +
                            " --ceph-conf " + std::getenv("RBDTIER_CEPH_CONF") +
                            " --format json 2>/dev/null";
    return test_support::run_shell(cmd);
}

TEST(TenantCli, CreateSetShowListWithoutAGateway) {
    const std::string name = unique_name("silver");
    CliRun r = cli("tenant create " + name + " --quota nvme-a=2G --quota hdd-b=512M --priority 2");
    ASSERT_EQ(r.code, 0) << r.out;
    json j = json::parse(r.out);
    EXPECT_EQ(j["quota_bytes"]["nvme-a"], 2ull << 30);
    EXPECT_EQ(j["quota_bytes"]["hdd-b"], 512ull << 20);

    r = cli("tenant set " + name + " --bandwidth-weight 4 --quota hdd-b=0");
    ASSERT_EQ(r.code, 0) << r.out;
    r = cli("tenant show " + name);
    ASSERT_EQ(r.code, 0) << r.out;
    j = json::parse(r.out);
    EXPECT_DOUBLE_EQ(j["priority"].get<double>(), 2);
    EXPECT_DOUBLE_EQ(j["bandwidth_weight"].get<double>(), 4);
    EXPECT_EQ(j["quota_bytes"].size(), 1u);

    r = cli("tenant list");
    ASSERT_EQ(r.code, 0) << r.out;
    bool listed = false;
    const json listing = json::parse(r.out);
    for (const auto& t : listing["tenants"]) listed |= t["name"] == name;
    EXPECT_TRUE(listed) << r.out;

    r = cli("tenant create " + name);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(json::parse(r.out)["error"].get<std::string>().find("File exists"), std::string::npos)
        << r.out;
    r = cli("tenant show " + unique_name("none"));
    EXPECT_EQ(r.code, 1);
    r = cli("tenant set " + name + " --quota nvme-a=lots");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(json::parse(r.out)["error"].get<std::string>().find("is not a size"),
              std::string::npos);

    Store s;
    ASSERT_TRUE(s.store.remove(name));
}

}  // namespace
}  // namespace rbdtier::test
