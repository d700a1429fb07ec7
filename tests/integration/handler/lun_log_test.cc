// What a tiered LUN tells the admin through the log (common/log.h), on the local cluster: its
// open with tiers and policy, the map load, taking the lock and the LUN's placement, a
// migration, the loss of the lock to another gateway (and what the initiator is answered
// then), the release of the lock and the close; a failed take of the lock, in one record; the
// admin's commands that change the LUN, once each.
#include <gtest/gtest.h>
#include <rados/librados.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "ceph/io_context.h"
#include "ceph/settings_store.h"
#include "ceph/tiered_lun_store.h"
#include "common/log.h"
#include "handler/admin_commands.h"
#include "handler/gateway.h"
#include "handler/lun_admin_view.h"
#include "lun_fixture.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 4 * kExtent;
constexpr const char* kTiers = "tiers=hdd-a,nvme-a;policy=reactive";

int read_block(Lun& lun, std::uint64_t off) {
    std::vector<char> buf(4096);
    iovec v{buf.data(), buf.size()};
    TestCommand c;
    return run([&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, buf.size(), off); }, c);
}

TEST(LunLog, OpenMigrationLockLossAndCloseAreLogged) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ScratchImage image("hdd-a", kSize, "logged");
    ASSERT_TRUE(image.ok());
    const std::string lun = "hdd-a/" + image.name();
    using log::Level;

    auto a = build_lun(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    const auto opened = capture.find(Level::kInfo, lun, "opened: ");
    ASSERT_EQ(opened.size(), 1u);
    EXPECT_NE(opened[0].text.find("tiers hdd-a (home), nvme-a; policy reactive"), std::string::npos)
        << opened[0].text;
    EXPECT_EQ(capture.find(Level::kInfo, lun, "placement map loaded: 0 of 4 extents").size(), 1u);

    ASSERT_EQ((*a)->exclusive_lock().lock(1), TCMU_STS_OK);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "took the exclusive lock (ALUA tag 1)").size(), 1u);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "owns the LUN's placement").size(), 1u);

    (*a)->tiered_lun()->tiering().set_paused(true);  // the test moves the extent itself
    MigrationRecord record;
    ASSERT_TRUE((*a)->tiered_lun()->migrator().migrate(1, 1, record).is_ok()) << record.outcome;
    EXPECT_EQ(capture.find(Level::kDebug, lun, "moved extent 1 from hdd-a to nvme-a: 4194304 bytes")
                  .size(),
              1u);
    // Asked again, the migrator has nothing to do: debug, not a warning.
    EXPECT_FALSE((*a)->tiered_lun()->migrator().migrate(1, 1, record).is_ok());
    EXPECT_EQ(capture.find(Level::kDebug, lun, "did not move extent 1").size(), 1u);
    EXPECT_TRUE(capture.find(Level::kWarning, lun, "did not move").empty());

    // Another gateway takes the LUN over: this one is blocklisted, and learns it on its next
    // command (or its map's watch); it says so once, however many commands fail.
    auto b = build_lun(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(b.is_ok()) << b.status().message();
    ASSERT_EQ((*b)->exclusive_lock().lock(2), TCMU_STS_OK);
    int status = TCMU_STS_OK;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (status == TCMU_STS_OK && std::chrono::steady_clock::now() < deadline) {
        status = read_block(**a, 0);
    }
    EXPECT_EQ(status, TCMU_STS_BUSY);
    for (int i = 0; i < 5; ++i) (void)read_block(**a, 0);
    const auto lost = capture.find(Level::kWarning, lun, "lost the exclusive lock: ");
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_NE(lost[0].text.find("blocklisted"), std::string::npos) << lost[0].text;
    EXPECT_FALSE(capture.find(Level::kInfo, lun, "answered BUSY").empty());

    EXPECT_EQ((*b)->exclusive_lock().unlock(), TCMU_STS_OK);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "released the exclusive lock").size(), 1u);
    a->reset();
    b->reset();
    EXPECT_EQ(capture.find(Level::kInfo, lun, "closed").size(), 2u);

    // Every line names the LUN it is about.
    for (const log::Record& r : capture.records()) {
        if (r.lun.empty()) continue;
        EXPECT_EQ(r.lun, lun) << r.text;
    }
    if (HasFailure()) {
        for (const log::Record& r : capture.records())
            std::cerr << log::to_string(r.level) << " " << r.render() << "\n";
    }
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", image.name(), {"nvme-a"});
}

