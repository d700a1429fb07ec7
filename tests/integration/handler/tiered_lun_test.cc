// A tiered LUN (cfgstring tiers=...) driven through the handler's I/O path on the local
// cluster while its extents move between all four pools: every command kind stays correct
// when the extents it touches live in different tiers or are moving, no byte is lost or stale
// (a shadow copy kept by the test), and a second gateway that takes the lock over serves every
// extent from the right tier.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rbd/librbd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "ceph/extent_gate.h"
#include "ceph/extent_pins.h"
#include "ceph/lun_identity.h"
#include "ceph/settings_store.h"
#include "ceph/tiered_lun_store.h"
#include "handler/admin_commands.h"
#include "handler/gateway.h"
#include "handler/lock_probe.h"
#include "handler/lun_admin_view.h"
#include "handler/shared_settings.h"
#include "lun_fixture.h"
#include "tests/support/wait_until.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 8 * kExtent;
constexpr const char* kTiers = "tiers=hdd-a,nvme-a,nvme-b,hdd-b";

class TieredLunTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
        image_ = std::make_unique<ScratchImage>("hdd-a", kSize, "tiered");
        ASSERT_TRUE(image_->ok());
        lun_ = open_lun();
        ASSERT_TRUE(lun_ && lun_->tiered_lun() != nullptr);
        // The tests drive the migrator directly, as the LUN's owner (its lock callout taken).
        ASSERT_EQ(lun_->exclusive_lock().lock(1), TCMU_STS_OK);
    }
    void TearDown() override {
        lun_.reset();
        if (image_) {
            // Tier images and the map go with the LUN's image (explicit admin action).
            (void)ceph::remove_tiered_lun_store(image_->cluster(), "hdd-a", "", image_->name(),
                                                {"nvme-a", "nvme-b", "hdd-b"});
        }
        image_.reset();
    }
    std::unique_ptr<Lun> open_lun() {
        auto lun = build_lun(image_->config(kTiers), LunGeometry{kSize, 512}, fake_host());
        EXPECT_TRUE(lun.is_ok()) << lun.status().message();
        return lun ? std::move(lun).value() : nullptr;
    }
    int write(Lun& lun, std::uint64_t off, const std::vector<char>& data) {
        TestCommand c;
        iovec v{const_cast<char*>(data.data()), data.size()};
        return run([&](tcmur_cmd* cmd) { return lun.write(nullptr, cmd, &v, 1, data.size(), off); },
                   c);
    }
    std::vector<char> read(Lun& lun, std::uint64_t off, std::size_t len, int* status = nullptr) {
        std::vector<char> out(len);
        // Two iovecs, so that a read split across tiers also splits an iovec.
        const std::size_t half = len / 2 + 1;
        iovec v[2] = {{out.data(), half}, {out.data() + half, len - half}};
        TestCommand c;
        int st = run([&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, v, 2, len, off); }, c);
        if (status != nullptr) {
            *status = st;  // the caller checks it
        } else {
            EXPECT_EQ(st, TCMU_STS_OK);
        }
        return out;
    }
    // Moves a random extent below `extents` to another tier; false (and a test failure) if the
    // migration failed.
    bool move_random(Lun& lun, std::mt19937& rng, std::uint64_t extents) {
        auto& images = lun.tiered_lun()->images();
        const std::uint64_t extent = rng() % extents;
        std::size_t to = rng() % images.count();
        if (to == lun.tiered_lun()->gate().tier(extent)) to = (to + 1) % images.count();
        MigrationRecord record;
        if (lun.tiered_lun()->migrator().migrate(extent, to, record).is_ok()) return true;
        ADD_FAILURE() << "extent " << extent << ": " << record.outcome;
        return false;
    }
    // The LUN reads back `shadow` whole, and the owner's scrub finds nothing unmapped or corrupt.
    void expect_at_rest(const std::vector<char>& shadow) {
        EXPECT_EQ(read(*lun_, 0, shadow.size()), shadow);
        ceph::ScrubReport report;
        ASSERT_TRUE(lun_->tiered_lun()->migrator().scrub(report).is_ok());
        EXPECT_EQ(report.stray_removed, 0u);
        EXPECT_EQ(report.crc_mismatch, 0u);
    }
    // Reads, retrying while the LUN answers BUSY (as an initiator does), for up to a minute.
    std::vector<char> read_until_served(Lun& lun, std::uint64_t off, std::size_t len) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        for (;;) {
            int status = -1;
            auto got = read(lun, off, len, &status);
            if (status == TCMU_STS_OK) return got;
            if (status != TCMU_STS_BUSY || std::chrono::steady_clock::now() > until) {
                ADD_FAILURE() << "read answered " << status;
                return got;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    // A second gateway of the LUN, while this one takes the lock and writes `data` over it.
    std::unique_ptr<Lun> open_follower(const std::vector<char>& data) {
        auto b = open_lun();
        EXPECT_EQ(lun_->exclusive_lock().lock(1), TCMU_STS_OK);
        EXPECT_EQ(write(*lun_, 0, data), TCMU_STS_OK);
        return b;
    }
    void move(std::uint64_t extent, const std::string& pool) {
        MigrationRecord record;
        auto to = lun_->tiered_lun()->images().index_of(pool);
        ASSERT_TRUE(to);
        auto s = lun_->tiered_lun()->migrator().migrate(extent, *to, record);
        ASSERT_TRUE(s.is_ok()) << s.message();
    }

    // A gateway of its own whose admin side serves `lun`: admin commands answered there.
    struct AdminSide {
        explicit AdminSide(Lun& lun) : gateway({}, "/nonexistent.conf") {
            std::string error;
            registered = gateway.add_lun(admin_view(lun, nullptr, {}), error);
            EXPECT_TRUE(registered.registered()) << error;
        }
        Gateway gateway;
        Gateway::Registration registered;
        AdminCommands commands{gateway};
    };
    // A second gateway of the LUN (open_follower) whose admin side answers admin commands.
    struct AdminFollower {
        std::unique_ptr<Lun> lun;
        std::unique_ptr<AdminSide> admin;  // goes first
    };
    AdminFollower open_admin_follower(const std::vector<char>& data) {
        AdminFollower f{open_follower(data), nullptr};
        if (f.lun) f.admin = std::make_unique<AdminSide>(*f.lun);
        return f;
    }

    std::unique_ptr<ScratchImage> image_;
    std::unique_ptr<Lun> lun_;
};

// The same on a tiered LUN, whose commands are routed through the gate first.
// A policy that only keeps the events the rounds hand it (any thread may read them).
class RecordingPolicy final : public PlacementPolicy {
public:
    std::string_view name() const override { return "recording"; }
    void observe(const IoEvent& io) override {
        std::lock_guard lock(mutex_);
        events_.push_back(io);
    }
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView&) override { return {}; }
    // The events seen once there are at least `n` (waits up to a minute for them).
    std::vector<IoEvent> events_once(std::size_t n) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
        for (;;) {
            {
                std::lock_guard lock(mutex_);
                if (events_.size() >= n || std::chrono::steady_clock::now() > until) return events_;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::vector<IoEvent> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }

private:
    std::mutex mutex_;
    std::vector<IoEvent> events_;
};

TEST_F(TieredLunTest, ThePolicySeesEachDataCommandOnceWithItsTiming) {
    auto recording = std::make_unique<RecordingPolicy>();
    RecordingPolicy& policy = *recording;
    lun_->tiered_lun()->tiering().replace_policy(std::move(recording), 100'000);
    std::vector<char> data = pattern(8192, 1);
    iovec v{data.data(), data.size()};
    TestCommand w("iqn.test:alpha");
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->write(nullptr, c, &v, 1, 8192, 65536); }, w),
              TCMU_STS_OK);
    TestCommand r("iqn.test:beta");
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 4096, 69632); }, r),
              TCMU_STS_OK);
    TestCommand u("iqn.test:alpha");
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->unmap(nullptr, c, 0, kExtent); }, u),
              TCMU_STS_OK);
    TestCommand f;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->flush(nullptr, c); }, f), TCMU_STS_OK);
    // Across two extents: two parts, one command.
    TestCommand x("iqn.test:beta");
    ASSERT_EQ(
        run([&](tcmur_cmd* c) { return lun_->write(nullptr, c, &v, 1, 8192, kExtent - 4096); }, x),
        TCMU_STS_OK);
    // A last command: once its event is in, every earlier one is (the ring keeps their order).
    TestCommand last;
    ASSERT_EQ(
        run([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 512, 3 * kExtent); }, last),
        TCMU_STS_OK);
    std::vector<IoEvent> ev = policy.events_once(5);
    ASSERT_EQ(ev.size(), 5u) << "one event per data command; a flush carries no range";
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[0].offset, 65536u);
    EXPECT_EQ(ev[0].length, 8192u);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_EQ(ev[1].offset, 69632u);
    EXPECT_EQ(ev[1].length, 4096u);
    EXPECT_EQ(ev[2].op, IoOp::kUnmap);
    EXPECT_EQ(ev[3].op, IoOp::kWrite);
    EXPECT_EQ(ev[3].offset, kExtent - 4096);
    EXPECT_EQ(ev[3].length, 8192u);
    EXPECT_EQ(ev[4].offset, 3 * kExtent);
    EXPECT_EQ(ev[0].initiator, name_id("iqn.test:alpha"));
    EXPECT_EQ(ev[1].initiator, name_id("iqn.test:beta"));
    EXPECT_EQ(ev[2].initiator, ev[0].initiator);
    EXPECT_EQ(ev[3].initiator, ev[1].initiator);
    for (std::size_t i = 0; i < ev.size(); ++i) {
        EXPECT_EQ(ev[i].lun, lun_->policy_lun()) << i;
        EXPECT_GT(ev[i].latency_us, 0u) << i;
        EXPECT_LT(ev[i].latency_us, 10u * 1000 * 1000) << i;
        if (i > 0) {
            EXPECT_LE(ev[i - 1].time_us, ev[i].time_us) << i;
        }
    }
}

