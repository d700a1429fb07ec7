// A tiered LUN's lifecycle through the real handler_rbdtier.so (loaded by the harness the way
// tcmu-runner loads it) and the real `rbdtier` CLI, on the local cluster. Pins move extents
// whatever the LUN's policy, `policy=none` included; `lun show` says why a LUN's extents do not
// move (no lock without ALUA, policy none). A LUN written with random data (a shadow
// copy in the test says what it must hold) has extents in three pools; `lun export` equals the
// shadow while migrations run; `lun evacuate` brings every extent home while a thread keeps
// writing and reading back (every read checked against the shadow); then `rbd export` of the home
// image alone equals the shadow byte for byte, the policy moves nothing out again, pins are
// refused until `unpin LUN all`; `lun remove` refuses while the gateway has the LUN open, and
// afterwards leaves no tier image nor map object (`rbd ls`, `rados ls`).
#include "ceph/lun_lifecycle.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/extent_pins.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/placement_map.h"
#include "ceph/tiered_lun_store.h"
#include "handler/shared_settings.h"
#include "so_gateway.h"
#include "tests/support/seed.h"
#include "tests/support/shell_command.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using namespace std::chrono_literals;

const std::vector<std::string> kTiers = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};

using test_support::read_file;

// Where a file's bytes first differ from `want` ("" when equal).
std::string compare_file(const std::string& path, const std::vector<char>& want) {
    const std::string got = read_file(path);
    if (got.size() != want.size())
        return path + ": " + std::to_string(got.size()) + " bytes, want " +
               std::to_string(want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i])
            return path + ": first difference at byte " + std::to_string(i) + " (extent " +
                   std::to_string(i / kExtent) + ")";
    return "";
}

// A temp path for an export (removed when this goes away).
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& stem)
        : path(::testing::TempDir() + "/" + stem + "." + std::to_string(::getpid())) {
        std::remove(path.c_str());
    }
    ~TempFile() { std::remove(path.c_str()); }
};

// The `rbdtier` CLI: exit code and stdout+stderr.
CliRun cli(const std::string& args) {
    return run_command(std::string(RBDTIER_CLI_PATH) + " " + args);
}

// One thread writing random data at random places of the LUN and reading random places back,
// every byte checked against the shadow (which it keeps up to date: only it writes). Its places
// and data come from the test's seed.
class ShadowIo {
public:
    ShadowIo(harness::Device& dev, std::vector<char>& shadow)
        : dev_(dev), shadow_(shadow), seed_(test_support::test_seed()) {
        thread_ = std::thread([this] { run(); });
    }
    ~ShadowIo() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::uint64_t writes() const { return writes_.load(); }
    std::uint64_t reads() const { return reads_.load(); }
    std::string failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }

private:
    void fail(const std::string& what) {
        std::lock_guard lock(mutex_);
        if (failure_.empty()) failure_ = what;
        stop_ = true;
    }
    void run() {
        std::mt19937_64 rng(seed_);
        std::vector<char> buf(256 << 10);
        const std::uint64_t blocks = shadow_.size() / 512;
        while (!stop_) {
            // 4 KiB .. 256 KiB, anywhere (extent boundaries crossed now and then).
            const std::uint64_t len = 512 * (8 + rng() % 505);
            const std::uint64_t lba = rng() % (blocks - len / 512);
            if (rng() % 3 != 0) {
                for (std::uint64_t i = 0; i < len; i += 8) {
                    const std::uint64_t v = rng();
                    std::memcpy(buf.data() + i, &v, 8);
                }
                const auto r = dev_.write(lba, buf.data(), len);
                if (!r.ok())
                    return fail("write at lba " + std::to_string(lba) + ": " + r.describe());
                std::memcpy(shadow_.data() + lba * 512, buf.data(), len);
                ++writes_;
            } else {
                const auto r = dev_.read(lba, buf.data(), len);
                if (!r.ok())
                    return fail("read at lba " + std::to_string(lba) + ": " + r.describe());
                if (std::memcmp(buf.data(), shadow_.data() + lba * 512, len) != 0)
                    return fail("read at lba " + std::to_string(lba) + " (extent " +
                                std::to_string(lba * 512 / kExtent) + ") returned stale data");
                ++reads_;
            }
        }
    }

    harness::Device& dev_;
    std::vector<char>& shadow_;
    const std::uint32_t seed_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> writes_{0}, reads_{0};
    mutable std::mutex mutex_;
    std::string failure_;
    std::thread thread_;
};