void dump(const log::CaptureSink& capture) {
    for (const log::Record& r : capture.records())
        std::cerr << log::to_string(r.level) << " " << r.render() << "\n";
}

// A lock take that fails in the LUN's tiering (its placement map cannot be read) is one log
// record, at warning, with the reason; the reason is kept for `status` all the same.
TEST(LunLog, AFailedLockTakeIsOneRecord) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ScratchImage image("hdd-a", kSize, "lockfail");
    ASSERT_TRUE(image.ok());
    const std::string lun = "hdd-a/" + image.name();
    auto a = build_lun(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    (*a)->tiered_lun()->tiering().set_paused(true);  // no round takes the LUN's tiering meanwhile

    // The map's header names another LUN: taking the LUN's placement is refused.
    {
        rados_write_op_t op = rados_create_write_op();
        const char* key = "header";
        const char* value = "format=2 lun=someone-else tiers=hdd-a+nvme-a";
        const std::size_t length = std::char_traits<char>::length(value);
        rados_write_op_omap_set(op, &key, &value, &length, 1);
        const int rc = rados_write_op_operate(
            op, image.io().handle(), (*a)->tiered_lun()->map().object_name().c_str(), nullptr, 0);
        rados_release_write_op(op);
        ASSERT_EQ(rc, 0);
    }
    capture.clear();
    EXPECT_NE((*a)->exclusive_lock().lock(1), TCMU_STS_OK);
    std::vector<log::Record> said;
    for (const log::Record& r : capture.records())
        if (r.level <= log::Level::kWarning) said.push_back(r);
    if (said.size() != 1) dump(capture);
    ASSERT_EQ(said.size(), 1u);
    EXPECT_EQ(said[0].lun, lun);
    EXPECT_NE(said[0].text.find("could not take the exclusive lock: tiering: "), std::string::npos)
        << said[0].text;
    EXPECT_FALSE((*a)->tiered_lun()->tiering_problem().empty());
    if (HasFailure()) dump(capture);
    a->reset();
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", image.name(), {"nvme-a"});
}

// Closing a LUN first ends its tiering rounds: while a round is still running in the LUN (here
// held in the cluster-settings listener it calls), the close waits, and nothing of the LUN goes
// away ("closed" is logged before its parts are torn down).
TEST(LunLog, ALunClosesOnlyAfterItsRoundInProgressEnds) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ScratchImage image("hdd-a", kSize, "closing");
    ASSERT_TRUE(image.ok());
    const std::string lun = "hdd-a/" + image.name();
    auto a = build_lun(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok()) << a.status().message();

    std::mutex mutex;
    std::condition_variable cv;
    bool in_round = false, release = false;
    (*a)->tiered_lun()->set_cluster_settings_listener(
        [&](const std::map<std::string, std::string>&) {
            std::unique_lock lock(mutex);
            in_round = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        });
    // A change of the cluster-wide settings object (the tenant pool is the first tier's) that
    // means nothing to this LUN: a tier section of a pool it does not use.
    auto io = ceph::IoContext::open(image.cluster(), "hdd-a");
    ASSERT_TRUE(io.is_ok()) << io.status().message();
    const std::string key = "tier.closing-" + std::to_string(::getpid()) + ".site";
    ASSERT_TRUE(ceph::set_object_setting(*io, "rbdtier.config", key, "b").is_ok());
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return in_round; }))
            << "no round read the changed cluster settings";
    }

    std::thread closer([&] { a->reset(); });
    // The round is held: the close must not get past its first step until it is let go.
    bool closed_during_round = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!closed_during_round && std::chrono::steady_clock::now() < until) {
        closed_during_round = !capture.find(log::Level::kInfo, lun, "closed").empty();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    {
        std::lock_guard lock(mutex);
        release = true;
    }
    cv.notify_all();
    closer.join();
    EXPECT_FALSE(closed_during_round) << "the LUN was torn down while a round ran in it";
    EXPECT_EQ(capture.find(log::Level::kInfo, lun, "closed").size(), 1u);
    if (HasFailure()) dump(capture);
    (void)ceph::remove_object_setting(*io, "rbdtier.config", key);
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", image.name(), {"nvme-a"});
}