TEST_F(TieredLunTest, EveryCompletedDataCommandRecordsExactlyOneEvent) {
    auto recording = std::make_unique<RecordingPolicy>();
    RecordingPolicy& policy = *recording;
    lun_->tiered_lun()->tiering().replace_policy(std::move(recording), 100'000);
    move(1, "nvme-a");  // commands across the boundary of extents 0 and 1 go in two parts
    const std::uint64_t boundary = kExtent;
    std::vector<char> data = pattern(16384, 3);
    iovec v{data.data(), data.size()};
    struct Expected {
        IoOp op;
        std::uint64_t offset;
        std::uint32_t length;
    };
    std::vector<Expected> expected;
    auto served = [&](auto&& submit, IoOp op, std::uint64_t offset, std::uint32_t length,
                      int status = TCMU_STS_OK) {
        TestCommand c;
        ASSERT_EQ(run(submit, c), status);
        expected.push_back({op, offset, length});
    };
    served([&](tcmur_cmd* c) { return lun_->write(nullptr, c, &v, 1, 8192, 65536); }, IoOp::kWrite,
           65536, 8192);
    served([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 4096, 69632); }, IoOp::kRead,
           69632, 4096);
    served([&](tcmur_cmd* c) { return lun_->write(nullptr, c, &v, 1, 16384, boundary - 8192); },
           IoOp::kWrite, boundary - 8192, 16384);
    served([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 16384, boundary - 8192); },
           IoOp::kRead, boundary - 8192, 16384);
    served([&](tcmur_cmd* c) { return lun_->unmap(nullptr, c, boundary - 4096, 8192); },
           IoOp::kUnmap, boundary - 4096, 8192);
    {
        iovec block{data.data(), 512};
        served(
            [&](tcmur_cmd* c) {
                return lun_->write_same(nullptr, c, boundary - 4096, 8192, &block, 1);
            },
            IoOp::kWrite, boundary - 4096, 8192);
    }
    {
        // A COMPARE AND WRITE that matches, then one that does not (read back to locate it).
        std::vector<char> now(512);
        iovec r{now.data(), now.size()};
        TestCommand c;
        ASSERT_EQ(run([&](tcmur_cmd* cmd) { return lun_->read(nullptr, cmd, &r, 1, 512, 0); }, c),
                  TCMU_STS_OK);
        expected.push_back({IoOp::kRead, 0, 512});
        std::vector<char> caw(now);
        caw.insert(caw.end(), 512, 'c');
        iovec cv{caw.data(), caw.size()};
        served(
            [&](tcmur_cmd* cmd) { return lun_->compare_and_write(nullptr, cmd, 0, 512, &cv, 1); },
            IoOp::kWrite, 0, 512);
        served(
            [&](tcmur_cmd* cmd) { return lun_->compare_and_write(nullptr, cmd, 0, 512, &cv, 1); },
            IoOp::kWrite, 0, 512, TCMU_STS_MISCOMPARE);
    }
    // No event: a FLUSH (no range), a command of no length, one refused before it was queued.
    {
        TestCommand f;
        ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->flush(nullptr, c); }, f), TCMU_STS_OK);
        TestCommand z;
        ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 0, 4096); }, z),
                  TCMU_STS_OK);
        TestCommand o;
        EXPECT_EQ(lun_->read(nullptr, o.cmd(), &v, 1, 4096, kSize), TCMU_STS_RANGE);
    }
    // The last one: once its event is in, every earlier one is (the ring keeps their order).
    served([&](tcmur_cmd* c) { return lun_->read(nullptr, c, &v, 1, 512, 3 * kExtent); },
           IoOp::kRead, 3 * kExtent, 512);
    (void)policy.events_once(expected.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // rounds that would bring more
    const std::vector<IoEvent> ev = policy.events();
    ASSERT_EQ(ev.size(), expected.size()) << "one event per completed data command";
    for (std::size_t i = 0; i < ev.size(); ++i) {
        EXPECT_EQ(ev[i].op, expected[i].op) << i;
        EXPECT_EQ(ev[i].offset, expected[i].offset) << i;
        EXPECT_EQ(ev[i].length, expected[i].length) << i;
    }
}

TEST_F(TieredLunTest, ZeroLengthCommandsCompleteGood) {
    move(kSize / kExtent - 1, "nvme-b");
    expect_zero_length_commands_complete(*lun_, kSize, 512);
    EXPECT_EQ(read(*lun_, 0, 4096), std::vector<char>(4096, 0));
}