// Removes what a test made in the cluster, whatever way it ends.
struct Leftovers {
    const ceph::Cluster& cluster;
    std::string image;
    ~Leftovers() {
        (void)ceph::remove_tiered_lun_store(cluster, "hdd-a", "", image, kTiers);
        if (auto io = ceph::IoContext::open(cluster, "hdd-a")) (void)ceph::remove_image(*io, image);
    }
};

using LunLifecycle = ClusterTest;

// A tiered policy=none LUN at home in hdd-a over hdd-a and nvme-a, `size` bytes; with ALUA's
// implicit failover (the gateway takes the lock at open) or without (the first writer gets it).
harness::DeviceConfig policy_none_lun(const std::string& image, std::uint64_t size,
                                      bool implicit_failover) {
    harness::DeviceConfig dc{
        "hdd-a/" + image + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a;policy=none", size};
    dc.implicit_failover = implicit_failover;
    return dc;
}

TEST_F(LunLifecycle, PinsMoveExtentsUnderPolicyNone) {
    const std::string image = "life-none-" + std::to_string(::getpid());
    constexpr std::uint64_t kSize = 8 * kExtent;
    Leftovers leftovers{*cluster_, image};
    ASSERT_TRUE(ceph::create_image(*hdd_a_, image, kSize).is_ok());
    GatewayConf gw("site = site-a\nmetrics_port = 0\nround_s = 0.25\n");
    harness::Harness h(HANDLER_SO);
    auto dev = h.open(policy_none_lun(image, kSize, true));
    std::vector<char> block(kExtent, 'n');
    for (std::uint64_t e = 0; e < 4; ++e)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());

    const json pinned = cli_json("pin hdd-a/" + image + " 0-3 nvme-a", gw.socket());
    EXPECT_EQ(pinned["count"], 4) << pinned.dump();
    ASSERT_TRUE(wait_for(
        [&] {
            const auto map = rados_map(*cluster_, image);
            for (std::uint64_t e = 0; e < 4; ++e) {
                auto it = map.find(e);
                if (it == map.end() || it->second.pool != "nvme-a") return false;
            }
            return true;
        },
        30s))
        << "pinned extents of a policy=none LUN never moved";
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < 4; ++e) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
    dev.reset();  // the LUN closed: no gateway serves it

    // Without a gateway: export reads the tier images through the map; remove refuses to drop
    // the extents that live in nvme-a, unless forced.
    const std::string conf = " --ceph-conf " + ceph_conf();
    std::vector<char> want(kSize, 0);
    for (std::uint64_t i = 0; i < 4 * kExtent; ++i) want[i] = 'n';
    TempFile file("life-none.img");
    CliRun r = cli("lun export hdd-a/" + image + " " + file.path + conf + " --format json");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(json::parse(r.out, nullptr, false).value("extents_away", 0), 4) << r.out;
    EXPECT_EQ(compare_file(file.path, want), "");
    r = cli("lun export hdd-a/" + image + " " + file.path + conf);
    EXPECT_EQ(r.code, 1) << "an existing file is not overwritten: " << r.out;
    r = cli("lun remove hdd-a/" + image + conf);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("4 extents of hdd-a/" + image + " live in tier images"), std::string::npos)
        << r.out;
    EXPECT_EQ(rados_map(*cluster_, image).size(), 4u) << "a refused remove changes nothing";
    r = cli("lun remove hdd-a/" + image + " --force --format json" + conf);
    ASSERT_EQ(r.code, 0) << r.out;
    const json removed = json::parse(r.out, nullptr, false);
    EXPECT_EQ(removed.value("extents_discarded", 0), 4) << r.out;
    EXPECT_EQ(removed["tier_pools"], json::array({"nvme-a"})) << r.out;
    auto exists = ceph::PlacementMap::exists(
        *hdd_a_, ceph::identity_of(*cluster_, "hdd-a", "", image).value());
    ASSERT_TRUE(exists.is_ok());
    EXPECT_FALSE(*exists) << "the map object is gone";
}

