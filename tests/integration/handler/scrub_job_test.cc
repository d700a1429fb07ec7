// A scrub through the admin socket of the real handler_rbdtier.so (loaded by the harness the way
// tcmu-runner loads it) on the local cluster, held at a known point: the OSD of one of the LUN's
// tier pools (nvme-b, osd.2) is frozen (`cluster.sh osd-stop --freeze`), so the scrub waits in
// its read of the extent the test moved there for as long as the test wants. While it is held, the
// socket still answers `status` and `health` (the scrub runs off the socket's thread), `scrub
// status` says it runs, a second scrub of the LUN and a scrub of an unknown LUN are refused with a
// clear error, and another LUN opens and closes (the scrub holds no lock of the gateway's LUN
// list). Once the OSD is back the scrub ends and reports; `rbdtier scrub` waits for it and
// prints the report. A LUN closed while its scrub is held closes once the OSD is back: the scrub is
// cancelled and joined first, and the LUN is gone from the socket. No timed assertion: each step
// waits on a condition with a deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"
#include "tests/support/raw_admin_client.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using test_support::RawClient;
using namespace std::chrono_literals;

constexpr std::uint64_t kExtents = 16;
constexpr std::uint64_t kSize = kExtents * kExtent;
constexpr int kFrozenOsd = 2;  // nvme-b's OSD: not the home pool, where the map lives
constexpr auto kDeadline = 30s;
constexpr std::uint64_t kMoved = 4;  // written by the test, then moved to nvme-b

// osd.2 frozen while this lives (or until thaw()); always thawed, whatever way the test ends.
class FrozenOsd {
public:
    FrozenOsd() {
        const char* sh = std::getenv("RBDTIER_CLUSTER_SH");
        const char* dir = std::getenv("RBDTIER_CLUSTER_DIR");
        if (sh == nullptr || dir == nullptr) return;
        base_ = std::string(sh) + " %s " + dir + " " + std::to_string(kFrozenOsd);
        const CliRun r = run_command(command("osd-stop") + " --freeze");
        frozen_ = r.code == 0;
        EXPECT_TRUE(frozen_) << r.out;
    }
    ~FrozenOsd() { thaw(); }
    FrozenOsd(const FrozenOsd&) = delete;
    FrozenOsd& operator=(const FrozenOsd&) = delete;

    bool frozen() const { return frozen_; }
    void thaw() {
        if (!frozen_) return;
        frozen_ = false;
        const CliRun r = run_command(command("osd-start"));
        EXPECT_EQ(r.code, 0) << r.out;
    }

private:
    std::string command(const char* verb) const {
        std::string out = base_;
        out.replace(out.find("%s"), 2, verb);
        return out;
    }
    std::string base_;
    bool frozen_ = false;
};

// One request on a connection of its own, its reply parsed; null when none came within
// `deadline` (the socket did not answer).
json ask(const std::string& socket, const json& request,
         std::chrono::milliseconds deadline = kDeadline) {
    RawClient c(socket);
    if (!c.connected() || !c.send(request.dump() + std::string(1, '\0'))) return nullptr;
    const auto body = c.reply(deadline);
    if (!body) return nullptr;
    const json out = json::parse(*body, nullptr, false);
    return out.is_discarded() ? json(*body) : out;  // an "ERROR: ..." reply stays text
}