TEST_F(TieredLunTest, EveryCommandKindAcrossTiers) {
    std::vector<char> shadow = pattern(kSize, 11);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);
    move(1, "nvme-a");
    move(2, "nvme-b");
    move(3, "hdd-b");
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);

    // A write spanning extents 1..3 (three tiers), then read back across all of them.
    const std::uint64_t off = kExtent + kExtent / 2;
    auto data = pattern(2 * kExtent, 12);
    ASSERT_EQ(write(*lun_, off, data), TCMU_STS_OK);
    std::copy(data.begin(), data.end(), shadow.begin() + off);
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);

    // UNMAP across two tiers reads back zeros.
    {
        TestCommand c;
        const std::uint64_t u = 2 * kExtent - 65536;
        ASSERT_EQ(run([&](tcmur_cmd* cmd) { return lun_->unmap(nullptr, cmd, u, 131072); }, c),
                  TCMU_STS_OK);
        std::fill(shadow.begin() + u, shadow.begin() + u + 131072, 0);
    }
    // WRITE SAME across two tiers.
    {
        std::vector<char> block = pattern(512, 13);
        iovec v{block.data(), block.size()};
        const std::uint64_t w = 3 * kExtent - 4096;
        TestCommand c;
        ASSERT_EQ(
            run([&](tcmur_cmd* cmd) { return lun_->write_same(nullptr, cmd, w, 8192, &v, 1); }, c),
            TCMU_STS_OK);
        for (std::uint64_t i = 0; i < 8192; i += 512) {
            std::copy(block.begin(), block.end(), shadow.begin() + w + i);
        }
    }
    // COMPARE AND WRITE inside a migrated extent: match, then miscompare at a known offset.
    {
        const std::uint64_t at = 2 * kExtent + 8192;
        std::vector<char> buf(1024);
        std::copy(shadow.begin() + at, shadow.begin() + at + 512, buf.begin());
        auto fresh = pattern(512, 14);
        std::copy(fresh.begin(), fresh.end(), buf.begin() + 512);
        iovec v{buf.data(), buf.size()};
        TestCommand c;
        ASSERT_EQ(run(
                      [&](tcmur_cmd* cmd) {
                          return lun_->compare_and_write(nullptr, cmd, at, 512, &v, 1);
                      },
                      c),
                  TCMU_STS_OK);
        std::copy(fresh.begin(), fresh.end(), shadow.begin() + at);
        std::copy(fresh.begin(), fresh.end(), buf.begin());  // what is there now...
        buf[100] ^= 1;                                       // ...but for byte 100
        TestCommand m;
        EXPECT_EQ(run(
                      [&](tcmur_cmd* cmd) {
                          return lun_->compare_and_write(nullptr, cmd, at, 512, &v, 1);
                      },
                      m),
                  TCMU_STS_MISCOMPARE);
        EXPECT_EQ(m.sense_info(), 100u);
    }
    {
        TestCommand c;
        EXPECT_EQ(run([&](tcmur_cmd* cmd) { return lun_->flush(nullptr, cmd); }, c), TCMU_STS_OK);
    }
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);

    // A second gateway on the same LUN, after taking the lock over, reads the same bytes.
    auto second = open_lun();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->exclusive_lock().lock(1), TCMU_STS_OK);
    EXPECT_EQ(read(*second, 0, kSize), shadow);
}

// A standby LUN (no lock callout took its lock) whose write makes librbd take the lock: its
// rounds ask the cluster again once the write completed, although a round asked (and heard "not
// held") after the write started and before librbd took the lock. Deterministic: the LUN's own
// rounds are stopped and the test plays them, while the write waits in the gate (a migration
// holds its extent).
TEST_F(TieredLunTest, AStandbyLearnsAWriteTookTheLockWhenARoundAskedBeforeTheTake) {
    lun_.reset();  // its lock released: librbd takes it for whichever client writes
    lun_ = open_lun();
    ASSERT_TRUE(lun_);
    lun_->tiered_lun()->tiering().stop();
    LockProbe& probe = lun_->exclusive_lock().share().probe;
    ceph::ExtentGate& gate = lun_->tiered_lun()->gate();
    const auto ask = [&] {
        const auto now = LockProbe::Clock::now();
        if (!probe.should_ask(now)) return false;
        probe.answered(holds_exclusive_lock(lun_->image()) == 1, now);
        return true;
    };
    (void)ask();  // the first round asks, unless one of the LUN's own did
    ASSERT_FALSE(ask()) << "a standby asks once per period";

    gate.hold(0);
    const std::vector<char> data = pattern(4096, 51);
    iovec v{const_cast<char*>(data.data()), data.size()};
    TestCommand c;
    ASSERT_EQ(lun_->write(nullptr, c.cmd(), &v, 1, data.size(), 0), TCMU_STS_OK);
    (void)ask();  // between the command's start and librbd's take
    EXPECT_EQ(holds_exclusive_lock(lun_->image()), 0);
    gate.release(0);
    ASSERT_EQ(c.wait(), TCMU_STS_OK);
    ASSERT_EQ(holds_exclusive_lock(lun_->image()), 1);

    EXPECT_TRUE(ask()) << "the next round asks once a write completed";
    EXPECT_FALSE(ask()) << "and then, the lock held, once per period (a round with orders and "
                           "every commit ask for themselves)";
}

// Two gateways serve the LUN with the reactive policy; only the one holding the exclusive lock
// moves extents, and after a lock handover the new owner serves every extent from its tier.
TEST_F(TieredLunTest, OnlyTheLockOwnerMigrates) {
    lun_.reset();
    const std::string cfg = std::string(kTiers) + ";policy=reactive";
    auto a = build_lun(image_->config(cfg + ";horizon=4"), LunGeometry{kSize, 512}, fake_host());
    auto b = build_lun(image_->config(cfg), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    // The cfgstring's horizon, else the (default) gateway config's; rounds follow.
    EXPECT_EQ((*a)->tiered_lun()->settings().horizon_s, 4);
    EXPECT_EQ((*a)->tiered_lun()->settings().round_us, 500'000u);
    EXPECT_EQ((*b)->tiered_lun()->settings().horizon_s, GatewayConfig{}.horizon_s);
    EXPECT_EQ((*b)->tiered_lun()->settings().round_us, 1'000'000u);
    std::vector<char> shadow = pattern(kSize, 31);
    ASSERT_EQ((*a)->exclusive_lock().lock(1), TCMU_STS_OK);
    ASSERT_EQ(write(**a, 0, shadow), TCMU_STS_OK);
    // Both see the whole LUN read (B only as recorded traffic: as ALUA standby it serves no
    // I/O while A owns the LUN); only A may act on it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((*a)->tiered_lun()->tiering().stats().moved < 2 &&
           std::chrono::steady_clock::now() < deadline) {
        EXPECT_EQ(read(**a, 0, kSize), shadow);
        for (std::uint64_t e = 0; e < kSize / kExtent; ++e) {
            IoEvent ev;
            ev.time_us = (*b)->tiered_lun()->tiering().now_us();
            ev.offset = e * kExtent;
            ev.length = 4096;
            (*b)->tiered_lun()->tiering().record(ev);
        }
    }
    EXPECT_GE((*a)->tiered_lun()->tiering().stats().moved, 2u);
    EXPECT_EQ((*b)->tiered_lun()->tiering().stats().moved, 0u);
    EXPECT_GT((*b)->tiered_lun()->tiering().stats().rounds_not_owner, 0u);
    // Handover: B takes the lock (A is fenced), reloads the map and serves the right bytes.
    (*a)->tiered_lun()->tiering().stop();
    ASSERT_EQ((*b)->exclusive_lock().lock(2), TCMU_STS_OK);
    EXPECT_EQ(read(**b, 0, kSize), shadow);
    a->reset();
}

// Two all-active gateways: B serves reads while A, the lock owner, moves extents; B follows
// every move through the map object's watch/notify before A discards the old copy.
TEST_F(TieredLunTest, AnotherGatewayFollowsTheOwnersMoves) {
    std::vector<char> shadow = pattern(kSize, 41);
    auto b = open_follower(shadow);
    ASSERT_TRUE(b);
    std::atomic<bool> stop{false};
    std::atomic<long> mismatches{0}, reads{0};
    std::thread reader([&] {
        while (!stop.load()) {
            if (read(*b, 0, kSize) != shadow) ++mismatches;
            ++reads;
        }
    });
    std::mt19937 rng(9);
    for (int i = 0; i < 40; ++i) (void)move_random(*lun_, rng, kSize / kExtent);
    stop.store(true);
    reader.join();
    EXPECT_EQ(mismatches.load(), 0) << "of " << reads.load() << " full reads by gateway B";
    EXPECT_GT(reads.load(), 3);
    for (std::uint64_t e = 0; e < kSize / kExtent; ++e) {
        EXPECT_EQ(b->tiered_lun()->gate().tier(e), lun_->tiered_lun()->gate().tier(e)) << e;
    }
}

// Writers and readers on the LUN while a migrator moves random extents between all four pools.
TEST_F(TieredLunTest, NoByteLostOrStaleWhileExtentsMove) {
    const char* env = std::getenv("RBDTIER_MIGRATION_SECONDS");
    const int seconds = env ? std::atoi(env) : 60;
    std::vector<char> shadow = pattern(kSize, 21);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);

    std::atomic<bool> stop{false};
    std::atomic<long> mismatches{0}, ios{0}, errors{0};
    // Writer `id` owns the 64 KiB chunks c with c % 2 == id, each chunk starting 32 KiB before
    // a 64 KiB boundary, so the regions are disjoint and the shadow exact without a lock; one
    // chunk in 64 straddles an extent boundary, and those are picked often.
    constexpr std::uint64_t kChunk = 65536;
    auto worker = [&](int id) {
        std::mt19937 rng(100 + id);
        const std::uint64_t chunks = kSize / kChunk - 1;
        while (!stop.load()) {
            std::uint64_t chunk;
            do {
                chunk =
                    rng() % 4 == 0 ? (1 + rng() % (kSize / kExtent - 1)) * 64 - 1 : rng() % chunks;
            } while (chunk % 2 != static_cast<std::uint64_t>(id));
            const std::uint64_t start = chunk * kChunk + kChunk / 2;
            const std::uint64_t off = start + (rng() % 64) * 512;
            const std::size_t len =
                std::min<std::uint64_t>(512 * (1 + rng() % 96), start + kChunk - off);
            if (rng() % 2) {
                auto data = pattern(len, rng());
                if (write(*lun_, off, data) != TCMU_STS_OK) ++errors;
                std::copy(data.begin(), data.end(), shadow.begin() + off);
            } else {
                int st = 0;
                auto got = read(*lun_, off, len, &st);
                if (st != TCMU_STS_OK) ++errors;
                if (!std::equal(got.begin(), got.end(), shadow.begin() + off)) ++mismatches;
            }
            ++ios;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back(worker, i);
    std::mt19937 rng(7);
    long moved = 0, failed = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (move_random(*lun_, rng, kSize / kExtent)) {
            ++moved;
        } else {
            ++failed;
        }
    }
    stop.store(true);
    for (auto& t : threads) t.join();
    std::printf("%d s: %ld migrations (%ld failed), %ld commands\n", seconds, moved, failed,
                ios.load());
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_GT(moved, 10);
    expect_at_rest(shadow);
}

}  // namespace
}  // namespace rbdtier::testing

