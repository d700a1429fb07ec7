// rbdtier.conf reaches the LUNs of the real handler_rbdtier.so (loaded by the harness, on the
// local cluster): the horizon (unless a LUN's cfgstring says horizon=), the round, a [tier]
// section's capacity and latency, and the migration bandwidth budget, one for the gateway that
// its tiered LUNs draw from (their tenants' bandwidth weights, as stored in RADOS, go with their
// requests), following the config when it is reloaded. The engine keeps within what the config
// says: no more extents in the narrowed tier, no more bytes moved than the budget allows. An
// untiered LUN shows its lock ownership too. max_tracked_extents reaches a LUN's engine, and
// passing it is an alert and one log line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/tenant_store.h"
#include "ceph/tier_images.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using namespace std::chrono_literals;

constexpr std::uint64_t kSize = 8 * kExtent;
constexpr double kMiB = 1 << 20;

class GatewaySettings : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        const std::string tag = std::to_string(::getpid());
        for (auto& [pool, name] : images_) {
            name = "so-set-" + pool + "-" + std::to_string(names_++) + "-" + tag;
            auto io = ceph::IoContext::open(*cluster_, pool);
            ASSERT_TRUE(io.is_ok()) << io.status().message();
            ASSERT_TRUE(ceph::create_image(*io, name, kSize).is_ok()) << name;
        }
    }
    void TearDown() override {
        if (!cluster_) return;
        if (auto io = ceph::IoContext::open(*cluster_, "hdd-a")) {
            ceph::TenantStore store(*io);
            for (const std::string& t : {gold(), silver()}) (void)store.remove(t);
        }
        for (const auto& [pool, name] : images_) {
            auto io = ceph::IoContext::open(*cluster_, pool);
            if (!io) continue;
            if (pool == "hdd-a") {  // tiered: its tier image and placement map go too
                (void)ceph::remove_tiered_lun_store(*cluster_, pool, "", name, {"nvme-a"});
            }
            (void)ceph::remove_image(*io, name);
        }
    }
    std::string gold() const { return "gold-" + std::to_string(::getpid()); }
    std::string silver() const { return "silver-" + std::to_string(::getpid()); }
    std::string spec(std::size_t i) const { return images_[i].first + "/" + images_[i].second; }
    std::string cfg(std::size_t i, const std::string& options) const {
        return spec(i) + ";conf=" + ceph_conf() + options;
    }

    int names_ = 0;
    // Two tiered LUNs (home hdd-a, tier nvme-a) and an untiered one.
    std::vector<std::pair<std::string, std::string>> images_ = {
        {"hdd-a", ""}, {"hdd-a", ""}, {"nvme-b", ""}};
};

const json& lun_named(const json& status, const std::string& name) {
    const json* l = find_named(status["luns"], name);
    if (l == nullptr) throw std::runtime_error("no LUN " + name + " in " + status.dump());
    return *l;
}

std::uint64_t extents_in(const json& lun_show, const std::string& pool) {
    for (const auto& t : lun_show["tiers"])
        if (t["pool"] == pool) return t["extents"].get<std::uint64_t>();
    return 0;
}