// Without ALUA a LUN nobody has written holds no lock: its gateway moves nothing, not even a
// pin, and `lun show` says why (JSON and text). Admin commands that write the LUN's pins in RADOS
// (`lun evacuate`, `unpin LUN all`, `pin`) leave the lock as it is. A write to a home extent
// takes the lock; the pin is carried out, and then show says what keeps a policy=none LUN still.
TEST_F(LunLifecycle, ShowSaysWhyTheExtentsOfALunDoNotMove) {
    const std::string image = "life-still-" + std::to_string(::getpid());
    constexpr std::uint64_t kSize = 4 * kExtent;
    Leftovers leftovers{*cluster_, image};
    ASSERT_TRUE(ceph::create_image(*hdd_a_, image, kSize).is_ok());
    GatewayConf gw("site = site-a\nmetrics_port = 0\nround_s = 0.25\n");
    harness::Harness h(HANDLER_SO);
    auto dev = h.open(policy_none_lun(image, kSize, false));  // no ALUA
    std::vector<char> block(kExtent);
    ASSERT_TRUE(dev->read(0, block.data(), block.size()).ok());
    const std::string lun = "hdd-a/" + image;
    for (const std::string& command :
         {"lun evacuate " + lun + " --no-wait", "unpin " + lun + " all"}) {
        const CliRun r = cli(command + " --format json --socket " + gw.socket());
        ASSERT_EQ(r.code, 0) << command << ": " << r.out;
        EXPECT_EQ(cli_json("lun show " + lun, gw.socket())["lock_owner"], false) << command;
    }
    EXPECT_EQ(cli_json("pin " + lun + " 0-1 nvme-a", gw.socket())["count"], 2);
    {
        // Opened here for the read only: another client watching the image counts as a gateway.
        const auto home = ceph::Image::open_read_only(*hdd_a_, image);
        ASSERT_TRUE(home);
        EXPECT_EQ(home->metadata_get(ceph::kExtentPinsKey).value(), "0-1:nvme-a");
    }

    json show;
    ASSERT_TRUE(wait_for(
        [&] {
            show = cli_json("lun show " + lun, gw.socket());
            return show["movement"].value("last_round", "") == "not_owner";
        },
        30s))
        << show.dump();
    EXPECT_EQ(show["lock_owner"], false) << show.dump();
    EXPECT_EQ(show["movement"]["moving"], false) << show.dump();
    const std::string reason = show["movement"].value("reason", "");
    EXPECT_NE(reason.find("does not hold the LUN's lock (no ALUA"), std::string::npos) << reason;
    EXPECT_TRUE(rados_map(*cluster_, image).empty()) << "a gateway without the lock moved data";
    const CliRun text = cli("lun show " + lun + " --socket " + gw.socket());
    ASSERT_EQ(text.code, 0) << text.out;
    EXPECT_NE(text.out.find("moving      no: this gateway does not hold the LUN's lock"),
              std::string::npos)
        << text.out;

    std::fill(block.begin(), block.end(), 'w');
    ASSERT_TRUE(dev->write(3 * kExtent / 512, block.data(), block.size()).ok());
    ASSERT_TRUE(wait_for([&] { return rados_map(*cluster_, image).size() == 2; }, 30s))
        << "the pin was not carried out once the gateway held the lock";
    ASSERT_TRUE(wait_for(
        [&] {
            show = cli_json("lun show " + lun, gw.socket());
            return show["movement"].value("last_round", "") == "nothing_to_move";
        },
        30s))
        << show.dump();
    EXPECT_EQ(show["lock_owner"], true) << show.dump();
    EXPECT_EQ(show["movement"]["moving"], false);
    EXPECT_NE(show["movement"].value("reason", "").find("policy none"), std::string::npos)
        << show.dump();
}