namespace rbdtier::testing {
namespace {

// UNMAP, WRITE SAME and COMPARE AND WRITE racing migrations of the extents they touch, and the
// LUN growing while extents move: every byte read back matches a shadow copy. Each worker owns
// every other 64 KiB chunk (disjoint, so the shadow is exact without a lock); UNMAPs are 64 KiB
// aligned, where librbd deallocates whole (reads zeros after).
TEST_F(TieredLunTest, EveryCommandKindWhileExtentsMove) {
    constexpr std::uint64_t kChunk = 65536;
    constexpr std::uint64_t kGrown = kSize + 2 * kExtent;
    std::vector<char> shadow = pattern(kSize, 51);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);
    shadow.resize(kGrown, 0);  // what the LUN reads there once it has grown
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> size{kSize};
    std::atomic<long> mismatches{0}, errors{0}, ios{0};
    auto worker = [&](int id) {
        std::mt19937 rng(200 + id);
        while (!stop.load()) {
            const std::uint64_t chunks = size.load() / kChunk;
            std::uint64_t chunk = rng() % chunks;
            if (chunk % 2 != static_cast<std::uint64_t>(id)) chunk = chunk ^ 1;
            if (chunk >= chunks) continue;
            const std::uint64_t base = chunk * kChunk;
            TestCommand c;
            int st = TCMU_STS_OK;
            switch (rng() % 4) {
                case 0: {  // UNMAP of the whole chunk
                    st = run(
                        [&](tcmur_cmd* cmd) { return lun_->unmap(nullptr, cmd, base, kChunk); }, c);
                    std::fill(shadow.begin() + base, shadow.begin() + base + kChunk, 0);
                    break;
                }
                case 1: {  // WRITE SAME of one block over part of the chunk
                    std::vector<char> block = pattern(512, rng());
                    iovec v{block.data(), block.size()};
                    const std::uint64_t off = base + (rng() % 64) * 512;
                    const std::uint64_t len = 512 * (1 + rng() % ((base + kChunk - off) / 512));
                    st = run(
                        [&](tcmur_cmd* cmd) {
                            return lun_->write_same(nullptr, cmd, off, len, &v, 1);
                        },
                        c);
                    for (std::uint64_t i = 0; i < len; i += 512) {
                        std::copy(block.begin(), block.end(), shadow.begin() + off + i);
                    }
                    break;
                }
                case 2: {  // COMPARE AND WRITE of one block: match (writes), or a miscompare
                    const std::uint64_t off = base + (rng() % 128) * 512;
                    std::vector<char> buf(1024);
                    std::copy(shadow.begin() + off, shadow.begin() + off + 512, buf.begin());
                    const bool mismatch = rng() % 4 == 0;
                    if (mismatch) buf[100] = static_cast<char>(buf[100] ^ 1);
                    auto data = pattern(512, rng());
                    std::copy(data.begin(), data.end(), buf.begin() + 512);
                    iovec v{buf.data(), buf.size()};
                    st = run(
                        [&](tcmur_cmd* cmd) {
                            return lun_->compare_and_write(nullptr, cmd, off, 512, &v, 1);
                        },
                        c);
                    if (mismatch) {
                        if (st != TCMU_STS_MISCOMPARE || c.sense_info() != 100u) ++mismatches;
                        st = TCMU_STS_OK;
                    } else {
                        std::copy(data.begin(), data.end(), shadow.begin() + off);
                    }
                    break;
                }
                default: {  // READ of the chunk
                    auto got = read(*lun_, base, kChunk, &st);
                    if (!std::equal(got.begin(), got.end(), shadow.begin() + base)) ++mismatches;
                    break;
                }
            }
            if (st != TCMU_STS_OK) ++errors;
            ++ios;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back(worker, i);
    std::mt19937 rng(8);
    long moved = 0;
    for (int i = 0; i < 60; ++i) {
        if (i == 30) {  // the LUN grows by two extents while extents move and commands run
            ASSERT_TRUE(lun_->resize(kGrown).is_ok());
            size.store(kGrown);
        }
        if (move_random(*lun_, rng, size.load() / kExtent)) ++moved;
    }
    stop.store(true);
    for (auto& t : threads) t.join();
    std::printf("%ld migrations, %ld commands\n", moved, ios.load());
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_GT(ios.load(), 100);
    expect_at_rest(shadow);
}

}  // namespace
}  // namespace rbdtier::testing

namespace rbdtier::testing {
namespace {

// The client address of a RADOS connection, as `ceph osd blocklist` names it.
std::string client_address(ceph::Cluster& cluster) {
    char* addrs = nullptr;
    if (rados_getaddrs(cluster.handle(), &addrs) < 0) return {};
    std::string a(addrs);
    rados_buffer_free(addrs);
    // "[v2:127.0.0.1:0/123,v1:...]" or "127.0.0.1:0/123": the first, without its protocol.
    a.erase(0, a.find_first_not_of('['));
    a = a.substr(0, a.find_first_of(",]"));
    if (const auto colon = a.find(':'); a.compare(0, 3, "v2:") == 0 ||
                                        a.compare(0, 3, "v1:") == 0 ||
                                        a.compare(0, 4, "any:") == 0) {
        a.erase(0, colon + 1);
    }
    return a;
}

// Cuts `follower`'s RADOS client off the cluster (`ceph osd blocklist add`, sent through
// `admin`) until its watch on the map has failed; unblock() (or the destructor) lets it back.
class CutOff {
public:
    CutOff(Lun& admin, Lun& follower)
        : admin_(admin), follower_(follower), address_(client_address(follower.cluster())) {
        EXPECT_FALSE(address_.empty());
        EXPECT_EQ(blocklist("add"), 0) << address_;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (follower.tiered_lun()->placement_watch()->last_error() == 0 &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        watch_broke_ = follower.tiered_lun()->placement_watch()->last_error() != 0;
    }
    ~CutOff() {
        if (blocked_) (void)blocklist("rm");
    }
    bool watch_broke() const { return watch_broke_; }
    // Its client then sees the map without the entry (and its requests bring that map to the
    // OSDs): it may do I/O again.
    void unblock() {
        EXPECT_EQ(blocklist("rm"), 0);
        blocked_ = false;
        EXPECT_EQ(rados_wait_for_latest_osdmap(follower_.cluster().handle()), 0);
    }

private:
    int blocklist(const std::string& op) {
        return mon_command(admin_.cluster(), R"({"prefix": "osd blocklist", "blocklistop": ")" +
                                                 op + R"(", "addr": ")" + address_ + R"("})");
    }
    Lun& admin_;
    Lun& follower_;
    std::string address_;
    bool blocked_ = true;
    bool watch_broke_ = false;
};

// A gateway whose watch on the map broke serves nothing until it has reloaded the map: the owner
// cannot wait for a gateway that is not watching, so it moves and discards extents meanwhile.
// Here the follower is cut off (blocklisted) while the owner moves an extent and rewrites it,
// then let back: its first read must be the new data, not the old bytes its old routing points
// to until a re-watch, retried with backoff, succeeds.
TEST_F(TieredLunTest, AFollowerReloadsTheMapBeforeServingAfterItsWatchBroke) {
    std::vector<char> shadow = pattern(kSize, 61);
    auto b = open_follower(shadow);
    ASSERT_TRUE(b);
    EXPECT_EQ(read(*b, 0, kSize), shadow);

    CutOff cut(*lun_, *b);
    ASSERT_TRUE(cut.watch_broke()) << "the follower's watch did not break";

    // The owner moves extent 2 and rewrites it while the follower cannot hear about it.
    move(2, "nvme-a");
    const std::vector<char> fresh = pattern(kExtent, 62);
    ASSERT_EQ(write(*lun_, 2 * kExtent, fresh), TCMU_STS_OK);
    std::copy(fresh.begin(), fresh.end(), shadow.begin() + 2 * kExtent);

    cut.unblock();
    EXPECT_EQ(read_until_served(*b, 0, kSize), shadow);
    EXPECT_EQ(b->tiered_lun()->gate().tier(2), lun_->tiered_lun()->gate().tier(2));
}

// A follower cut off from the cluster (blocklisted) answers as librbd answers a fenced client:
// BUSY, and the runner is told the lock is lost; once let back and reloaded, it serves the data.
TEST_F(TieredLunTest, AFollowerCutOffAnswersFencedThenServesAgain) {
    std::vector<char> shadow = pattern(kSize, 63);
    auto b = open_follower(shadow);
    ASSERT_TRUE(b);
    CutOff cut(*lun_, *b);
    ASSERT_TRUE(cut.watch_broke()) << "the follower's watch did not break";

    const int lost_before = host_counters().lock_lost.load();
    int status = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {  // parked until the follower has found it is blocklisted
        (void)read(*b, 0, 4096, &status);
    } while (status == TCMU_STS_OK && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(status, TCMU_STS_BUSY);
    EXPECT_EQ(b->tiered_lun()->placement_watch()->routing(), "fenced");
    EXPECT_GT(host_counters().lock_lost.load(), lost_before);

    cut.unblock();
    EXPECT_EQ(read_until_served(*b, 0, kSize), shadow);
}

// A second gateway of the LUN in a process of its own (follower_child), which the test freezes
// (SIGSTOP) and lets go on (SIGCONT) as a host that hangs for a while. It ends when it goes:
// let go on, its input closed (it closes the LUN), killed if it has not exited within a minute.
class FollowerProcess {
public:
    FollowerProcess(const std::string& cfgstring, std::uint64_t size) {
        int in[2], out[2];
        // Close-on-exec: no other child (an OSD that cluster.sh starts) keeps the follower's
        // input open after the test closed it.
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
            ADD_FAILURE() << "pipe: " << std::strerror(errno);
            return;
        }
        const std::string size_arg = std::to_string(size);
        pid_ = fork();
        if (pid_ == 0) {  // only async-signal-safe calls until exec
            dup2(in[0], STDIN_FILENO);
            dup2(out[1], STDOUT_FILENO);
            for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
            execl(FOLLOWER_CHILD_PATH, FOLLOWER_CHILD_PATH, cfgstring.c_str(), size_arg.c_str(),
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        to_ = fdopen(in[1], "w");
        from_ = fdopen(out[0], "r");
        ready_ = pid_ > 0 && answer() == "ready";
    }
    ~FollowerProcess() {
        if (pid_ <= 0) return;
        (void)kill(pid_, SIGCONT);
        if (to_ != nullptr) std::fclose(to_);
        int status = 0;
        if (!test_support::wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; })) {
            (void)kill(pid_, SIGKILL);
            (void)waitpid(pid_, &status, 0);
        }
        if (from_ != nullptr) std::fclose(from_);
    }
    FollowerProcess(const FollowerProcess&) = delete;
    FollowerProcess& operator=(const FollowerProcess&) = delete;

    bool ready() const { return ready_; }
    void freeze() { EXPECT_EQ(kill(pid_, SIGSTOP), 0); }
    void go_on() { EXPECT_EQ(kill(pid_, SIGCONT), 0); }
    // A READ of `len` bytes at `off` through the follower's I/O path (empty: it did not answer
    // GOOD, a test failure).
    std::vector<char> read(std::uint64_t off, std::size_t len) {
        const std::string path = ::testing::TempDir() + unique_name("follower-read");
        std::fprintf(to_, "read %llu %zu %s\n", static_cast<unsigned long long>(off), len,
                     path.c_str());
        std::fflush(to_);
        const std::string said = answer();
        std::vector<char> data;
        if (said == "ok") {
            std::ifstream file(path, std::ios::binary);
            data.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
        } else {
            ADD_FAILURE() << "the follower's read answered " << said;
        }
        std::remove(path.c_str());
        return data;
    }

private:
    std::string answer() {
        char line[256] = {};
        if (from_ == nullptr || std::fgets(line, sizeof(line), from_) == nullptr) return {};
        std::string s(line);
        if (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }
    pid_t pid_ = -1;
    std::FILE* to_ = nullptr;
    std::FILE* from_ = nullptr;
    bool ready_ = false;
};

// Where `got` first differs from `want` (-1: nowhere), so that a failure names an offset instead
// of printing megabytes.
long long first_difference(const std::vector<char>& got, const std::vector<char>& want) {
    if (got.size() != want.size()) return static_cast<long long>(std::min(got.size(), want.size()));
    const auto [g, w] = std::mismatch(got.begin(), got.end(), want.begin());
    return g == got.end() ? -1 : static_cast<long long>(g - got.begin());
}

// A restart of the OSD of the LUN's map (osd.1, hdd-a) cuts every watch of the map; librados
// makes the follower's again when it can reach the OSD, and the OSD, which keeps watches with
// the object, accepts it: no error reaches the follower. If the owner's commit notify gave up
// while the follower could not hear it (here: frozen), the follower would go on routing the
// moved extent to its old tier and, once the owner writes the extent's new tier, serve stale
// data. The owner must not let a write reach the new tier while the follower may still read the
// old one: the follower's read after the owner's write returns the new data.
TEST_F(TieredLunTest, AFollowerWhoseWatchWasMadeAgainServesNoStaleDataAfterAnOsdRestart) {
    if (std::getenv("RBDTIER_CLUSTER_SH") == nullptr ||
        std::getenv("RBDTIER_CLUSTER_DIR") == nullptr) {
        GTEST_SKIP() << "RBDTIER_CLUSTER_SH/RBDTIER_CLUSTER_DIR not set (no OSD to restart)";
    }
    std::vector<char> shadow = pattern(kSize, 71);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);
    FollowerProcess b(image_->cfgstring(kTiers), kSize);
    ASSERT_TRUE(b.ready());
    ASSERT_EQ(first_difference(b.read(0, kSize), shadow), -1);

    b.freeze();
    ASSERT_EQ(cluster_sh("osd-stop", 1), 0);
    ASSERT_EQ(cluster_sh("osd-start", 1), 0);
    // The owner moves extent 2 while the follower cannot hear of it (a move the owner refuses,
    // a gateway not answering, is tried again). The follower goes on once the move is done or
    // after 6 s, whichever comes first: an owner whose commit notify gave up on silent watchers
    // within seconds would have gone on without it.
    std::atomic<bool> moved{false};
    ceph::Status moving = ceph::Status::ok();
    std::thread mover([&] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
        do {
            MigrationRecord record;
            moving = lun_->tiered_lun()->migrator().migrate(
                2, *lun_->tiered_lun()->images().index_of("nvme-b"), record);
        } while (!moving && std::chrono::steady_clock::now() < deadline);
        moved = true;
    });
    (void)test_support::wait_until([&] { return moved.load(); }, std::chrono::seconds(6));
    b.go_on();
    mover.join();
    ASSERT_TRUE(moving.is_ok()) << moving.message();
    ASSERT_EQ(lun_->tiered_lun()->map().find(2)->pool, "nvme-b");