TEST_F(GatewaySettings, TheConfigReachesTheLunsAndTheEngineKeepsWithinIt) {
    const std::string body =
        "metrics_port = 0\nhorizon_s = 16\nround_s = 0.5\nmigration_bandwidth_mib_s = 8\n"
        "[tier nvme-a]\ncapacity_bytes = 8388608\nlatency_ms = 0.5\n";
    GatewayConf gw(body);
    // Two tenants in the tenant pool (the first tier, hdd-a): gold weighs 3, silver 1.
    ceph::TenantStore tenants(*hdd_a_);
    ceph::StoredTenant t;
    t.name = gold();
    t.bandwidth_weight = 3;
    ASSERT_TRUE(tenants.create(t).is_ok());
    t.name = silver();
    t.bandwidth_weight = 1;
    ASSERT_TRUE(tenants.create(t).is_ok());
    harness::Harness h(HANDLER_SO);
    // Only the holder of a LUN's exclusive lock migrates: writes take it, as ALUA failover does.
    auto open = [&](const std::string& cfgstring) {
        harness::DeviceConfig dc{cfgstring, kSize};
        dc.implicit_failover = true;
        return h.open(dc);
    };
    auto a = open(cfg(0, ";tiers=hdd-a+nvme-a;policy=reactive;tenant=" + gold()));
    auto b = open(cfg(1, ";tiers=hdd-a+nvme-a;policy=reactive;horizon=2;tenant=" + silver()));
    auto plain = open(cfg(2, ""));
    std::vector<char> block(4096, 'w');
    for (auto* dev : {a.get(), b.get(), plain.get()})
        ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());

    json status = cli_json("status", gw.socket());
    const json& la = lun_named(status, spec(0));
    const json& lb = lun_named(status, spec(1));
    const json& lp = lun_named(status, spec(2));
    EXPECT_EQ(la["horizon_s"], 16) << "rbdtier.conf's horizon";
    EXPECT_EQ(la["round_s"], 0.5) << "rbdtier.conf's round (16 s / 8 is longer)";
    EXPECT_EQ(lb["horizon_s"], 2) << "the cfgstring's horizon= wins";
    EXPECT_EQ(lb["round_s"], 0.25) << "at least 8 rounds per horizon";
    EXPECT_EQ(lp["lock_owner"], true) << "an untiered LUN shows its lock too: " << lp.dump();
    EXPECT_EQ(la["lock_owner"], true);

    // One budget for the gateway: both tiered LUNs draw from its 8 MiB/s.
    EXPECT_EQ(la["migration_bandwidth_mib_s"], 8);
    EXPECT_EQ(lb["migration_bandwidth_mib_s"], 8);
    EXPECT_EQ(status["migration_budget"]["bandwidth_mib_s"], 8) << status.dump();
    EXPECT_TRUE(lp["engine"].is_null());

    const json tiers = cli_json("tier list", gw.socket());
    const json* nvme = nullptr;
    for (const auto& t : tiers["tiers"])
        if (t["pool"] == "nvme-a") nvme = &t;
    ASSERT_NE(nvme, nullptr) << tiers.dump();
    EXPECT_EQ((*nvme)["capacity_bytes"], 8u << 20) << "the [tier nvme-a] section";
    EXPECT_EQ((*nvme)["latency_ms"], 0.5);

    // Four extents of LUN a read over and over: the reactive policy wants all four in nvme-a,
    // where two fit; the budget (8 MiB/s, one second of burst; b asks for nothing) paces it.
    std::vector<char> back(4096);
    auto read_hot = [&] {
        for (std::uint64_t e = 0; e < 4; ++e)
            if (!a->read(e * kExtent / 512, back.data(), back.size()).ok()) return false;
        return true;
    };
    auto show_a = [&] { return cli_json("lun show " + spec(0), gw.socket()); };
    ASSERT_TRUE(wait_for([&] { return read_hot() && extents_in(show_a(), "nvme-a") == 2; }, 60s))
        << show_a().dump();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t moved0 = show_a()["engine"]["bytes_moved"].get<std::uint64_t>();
    std::uint64_t most_in_nvme = 0;
    while (std::chrono::steady_clock::now() - t0 < 4s) {
        ASSERT_TRUE(read_hot());
        most_in_nvme = std::max(most_in_nvme, extents_in(show_a(), "nvme-a"));
    }
    const json end = show_a();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double moved =
        static_cast<double>(end["engine"]["bytes_moved"].get<std::uint64_t>() - moved0);
    EXPECT_LE(most_in_nvme, 2u) << "8 MiB of nvme-a hold two extents";
    // What the budget allows in the window, its one second of burst, and the move in flight.
    EXPECT_LE(moved, 8 * kMiB * (seconds + 1) + kExtent) << end.dump();
    // LUN a asked the budget as its tenant, with the weight stored in RADOS.
    status = cli_json("status", gw.socket());
    const json* gold_budget = nullptr;
    for (const auto& t : status["migration_budget"]["tenants"])
        if (t["tenant"] == gold()) gold_budget = &t;
    ASSERT_NE(gold_budget, nullptr) << status.dump();
    EXPECT_EQ((*gold_budget)["weight"], 3);
    EXPECT_GT((*gold_budget)["granted_bytes"].get<std::uint64_t>(), 0u);

    // A reload gives the budget the new bandwidth at once, for every LUN.
    gw.rewrite("metrics_port = 0\nmigration_bandwidth_mib_s = 2\n");
    EXPECT_EQ(cli_json("reload", gw.socket())["reloaded"], true);
    status = cli_json("status", gw.socket());
    EXPECT_EQ(lun_named(status, spec(0))["migration_bandwidth_mib_s"], 2);
    EXPECT_EQ(lun_named(status, spec(1))["migration_bandwidth_mib_s"], 2);
    EXPECT_EQ(status["migration_budget"]["bandwidth_mib_s"], 2);
    EXPECT_EQ(lun_named(status, spec(0))["horizon_s"], 16) << "the horizon stays the LUN's own";
    b.reset();
    status = cli_json("status", gw.socket());
    EXPECT_EQ(status["luns"].size(), 2u);
    EXPECT_EQ(lun_named(status, spec(0))["migration_bandwidth_mib_s"], 2);

    // Each open reads the file anew: a LUN opened after an edit runs with it, no reload needed;
    // a bad file at open is logged and the last good settings stay.
    const std::string b_cfg = cfg(1, ";tiers=hdd-a+nvme-a;policy=reactive;tenant=" + silver());
    gw.rewrite("metrics_port = 0\nmigration_bandwidth_mib_s = 2\nhorizon_s = 24\n");
    b = open(b_cfg);
    status = cli_json("status", gw.socket());
    EXPECT_EQ(lun_named(status, spec(1))["horizon_s"], 24) << status.dump();
    EXPECT_EQ(status["horizon_s"], 24);
    b.reset();
    gw.rewrite("metrics_port = 0\nhorizon_s = soon\nsite = site-b\n");
    b = open(b_cfg);
    std::vector<char> check(4096);
    ASSERT_TRUE(b->write(8, block.data(), block.size()).ok()) << "the LUN serves regardless";
    ASSERT_TRUE(b->read(8, check.data(), check.size()).ok());
    EXPECT_EQ(check, block);
    status = cli_json("status", gw.socket());
    EXPECT_EQ(lun_named(status, spec(1))["horizon_s"], 24) << "the last good settings";
    EXPECT_EQ(status["site"], "site-a");
}