// The home pin is followed with the LUN's settings, not read by each round: written by hand
// into the home image's header (as librbd keeps image-meta: omap key metadata_<key>), which
// notifies nobody, it is found within the settings' period and the owner brings the LUN's
// extents home; removed with `rbd image-meta remove` (notified), the LUN is tiered again and a
// pin moves an extent out.
TEST_F(LunLifecycle, AHomePinWrittenByHandIsFollowedWithinTheSettingsPeriod) {
    const std::string image = "life-hand-" + std::to_string(::getpid());
    const std::string lun = "hdd-a/" + image;
    constexpr std::uint64_t kSize = 4 * kExtent;
    Leftovers leftovers{*cluster_, image};
    ASSERT_TRUE(ceph::create_image(*hdd_a_, image, kSize).is_ok());
    GatewayConf gw("site = site-a\nmetrics_port = 0\nround_s = 0.25\n");
    const std::string sock = " --socket " + gw.socket();
    harness::Harness h(HANDLER_SO);
    auto dev = h.open(policy_none_lun(image, kSize, true));
    std::vector<char> block(kExtent, 'h');
    for (std::uint64_t e = 0; e < 2; ++e)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
    EXPECT_EQ(cli_json("pin " + lun + " 0-1 nvme-a", gw.socket())["count"], 2);
    ASSERT_TRUE(wait_for([&] { return rados_map(*cluster_, image).size() == 2; }, 30s))
        << "pinned extents never moved out";

    const std::string rbd = "rbd -c " + ceph_conf() + " ";
    const CliRun info = run_command(rbd + "info --format json " + lun);
    ASSERT_EQ(info.code, 0) << info.out;
    const std::string header = "rbd_header." + json::parse(info.out)["id"].get<std::string>();
    const std::string set = "rados -c " + ceph_conf() + " -p hdd-a setomapval " + header + " " +
                            "metadata_" + ceph::kHomePinKey + " " + ceph::kHomePinValue;
    const CliRun pinned = run_command(set);
    ASSERT_EQ(pinned.code, 0) << set << ": " << pinned.out;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = kSharedSettingsPeriod + 10s;
    EXPECT_TRUE(wait_for([&] { return rados_map(*cluster_, image).empty(); }, deadline))
        << "the owner did not bring the extents home: " << rados_map(*cluster_, image).size()
        << " away";
    std::printf("home pin written by hand: extents home after %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count()));
    EXPECT_EQ(cli_json("lun show " + lun, gw.socket())["home_pinned"], true);
    EXPECT_NE(cli("pin " + lun + " 0 nvme-a" + sock).code, 0) << "pinned home whole";

    const CliRun removed = run_command(rbd + "image-meta remove " + lun + " " + ceph::kHomePinKey);
    ASSERT_EQ(removed.code, 0) << removed.out;
    EXPECT_TRUE(wait_for(
        [&] { return cli_json("lun show " + lun, gw.socket())["home_pinned"] == false; }, deadline))
        << "the home pin removed by hand still holds";
    EXPECT_EQ(cli_json("pin " + lun + " 0 nvme-a", gw.socket())["count"], 1);
    EXPECT_TRUE(wait_for([&] { return rados_map(*cluster_, image).count(0) == 1; }, 30s))
        << "the LUN released from its home pin is not tiered again";
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < 2; ++e) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
}