    const std::vector<char> fresh = pattern(kExtent, 72);
    ASSERT_EQ(write(*lun_, 2 * kExtent, fresh), TCMU_STS_OK);
    std::copy(fresh.begin(), fresh.end(), shadow.begin() + 2 * kExtent);
    EXPECT_EQ(first_difference(b.read(0, kSize), shadow), -1)
        << "the follower served extent 2 from its old tier";
}

}  // namespace
}  // namespace rbdtier::testing

namespace rbdtier::testing {
namespace {

// Without ALUA (no lock callouts) librbd hands the exclusive lock to whichever gateway writes,
// so a second gateway could write an extent's old copy while the owner copies it: only a sole
// gateway migrates then, and the LUN says why the others do not: holding the lock at the start
// of a round is not enough while another gateway serves the LUN.
TEST_F(TieredLunTest, WithoutAluaOnlyASoleGatewayMigrates) {
    lun_.reset();
    const std::string cfg = std::string(kTiers) + ";policy=reactive;horizon=4";
    auto a = build_lun(image_->config(cfg), LunGeometry{kSize, 512}, fake_host());
    auto b = build_lun(image_->config(cfg), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    const std::vector<char> shadow = pattern(kSize, 71);
    ASSERT_EQ(write(**a, 0, shadow), TCMU_STS_OK);  // takes the lock, as librbd does it
    auto busy_rounds = [&](Lun& lun, std::uint64_t rounds) {
        const std::uint64_t until = lun.tiered_lun()->tiering().stats().rounds + rounds;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (lun.tiered_lun()->tiering().stats().rounds < until &&
               lun.tiered_lun()->tiering().stats().moved == 0 &&
               std::chrono::steady_clock::now() < deadline) {
            EXPECT_EQ(read(lun, 0, kSize), shadow);
        }
    };
    busy_rounds(**a, 40);
    EXPECT_EQ((*a)->exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_WRITE_LOCKED);
    EXPECT_EQ((*a)->tiered_lun()->tiering().stats().moved, 0u)
        << "moved with another gateway serving";
    EXPECT_NE((*a)->tiered_lun()->tiering_problem().find("ALUA"), std::string::npos)
        << (*a)->tiered_lun()->tiering_problem();

    b->reset();  // the other gateway goes: this one is alone and may move extents
    busy_rounds(**a, 40);
    EXPECT_GT((*a)->tiered_lun()->tiering().stats().moved, 0u);
    EXPECT_EQ(read(**a, 0, kSize), shadow);
}

}  // namespace
}  // namespace rbdtier::testing

namespace rbdtier::testing {
namespace {

constexpr const char* kTierPools[] = {"nvme-a", "nvme-b", "hdd-b"};

// The gateways (RADOS clients) that have the LUN's tier image in `pool` open: its header's
// watchers, seen through a read-only open of the test's own, which watches nothing.
std::size_t gateways_on(ScratchImage& home, Lun& lun, const std::string& pool) {
    auto io = ceph::IoContext::open(home.cluster(), pool);
    EXPECT_TRUE(io.is_ok()) << io.status().message();
    if (!io) return 0;
    auto tier =
        ceph::Image::open_read_only(*io, lun.tiered_lun()->images().lun().tier_image_name());
    EXPECT_TRUE(tier.is_ok()) << tier.status().message();
    if (!tier) return 0;
    auto n = tier->watcher_count();
    EXPECT_TRUE(n.is_ok()) << n.status().message();
    return n ? *n : 0;
}

// The client holding the exclusive lock of the LUN's image in `pool` ("" if none).
std::string lock_owner_in(ScratchImage& home, const std::string& pool, const std::string& name) {
    auto io = ceph::IoContext::open(home.cluster(), pool);
    if (!io) return "?";
    auto image = ceph::Image::open_read_only(*io, name);
    if (!image) return "?";
    auto owner = image->lock_owner();
    return owner ? owner->owner : "?";
}

// A tiered LUN with every extent at home costs no tier image: none is open until its first
// migration, which opens it on the migrator's thread, takes its lock as the take-over took the
// others (this gateway owns the LUN), and moves the data byte for byte.
TEST_F(TieredLunTest, AnIdleLunOpensNoTierImageUntilItsFirstMigration) {
    std::vector<char> shadow = pattern(kSize, 81);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);
    {
        TestCommand c;
        ASSERT_EQ(run([&](tcmur_cmd* cmd) { return lun_->flush(nullptr, cmd); }, c), TCMU_STS_OK);
    }
    for (const char* pool : kTierPools) EXPECT_EQ(gateways_on(*image_, *lun_, pool), 0u) << pool;