class ScrubJob : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        if (std::getenv("RBDTIER_CLUSTER_SH") == nullptr ||
            std::getenv("RBDTIER_CLUSTER_DIR") == nullptr)
            GTEST_SKIP() << "RBDTIER_CLUSTER_SH/RBDTIER_CLUSTER_DIR not set (no OSD to freeze)";
        image_ = std::make_unique<TestImage>("hdd-a", "so-scrub", kSize);
        lun_ = "hdd-a/" + image_->name();
        conf_ = std::make_unique<GatewayConf>("site = site-a\nmetrics_port = 0\nround_s = 0.25\n");
        harness_ = std::make_unique<harness::Harness>(HANDLER_SO);
        harness::DeviceConfig dc{lun_ + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-b", kSize};
        dc.implicit_failover = true;  // a write takes the RBD exclusive lock: this gateway owns
        device_ = harness_->open(dc);
        std::vector<char> block(4096, 'x');
        for (std::uint64_t e = 0; e < kExtents; e += 4)
            ASSERT_TRUE(device_->write(e * kExtent / 512, block.data(), block.size()).ok());
        ASSERT_TRUE(wait_for(
            [&] {
                const json s = ask(socket(), {{"prefix", "status"}});
                const json* l = s.is_object() ? find_named(s["luns"], lun_) : nullptr;
                return l && (*l)["lock_owner"] == true && (*l)["placement"]["owner"] == true;
            },
            kDeadline))
            << "this gateway never owned " << lun_;
        // Extent kMoved goes to nvme-b: the scrub reads it back there to check its crc32c
        // (the LUN has no rbd cache), which is where a frozen nvme-b holds it.
        const json pinned = ask(socket(), {{"prefix", "pin"},
                                           {"lun", lun_},
                                           {"range", std::to_string(kMoved)},
                                           {"tier", "nvme-b"}});
        ASSERT_TRUE(pinned.is_object()) << pinned.dump();
        ASSERT_TRUE(wait_for(
            [&] {
                const auto map = rados_map(*cluster_, image_->name());
                auto it = map.find(kMoved);
                return it != map.end() && it->second.pool == "nvme-b";
            },
            60s))
            << ask(socket(), {{"prefix", "migrations"}}).dump();
        // Nothing else moves during the test: the scrub alone touches the tier images.
        ASSERT_EQ(ask(socket(), {{"prefix", "pause"}})["paused"], true);
    }
    void TearDown() override {
        device_.reset();
        harness_.reset();
        if (cluster_ && image_)
            (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", image_->name(),
                                                {"hdd-a", "nvme-b"});
    }

    const std::string& socket() const { return conf_->socket(); }
    json scrub_status() { return ask(socket(), {{"prefix", "scrub status"}, {"lun", lun_}}); }

    std::unique_ptr<TestImage> image_;
    std::string lun_;
    std::unique_ptr<GatewayConf> conf_;
    std::unique_ptr<harness::Harness> harness_;
    std::unique_ptr<harness::Device> device_;
};