TEST_F(LunLifecycle, EvacuateWhileIoRunsThenExportAndRemove) {
    const std::string image = "life-evac-" + std::to_string(::getpid());
    const std::string lun = "hdd-a/" + image;
    constexpr std::uint64_t kExtents = 16;
    constexpr std::uint64_t kSize = kExtents * kExtent;
    const std::string conf = " --ceph-conf " + ceph_conf();
    Leftovers leftovers{*cluster_, image};
    ASSERT_TRUE(ceph::create_image(*hdd_a_, image, kSize).is_ok());
    const auto identity = ceph::identity_of(*cluster_, "hdd-a", "", image);
    ASSERT_TRUE(identity.is_ok()) << identity.status().message();
    GatewayConf gw("site = site-a\nmetrics_port = 0\nround_s = 0.25\n");
    const std::string sock = " --socket " + gw.socket();
    harness::Harness h(HANDLER_SO);
    // A policy that wants the written extents in the fast tiers: evacuation must hold against it.
    harness::DeviceConfig dc{
        lun + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a+nvme-b;policy=predictive;horizon=2",
        kSize};
    dc.implicit_failover = true;
    auto dev = h.open(dc);

    // Random data everywhere; the shadow says what the LUN holds.
    std::vector<char> shadow(kSize);
    {
        std::mt19937_64 rng(42);
        for (std::size_t i = 0; i < kSize; i += 8) {
            const std::uint64_t v = rng();
            std::memcpy(shadow.data() + i, &v, 8);
        }
        for (std::uint64_t off = 0; off < kSize; off += 1 << 20)
            ASSERT_TRUE(dev->write(off / 512, shadow.data() + off, 1 << 20).ok());
    }
    // Extents out to two tiers by pins; an export while they move equals the shadow.
    cli_json("pin " + lun + " 0-5 nvme-a", gw.socket());
    cli_json("pin " + lun + " 6-11 nvme-b", gw.socket());
    {
        TempFile file("life-moving.img");
        const CliRun r = cli("lun export " + lun + " " + file.path + conf + " --format json");
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_EQ(compare_file(file.path, shadow), "") << "export while extents move";
        const json done = json::parse(r.out, nullptr, false);
        std::printf("export while moving: %d extents from tiers, %d read again\n",
                    done.value("extents_away", -1), done.value("reread_extents", -1));
    }
    ASSERT_TRUE(wait_for([&] { return rados_map(*cluster_, image).size() >= 12; }, 60s))
        << "pinned extents never moved: " << rados_map(*cluster_, image).size();
    const std::string tiered_show = cli("lun show " + lun + sock).out;
    EXPECT_NE(tiered_show.find("live outside the home image"), std::string::npos) << tiered_show;
    EXPECT_NE(tiered_show.find("see partial data"), std::string::npos) << tiered_show;
    {
        TempFile file("life-tiered.img");
        const CliRun r = cli("lun export " + lun + " " + file.path + conf + " --format json");
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_GE(json::parse(r.out, nullptr, false).value("extents_away", 0), 12) << r.out;
        EXPECT_EQ(compare_file(file.path, shadow), "") << "export of the tiered LUN";
    }
    {
        const CliRun r = cli("lun remove " + lun + conf);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_NE(r.out.find("close it on every gateway first"), std::string::npos) << r.out;
    }

    // Evacuate while a thread writes and reads back.
    ShadowIo io(*dev, shadow);
    ASSERT_TRUE(wait_for([&] { return io.writes() > 20; }, 30s)) << io.failure();
    const std::uint64_t writes_before = io.writes(), reads_before = io.reads();
    // Moves into the home pool so far (the history holds every attempt, newest last).
    auto moves_home = [&] {
        const json m = cli_json("migrations --lun " + lun + " --limit 100000", gw.socket());
        std::uint64_t n = 0;
        for (const auto& r : m["history"]) n += r["to"] == "hdd-a" && r["outcome"] == "moved";
        return n;
    };
    const std::uint64_t home_before = moves_home();
    const std::uint64_t away_before =
        cli_json("lun show " + lun, gw.socket())["extents_away"].get<std::uint64_t>();
    const CliRun evac = cli("lun evacuate " + lun + sock + " --timeout 120 --format json");
    ASSERT_EQ(evac.code, 0) << evac.out;
    const json evacuated = json::parse(evac.out, nullptr, false);
    EXPECT_EQ(evacuated.value("extents_away", 99), 0) << evac.out;
    EXPECT_EQ(evacuated.value("home_pinned", false), true) << evac.out;
    const std::uint64_t writes_at_evacuation = io.writes();
    // A migration's record lands in the history just after its map update, so the last one may
    // follow the evacuation's answer by a moment.
    std::uint64_t moved_home = 0;
    EXPECT_TRUE(wait_for(
        [&] {
            moved_home = moves_home() - home_before;
            return moved_home >= away_before;
        },
        10s))
        << "each extent away came home through the migrator: " << moved_home << " of "
        << away_before;
    EXPECT_GE(away_before, 11u) << "pinned out before the evacuation";
    EXPECT_GT(writes_at_evacuation, writes_before) << "no write while extents came home";
    std::printf("evacuation: %lu extents home while %lu writes and %lu checked reads ran\n",
                static_cast<unsigned long>(moved_home),
                static_cast<unsigned long>(writes_at_evacuation - writes_before),
                static_cast<unsigned long>(io.reads() - reads_before));
    // The policy still wants the extents out: a few more rounds under I/O move none.
    std::this_thread::sleep_for(3s);
    EXPECT_TRUE(rados_map(*cluster_, image).empty()) << "an extent left home after evacuation";
    EXPECT_NE(cli("pin " + lun + " 0-3 nvme-a" + sock).code, 0) << "pinned home whole";
    EXPECT_NE(cli("unpin " + lun + " 0-3" + sock).code, 0) << "only 'all' releases it";
    io.stop();
    ASSERT_EQ(io.failure(), "");
    EXPECT_GT(io.writes(), writes_at_evacuation) << "I/O went on";
    EXPECT_GT(io.reads(), 0u);
    ASSERT_TRUE(dev->sync().ok());
    EXPECT_TRUE(rados_map(*cluster_, image).empty());
    const std::string home_show = cli("lun show " + lun + sock).out;
    EXPECT_EQ(home_show.find("live outside the home image"), std::string::npos) << home_show;
    EXPECT_NE(home_show.find("pinned      home"), std::string::npos) << home_show;

    // The home image alone is the LUN.
    {
        TempFile file("life-rbd-export.img");
        const CliRun r = run_command("rbd -c " + ceph_conf() + " export " + lun + " " + file.path);
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_EQ(compare_file(file.path, shadow), "") << "rbd export of the home image";
    }
    {
        TempFile file("life-export.img");
        const CliRun r = cli("lun export " + lun + " " + file.path + conf);
        ASSERT_EQ(r.code, 0) << r.out;
        EXPECT_EQ(compare_file(file.path, shadow), "") << "lun export after evacuation";
    }
    // The home pin is in RADOS (a restarted or other gateway follows it).
    {
        auto io_ctx = ceph::IoContext::open(*cluster_, "hdd-a");
        ASSERT_TRUE(io_ctx.is_ok());
        auto home = ceph::Image::open_read_only(*io_ctx, image);
        ASSERT_TRUE(home.is_ok());
        EXPECT_EQ(ceph::home_pinned(*home).value(), true);
    }

    // Released, the LUN is tiered again: a pin moves an extent out.
    cli_json("unpin " + lun + " all", gw.socket());
    cli_json("pin " + lun + " 15 nvme-a", gw.socket());
    ASSERT_TRUE(wait_for([&] { return rados_map(*cluster_, image).count(15) == 1; }, 30s));
    const CliRun again = cli("lun evacuate " + lun + sock + " --timeout 60");
    ASSERT_EQ(again.code, 0) << again.out;
    EXPECT_NE(again.out.find("evacuated"), std::string::npos) << again.out;

    // Removed once no gateway has it open: no tier image, no map object, no home pin.
    dev.reset();
    const CliRun r = cli("lun remove " + lun + conf + " --format json");
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string tier_image = identity->tier_image_name();
    for (const std::string pool : {"nvme-a", "nvme-b"}) {
        const CliRun ls = run_command("rbd -c " + ceph_conf() + " ls " + pool);
        EXPECT_EQ(ls.out.find(tier_image), std::string::npos) << pool << ": " << ls.out;
    }
    const CliRun objects = run_command("rados -c " + ceph_conf() + " -p hdd-a ls");
    EXPECT_EQ(objects.out.find(identity->map_object_name()), std::string::npos) << objects.out;
    auto io_ctx = ceph::IoContext::open(*cluster_, "hdd-a");
    ASSERT_TRUE(io_ctx.is_ok());
    auto home = ceph::Image::open_read_only(*io_ctx, image);
    ASSERT_TRUE(home.is_ok());
    EXPECT_EQ(ceph::home_pinned(*home).value(), false);
    const CliRun twice = cli("lun remove " + lun + conf);
    EXPECT_EQ(twice.code, 1) << "nothing left to remove: " << twice.out;
}

}  // namespace
}  // namespace rbdtier