    move(2, "nvme-b");
    EXPECT_EQ(gateways_on(*image_, *lun_, "nvme-b"), 1u);
    EXPECT_EQ(gateways_on(*image_, *lun_, "nvme-a"), 0u);
    EXPECT_EQ(gateways_on(*image_, *lun_, "hdd-b"), 0u);
    const std::string home_owner = lock_owner_in(*image_, "hdd-a", image_->name());
    EXPECT_FALSE(home_owner.empty());
    EXPECT_EQ(
        lock_owner_in(*image_, "nvme-b", lun_->tiered_lun()->images().lun().tier_image_name()),
        home_owner);
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);

    // Written in its new tier and read back across the boundary with home.
    const std::vector<char> fresh = pattern(kExtent, 82);
    ASSERT_EQ(write(*lun_, 2 * kExtent - kExtent / 2, fresh), TCMU_STS_OK);
    std::copy(fresh.begin(), fresh.end(), shadow.begin() + 2 * kExtent - kExtent / 2);
    {
        TestCommand c;
        ASSERT_EQ(run([&](tcmur_cmd* cmd) { return lun_->flush(nullptr, cmd); }, c), TCMU_STS_OK);
    }
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);
    move(2, "hdd-a");
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);
    expect_at_rest(shadow);
}

// A tier image that cannot be opened when first needed (here: tagged for another LUN after
// the LUN opened) fails the migration cleanly: the extent stays where it was, nothing mapped.
TEST_F(TieredLunTest, AMigrationToATierThatCannotBeOpenedLeavesTheExtentHome) {
    std::vector<char> shadow = pattern(kSize, 83);
    ASSERT_EQ(write(*lun_, 0, shadow), TCMU_STS_OK);
    const std::string name = lun_->tiered_lun()->images().lun().tier_image_name();
    {
        auto io = ceph::IoContext::open(image_->cluster(), "nvme-a");
        ASSERT_TRUE(io.is_ok());
        auto tier = ceph::Image::open(*io, name);
        ASSERT_TRUE(tier.is_ok());
        ASSERT_TRUE(tier->metadata_set(ceph::kTierImageTag, "0/other/lun").is_ok());
    }
    MigrationRecord record;
    auto to = lun_->tiered_lun()->images().index_of("nvme-a");
    ASSERT_TRUE(to);
    EXPECT_FALSE(lun_->tiered_lun()->migrator().migrate(1, *to, record).is_ok());
    EXPECT_EQ(lun_->tiered_lun()->gate().tier(1), 0);
    EXPECT_FALSE(lun_->tiered_lun()->map().find(1));
    EXPECT_TRUE(lun_->tiered_lun()->map().intents().empty());
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);
    // The other tiers still work.
    move(1, "nvme-b");
    EXPECT_EQ(read(*lun_, 0, kSize), shadow);
    {
        auto io = ceph::IoContext::open(image_->cluster(), "nvme-a");
        ASSERT_TRUE(io.is_ok());
        auto tier = ceph::Image::open(*io, name);
        ASSERT_TRUE(tier.is_ok());
        ASSERT_TRUE(
            tier->metadata_set(ceph::kTierImageTag, lun_->tiered_lun()->images().lun().key())
                .is_ok());
    }
}