// The admin's commands that change a tiered LUN are logged once each: the LUN, the command, its
// arguments and what it did, or why it was refused; the queries are not.
TEST(LunLog, AdminCommandsThatChangeTheLunAreLoggedOnce) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ScratchImage image("hdd-a", kSize, "admin");
    ASSERT_TRUE(image.ok());
    const std::string name = "hdd-a/" + image.name();
    const std::string conf = ::testing::TempDir() + "/" + image.name() + ".conf";
    Gateway gateway({}, conf);
    // Opened as the handler opens it: its migrations carried out by the gateway's executor.
    auto opened = build_lun(image.config(kTiers), LunGeometry{kSize, 512}, fake_host(), {}, nullptr,
                            gateway.migration_executor());
    ASSERT_TRUE(opened.is_ok()) << opened.status().message();
    Lun& lun = **opened;
    ASSERT_EQ(lun.exclusive_lock().lock(1), TCMU_STS_OK);
    // Shown to the admin side as the handler shows it.
    GatewayLun g = admin_view(lun, nullptr, {});
    ASSERT_EQ(g.name, name);
    std::string error;
    auto registration = gateway.add_lun(std::move(g), error);
    ASSERT_TRUE(registration.registered()) << error;
    AdminCommands commands(gateway);
    const auto command = [&](const std::string& prefix, nlohmann::json args) {
        args["prefix"] = prefix;
        args["lun"] = name;
        return commands.handle(args);
    };
    const auto admin_lines = [&] {
        std::vector<log::Record> out;
        for (const log::Record& r : capture.records())
            if (r.text.rfind("admin ", 0) == 0) out.push_back(r);
        return out;
    };
    using log::Level;
    capture.clear();

    EXPECT_EQ(command("pin", {{"range", "0-1"}, {"tier", "nvme-a"}}).error, 0);
    EXPECT_EQ(command("unpin", {{"range", "1"}}).error, 0);
    EXPECT_EQ(command("pin", {{"range", "2"}, {"tier", "ssd-z"}}).error, EINVAL);
    for (const char* query : {"lun show", "map", "heat", "migrations", "alerts"})
        EXPECT_EQ(command(query, {}).error, 0) << query;
    EXPECT_EQ(command("lun evacuate", {}).error, 0);
    EXPECT_EQ(command("unpin", {{"range", "all"}}).error, 0);
    EXPECT_EQ(command("scrub", {}).error, 0);
    // The scrub runs as a job of its own: its line comes when it ends.
    const auto scrub_state = [&] {
        const nlohmann::json r = command("scrub status", {}).result;
        return r.is_object() ? r.value("state", "") : std::string("none");
    };
    const auto scrub_until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (scrub_state() == "running" && std::chrono::steady_clock::now() < scrub_until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(scrub_state(), "done");

    const std::vector<log::Record> lines = admin_lines();
    if (lines.size() != 6) dump(capture);
    ASSERT_EQ(lines.size(), 6u);
    const std::pair<Level, std::string> want[] = {
        {Level::kInfo, "admin pin range=0-1 tier=nvme-a: extents 0-1 pinned to nvme-a"},
        {Level::kInfo, "admin unpin range=1: extent 1 handed back to the policy"},
        {Level::kWarning, "admin pin range=2 tier=ssd-z refused: unknown tier 'ssd-z'"},
        {Level::kInfo, "admin lun evacuate: pinned home whole"},
        {Level::kInfo, "admin unpin range=all: home pin released"},
        {Level::kInfo, "admin scrub: "},
    };
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_EQ(lines[i].level, want[i].first) << lines[i].text;
        EXPECT_EQ(lines[i].lun, name);
        EXPECT_EQ(lines[i].text.rfind(want[i].second, 0), 0u) << lines[i].text;
    }
    EXPECT_NE(lines[5].text.find("0 checksum mismatches"), std::string::npos) << lines[5].text;

    // A reload that changes the migration budget: the gateway says so, and the LUN draws from it.
    capture.clear();
    std::ofstream(conf) << "migration_bandwidth_mib_s = 50\n";
    EXPECT_EQ(commands.handle({{"prefix", "reload"}}).error, 0);
    const auto reloaded = capture.find(Level::kInfo, "", "admin reload: ");
    ASSERT_EQ(reloaded.size(), 1u);
    EXPECT_EQ(reloaded[0].lun, "");
    EXPECT_NE(reloaded[0].text.find("migration bandwidth 50 MiB/s"), std::string::npos)
        << reloaded[0].text;
    EXPECT_DOUBLE_EQ(lun.tiered_lun()->tiering().bandwidth(), 50.0 * (1 << 20));
    if (HasFailure()) dump(capture);
    std::remove(conf.c_str());
    registration.reset();
    opened->reset();
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", image.name(), {"nvme-a"});
}

}  // namespace
}  // namespace rbdtier::testing