// rbdtier.conf's max_tracked_extents reaches a LUN's engine: reads of more extents than it
// tracks raise a "tracking limit" alert naming the limit (rbdtier alerts), and the runner's log
// says it once, about that LUN.
TEST_F(GatewaySettings, TheLimitOfTrackedExtentsIsReadAndReportedWhenPassed) {
    constexpr std::uint64_t kLimit = 1024, kExtents = kLimit + 64;
    GatewayConf gw("metrics_port = 0\nmax_tracked_extents = " + std::to_string(kLimit) + "\n");
    TestImage image("hdd-a", "so-set-limit", kExtents * kExtent);
    struct Cleanup {
        ceph::Cluster& cluster;
        std::string name;
        ~Cleanup() { (void)ceph::remove_tiered_lun_store(cluster, "hdd-a", "", name, {"nvme-a"}); }
    } cleanup{*cluster_, image.name()};
    const std::string spec = "hdd-a/" + image.name();
    harness::LogCapture log;
    {
        harness::Harness h(HANDLER_SO);
        harness::DeviceConfig dc{
            spec + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a;policy=predictive",
            kExtents * kExtent};
        auto dev = h.open(dc);
        std::vector<char> block(4096);
        // A write takes the exclusive lock (as librbd does without ALUA): a sole gateway that holds
        // it runs the LUN's planning rounds, which fold the reads into the engine.
        ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());
        for (std::uint64_t x = 0; x < kExtents; ++x)
            ASSERT_TRUE(dev->read(x * kExtent / 512, block.data(), block.size()).ok()) << x;

        json limit;
        const bool alerted = wait_for(
            [&] {
                const json alerts = cli_json("alerts --lun " + spec, gw.socket());
                for (const json& a : alerts["alerts"])
                    if (a["kind"] == "tracking limit") limit = a;
                return !limit.is_null();
            },
            60s);
        ASSERT_TRUE(alerted) << "no tracking-limit alert within 60 s of reading " << kExtents
                             << " extents";
        EXPECT_EQ(limit["lun"], spec);
        EXPECT_EQ(limit["extents"], kLimit);
        const std::string description = limit["description"];
        EXPECT_NE(description.find("at most " + std::to_string(kLimit) + " extents"),
                  std::string::npos)
            << description;
        EXPECT_NE(description.find("max_tracked_extents"), std::string::npos) << description;
    }
    std::size_t logged = 0;
    for (const std::string& line : log.lines())
        if (line.rfind("warn ", 0) == 0 && line.find(spec) != std::string::npos &&
            line.find("max_tracked_extents") != std::string::npos)
            ++logged;
    EXPECT_EQ(logged, 1u) << "one warning about the limit, naming the LUN";
}

}  // namespace
}  // namespace rbdtier