// Another gateway that opened the LUN while every extent was at home opens a tier image when
// the owner moves an extent there (its watch's reload) before routing to it, serves the moved
// bytes, and, taking the LUN over, moves extents into a tier it had not opened yet.
TEST_F(TieredLunTest, AFollowerOpensATierWhenTheOwnerMovesAnExtentThere) {
    std::vector<char> shadow = pattern(kSize, 84);
    auto b = open_follower(shadow);
    ASSERT_TRUE(b);
    for (const char* pool : kTierPools) EXPECT_EQ(gateways_on(*image_, *lun_, pool), 0u) << pool;

    move(3, "hdd-b");  // acknowledged by B once it has reloaded and rerouted
    EXPECT_EQ(gateways_on(*image_, *lun_, "hdd-b"), 2u);
    EXPECT_EQ(gateways_on(*image_, *lun_, "nvme-a"), 0u);
    EXPECT_EQ(b->tiered_lun()->gate().tier(3), *b->tiered_lun()->images().index_of("hdd-b"));
    EXPECT_EQ(read(*b, 0, kSize), shadow);
    const std::vector<char> fresh = pattern(kExtent, 85);
    ASSERT_EQ(write(*lun_, 3 * kExtent, fresh), TCMU_STS_OK);
    std::copy(fresh.begin(), fresh.end(), shadow.begin() + 3 * kExtent);
    EXPECT_EQ(read(*b, 0, kSize), shadow);

    // B takes the LUN over (A is fenced) and moves an extent into a tier neither had open.
    ASSERT_EQ(b->exclusive_lock().lock(2), TCMU_STS_OK);
    EXPECT_EQ(read(*b, 0, kSize), shadow);
    MigrationRecord record;
    auto s = b->tiered_lun()->migrator().migrate(5, *b->tiered_lun()->images().index_of("nvme-a"),
                                                 record);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(lock_owner_in(*image_, "nvme-a", b->tiered_lun()->images().lun().tier_image_name()),
              lock_owner_in(*image_, "hdd-a", image_->name()));
    EXPECT_EQ(read(*b, 0, kSize), shadow);
}

// The LUN's settings travel on its map object's watch, the one watch per LUN each gateway has:
// `rbdtier config set --lun` writes the home image's metadata and notifies the map object with
// the settings payload; both gateways acknowledge it and re-read at once (their look at the
// header's version is seconds away), and nothing of the placement moves. A payload that is
// neither a map key nor the settings' is acknowledged and ignored.
TEST_F(TieredLunTest, BothGatewaysApplyASettingsNotifyOfTheMapAtOnce) {
    std::vector<char> shadow = pattern(kSize, 86);
    auto b = open_follower(shadow);
    ASSERT_TRUE(b);
    ASSERT_NE(lun_->tiered_lun()->tiering_in_force().policy, "reactive");
    auto home = ceph::Image::open(image_->io(), image_->name());
    ASSERT_TRUE(home.is_ok()) << home.status().message();
    // As the CLI does (cli/config_command.cc).
    ASSERT_TRUE(home->metadata_set("rbdtier.policy", "reactive").is_ok());
    const auto sent = std::chrono::steady_clock::now();
    const ceph::Status notified = ceph::notify_lun_settings_changed(image_->io(), *home);
    ASSERT_TRUE(notified.is_ok()) << notified.message();
    for (Lun* gateway : {lun_.get(), b.get()}) {
        EXPECT_TRUE(test_support::wait_until(
            [&] { return gateway->tiered_lun()->tiering_in_force().policy == "reactive"; },
            std::chrono::seconds(2)))
            << "policy " << gateway->tiered_lun()->tiering_in_force().policy;
        EXPECT_EQ(gateway->tiered_lun()->placement_watch()->settings_notifies(), 1u);
        EXPECT_EQ(gateway->tiered_lun()->placement_watch()->extents_moved(), 0u);
        EXPECT_EQ(gateway->tiered_lun()->placement_watch()->routing(), "valid");
    }
    std::printf("both gateways apply the notified policy within %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - sent)
                                           .count()));
    auto lun = ceph::LunIdentity::of(image_->io(), *home);
    ASSERT_TRUE(lun.is_ok()) << lun.status().message();
    const std::string foreign = "not-a-key";
    char* reply = nullptr;
    std::size_t reply_len = 0;
    EXPECT_EQ(rados_notify2(image_->io().handle(), lun->map_object_name().c_str(), foreign.data(),
                            static_cast<int>(foreign.size()), 5000, &reply, &reply_len),
              0)
        << "every gateway acknowledges a foreign payload";
    if (reply != nullptr) rados_buffer_free(reply);
    for (Lun* gateway : {lun_.get(), b.get()}) {
        EXPECT_EQ(gateway->tiered_lun()->placement_watch()->settings_notifies(), 1u);
        EXPECT_EQ(gateway->tiered_lun()->placement_watch()->routing(), "valid");
    }
    EXPECT_EQ(read(*b, 0, kSize), shadow);
}