TEST_F(ScrubJob, SocketAnswersWhileAScrubIsHeld) {
    FrozenOsd frozen;
    ASSERT_TRUE(frozen.frozen());
    // The scrub starts and the request is answered at once, while the scrub waits for nvme-b.
    const json started = ask(socket(), {{"prefix", "scrub"}, {"lun", lun_}});
    ASSERT_TRUE(started.is_object())
        << "the scrub request was not answered while the scrub runs: " << started.dump();
    EXPECT_EQ(started["lun"], lun_);
    EXPECT_EQ(started["state"], "running") << started.dump();

    // The same socket answers everything else meanwhile.
    const json status = ask(socket(), {{"prefix", "status"}});
    ASSERT_TRUE(status.is_object()) << "status blocked behind the scrub: " << status.dump();
    EXPECT_NE(find_named(status["luns"], lun_), nullptr) << status.dump();
    const json health = ask(socket(), {{"prefix", "health"}});
    ASSERT_TRUE(health.is_object()) << "health blocked behind the scrub: " << health.dump();
    EXPECT_TRUE(health.contains("status")) << health.dump();

    // Still held: it reports that it runs, and a second scrub of the LUN is refused.
    const json running = scrub_status();
    ASSERT_TRUE(running.is_object()) << running.dump();
    EXPECT_EQ(running["state"], "running") << running.dump();
    EXPECT_EQ(running["lun"], lun_);
    const json second = ask(socket(), {{"prefix", "scrub"}, {"lun", lun_}});
    ASSERT_TRUE(second.is_string()) << second.dump();
    EXPECT_NE(second.get<std::string>().find("ERROR: (16)"), std::string::npos) << second;
    EXPECT_NE(second.get<std::string>().find("a scrub of " + lun_ + " is already running"),
              std::string::npos)
        << second;
    const json unknown = ask(socket(), {{"prefix", "scrub"}, {"lun", "no/such"}});
    ASSERT_TRUE(unknown.is_string()) << unknown.dump();
    EXPECT_NE(unknown.get<std::string>().find("unknown LUN 'no/such'"), std::string::npos)
        << unknown;
    // LUNs open and close meanwhile: the scrub holds no lock of the gateway's LUN list.
    {
        TestImage plain("hdd-a", "so-scrub-plain", 8 << 20);
        const std::string plain_lun = "hdd-a/" + plain.name();
        auto opening = std::async(std::launch::async, [&] {
            return harness_->open({plain_lun + ";conf=" + ceph_conf(), 8 << 20});
        });
        ASSERT_EQ(opening.wait_for(kDeadline), std::future_status::ready)
            << "a LUN could not open while a scrub ran";
        std::unique_ptr<harness::Device> other = opening.get();
        const json both = ask(socket(), {{"prefix", "status"}});
        ASSERT_TRUE(both.is_object()) << both.dump();
        EXPECT_NE(find_named(both["luns"], plain_lun), nullptr) << both.dump();
        other.reset();
        const json after = ask(socket(), {{"prefix", "status"}});
        ASSERT_TRUE(after.is_object()) << after.dump();
        EXPECT_EQ(find_named(after["luns"], plain_lun), nullptr) << after.dump();
    }
    EXPECT_EQ(scrub_status()["state"], "running") << "the scrub was held all along";

    // The OSD is back: the scrub ends, with its report.
    frozen.thaw();
    json done;
    ASSERT_TRUE(wait_for(
        [&] {
            done = scrub_status();
            return done.is_object() && done["state"] != "running";
        },
        60s))
        << done.dump();
    EXPECT_EQ(done["state"], "done") << done.dump();
    EXPECT_EQ(done["extents_checked"], kExtents) << done.dump();
    EXPECT_EQ(done["crc_mismatch"], 0) << done.dump();
    EXPECT_EQ(done["steps_done"], done["steps_total"]) << done.dump();

    // `rbdtier scrub` starts one, waits for it and prints its report.
    const json cli = cli_json("scrub " + lun_, socket());
    EXPECT_EQ(cli["state"], "done") << cli.dump();
    EXPECT_EQ(cli["extents_checked"], kExtents) << cli.dump();
    EXPECT_TRUE(cli["problems"].empty()) << cli.dump();
}

TEST_F(ScrubJob, LunClosesWhileItsScrubIsHeld) {
    FrozenOsd frozen;
    ASSERT_TRUE(frozen.frozen());
    const json started = ask(socket(), {{"prefix", "scrub"}, {"lun", lun_}});
    ASSERT_TRUE(started.is_object()) << started.dump();
    ASSERT_EQ(started["state"], "running") << started.dump();
    // The close waits for the scrub (and for the OSD); the socket still answers meanwhile.
    auto closed = std::async(std::launch::async, [this] { device_.reset(); });
    EXPECT_TRUE(ask(socket(), {{"prefix", "status"}}).is_object());
    frozen.thaw();
    ASSERT_EQ(closed.wait_for(60s), std::future_status::ready) << "the LUN did not close";
    closed.get();
    const json gone = scrub_status();
    ASSERT_TRUE(gone.is_string()) << gone.dump();
    EXPECT_NE(gone.get<std::string>().find("unknown LUN '" + lun_ + "'"), std::string::npos)
        << gone;
}

}  // namespace
}  // namespace rbdtier