// The home pin is written by whichever gateway answers the admin command, and the LUN's owner
// carries it out: `rbdtier lun evacuate` and `rbdtier unpin LUN all` answered by a gateway that
// does not own the LUN (B, a follower) write the home image's metadata and notify the LUN's map
// object, so the owner (A) follows each at once, well within its settings backstop (10 s).
TEST_F(TieredLunTest, TheOwnerFollowsAHomePinChangedOnAnotherGatewayAtOnce) {
    std::vector<char> shadow = pattern(kSize, 87);
    AdminFollower b = open_admin_follower(shadow);
    ASSERT_TRUE(b.lun && b.admin->registered.registered());
    AdminCommands& commands = b.admin->commands;
    ceph::LunTiering& owner = lun_->tiered_lun()->tiering();
    ASSERT_FALSE(owner.home_pinned());
    const std::string name = b.lun->config().spec();
    const struct {
        nlohmann::json request;
        bool pinned;
    } steps[] = {
        {{{"prefix", "lun evacuate"}, {"lun", name}}, true},
        {{{"prefix", "unpin"}, {"lun", name}, {"range", "all"}}, false},
    };
    for (const auto& step : steps) {
        const std::string command = step.request["prefix"].get<std::string>();
        const auto sent = std::chrono::steady_clock::now();
        const AdminReply reply = commands.handle(step.request);
        ASSERT_EQ(reply.error, 0) << command << ": " << reply.message;
        EXPECT_EQ(b.lun->tiered_lun()->tiering().home_pinned(), step.pinned) << command;
        auto followed_within = [&](std::chrono::seconds deadline) {
            return test_support::wait_until([&] { return owner.home_pinned() == step.pinned; },
                                            deadline);
        };
        const bool at_once = followed_within(std::chrono::seconds(3));
        // Else the next step starts from the pin this one set: the backstop finds it.
        const bool at_all = at_once || followed_within(2 * kSharedSettingsPeriod);
        std::printf("the owner follows `%s` answered by the other gateway %s %lld ms\n",
                    command.c_str(), at_all ? "after" : "not even after",
                    static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - sent)
                                               .count()));
        EXPECT_TRUE(at_once) << "the owner's home pin after `" << command << "` on gateway B";
        ASSERT_TRUE(at_all);
    }
    EXPECT_EQ(read(*b.lun, 0, kSize), shadow);
}

// Extent pins are kept in RADOS (image metadata rbdtier.pins of the home image) and every
// gateway serving the LUN follows them: a pin answered by a gateway that does not own the LUN
// (B) is carried out by the owner (A), which moves the pinned extent to the pinned tier; an
// unpin answered by B releases it on both.
TEST_F(TieredLunTest, TheOwnerCarriesOutAPinAnsweredByAnotherGateway) {
    std::vector<char> shadow = pattern(kSize, 93);
    AdminFollower b = open_admin_follower(shadow);
    ASSERT_TRUE(b.lun && b.admin->registered.registered());
    AdminCommands& commands = b.admin->commands;
    const std::string name = b.lun->config().spec();
    ceph::LunTiering& owner = lun_->tiered_lun()->tiering();
    const auto nvme = lun_->tiered_lun()->images().index_of("nvme-b");
    ASSERT_TRUE(nvme);
    const AdminReply pinned =
        commands.handle({{"prefix", "pin"}, {"lun", name}, {"range", "2-3"}, {"tier", "nvme-b"}});
    ASSERT_EQ(pinned.error, 0) << pinned.message;
    const auto sent = std::chrono::steady_clock::now();
    const std::vector<PinnedRange> want = {PinnedRange{2, 2, static_cast<TierId>(*nvme)}};
    EXPECT_EQ(b.lun->tiered_lun()->tiering().pins(), want);
    EXPECT_TRUE(
        test_support::wait_until([&] { return owner.pins() == want; }, std::chrono::seconds(3)))
        << "the owner's pins follow the notify at once";
    EXPECT_TRUE(test_support::wait_until(
        [&] {
            return lun_->tiered_lun()->gate().tier(2) == *nvme &&
                   lun_->tiered_lun()->gate().tier(3) == *nvme;
        },
        std::chrono::seconds(60)))
        << "the owner moves the pinned extents to nvme-b";
    std::printf("the owner moved the extents pinned on the other gateway in %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - sent)
                                           .count()));
    const AdminReply released =
        commands.handle({{"prefix", "unpin"}, {"lun", name}, {"range", "2"}});
    ASSERT_EQ(released.error, 0) << released.message;
    const std::vector<PinnedRange> left = {PinnedRange{3, 1, static_cast<TierId>(*nvme)}};
    EXPECT_EQ(b.lun->tiered_lun()->tiering().pins(), left);
    EXPECT_TRUE(
        test_support::wait_until([&] { return owner.pins() == left; }, std::chrono::seconds(3)));
    const AdminReply all = commands.handle({{"prefix", "unpin"}, {"lun", name}, {"range", "all"}});
    ASSERT_EQ(all.error, 0) << all.message;
    EXPECT_TRUE(b.lun->tiered_lun()->tiering().pins().empty());
    EXPECT_TRUE(
        test_support::wait_until([&] { return owner.pins().empty(); }, std::chrono::seconds(3)));
    EXPECT_EQ(read(*b.lun, 0, kSize), shadow);
}

// A LUN closed and opened again keeps its pins: they are read from RADOS with its settings.
TEST_F(TieredLunTest, ALunOpenedAgainKeepsItsPins) {
    {
        AdminSide gateway(*lun_);
        ASSERT_TRUE(gateway.registered.registered());
        const AdminReply reply = gateway.commands.handle(
            {{"prefix", "pin"}, {"lun", lun_->config().spec()}, {"range", "5"}, {"tier", "hdd-b"}});
        ASSERT_EQ(reply.error, 0) << reply.message;
    }
    const auto hdd = lun_->tiered_lun()->images().index_of("hdd-b");
    ASSERT_TRUE(hdd);
    lun_.reset();
    lun_ = open_lun();
    ASSERT_TRUE(lun_);
    const std::vector<PinnedRange> want = {PinnedRange{5, 1, static_cast<TierId>(*hdd)}};
    EXPECT_EQ(lun_->tiered_lun()->tiering().pins(), want);
}

// Pins stored by hand that cannot apply are reported with the settings' problems, not applied:
// a pool that is not one of the LUN's tiers, extents past its end; a value off the format keeps
// the pins in force.
TEST_F(TieredLunTest, StoredPinsThatCannotApplyAreReportedNotApplied) {
    TieredLun& tiered = *lun_->tiered_lun();
    auto home = ceph::Image::open(image_->io(), image_->name());
    ASSERT_TRUE(home);
    auto stored = [&](const std::string& value) {
        ASSERT_TRUE(home->metadata_set(ceph::kExtentPinsKey, value).is_ok());
        ASSERT_TRUE(ceph::notify_lun_settings_changed(image_->io(), *home).is_ok());
    };
    auto reported = [&](const std::string& needle) {
        const std::vector<std::string> problems = tiered.settings_problems();
        return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
            return p.find(needle) != std::string::npos;
        });
    };
    const auto hdd = tiered.images().index_of("hdd-b");
    ASSERT_TRUE(hdd);
    const std::vector<PinnedRange> want = {PinnedRange{1, 1, static_cast<TierId>(*hdd)}};
    stored("1-1:hdd-b,2-3:gone,7-99:hdd-b");
    EXPECT_TRUE(test_support::wait_until([&] { return tiered.tiering().pins() == want; },
                                         std::chrono::seconds(3)));
    EXPECT_TRUE(reported("2-3:gone: gone is not one of the LUN's tiers"));
    EXPECT_TRUE(reported("7-99:hdd-b: the LUN has 8 extents"));
    stored("1-1:hdd-b,oops");
    EXPECT_TRUE(test_support::wait_until([&] { return reported("'oops' is not FIRST-LAST:POOL"); },
                                         std::chrono::seconds(3)));
    EXPECT_EQ(tiered.tiering().pins(), want) << "a bad value keeps the pins in force";
    EXPECT_FALSE(reported("gone")) << "the problems are those of the last value read";
    ASSERT_TRUE(home->metadata_remove(ceph::kExtentPinsKey).is_ok());
}

}  // namespace
}  // namespace rbdtier::testing
