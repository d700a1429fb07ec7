// The watches of a gateway's tiered LUNs (the placement map's, the settings'), loaded as
// tcmu-runner loads handler_rbdtier.so (the harness) on the local cluster:
//   - the process's threads beyond librados's and librbd's own (those named as the process: the
//     Ceph libraries name theirs) do not grow with the number of tiered LUNs;
//   - `rbdtier config set --lun` on each LUN's image, heard by each tiered LUN through its map's
//     watch, costs a tiered LUN no thread more than `rbd image-meta set` costs a plain one (no
//     librbd thread pool per image);
//   - a tiered LUN watches one object of its own (its map; librbd's watch of the header aside);
//   - LUNs closed and opened again while their map object (an extent's move, a settings change, a
//     payload of nobody's), their image's header and the cluster settings object are notified
//     without pause: each close waits for the callbacks in flight, the notifier is answered
//     throughout, and every LUN reads back what was written. The moments of the closes are random
//     (tests/support/seed.h).
// Its own executable: the thread counts are this process's alone.
#include <gtest/gtest.h>
#include <rados/librados.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"
#include "tests/support/process_threads.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace {

using namespace so_test;
using namespace std::chrono_literals;
using test_support::process_threads;
using test_support::threads_named;
using test_support::threads_named_as_process;

constexpr std::uint64_t kSize = 4 * kExtent;

class WatchHubTest : public ClusterTest {
protected:
    // A test's gateway: its rbdtier.conf (tenant pool hdd-a) and handler_rbdtier.so loaded as
    // tcmu-runner loads it, with the LUNs it opened (closed first, then the .so's handler).
    struct Gateway {
        GatewayConf conf{"metrics_port = 0\ntenant_pool = hdd-a\n"};
        harness::Harness harness{HANDLER_SO};
        std::vector<std::unique_ptr<harness::Device>> devs;
    };

    void TearDown() override {
        gateway_.reset();  // its LUNs closed before their images go
        if (!cluster_) return;
        for (const std::string& image : images_) {
            (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", image, {"nvme-a"});
            (void)ceph::remove_image(*hdd_a_, image);
        }
    }
    // A new image in hdd-a for a LUN of this test; removed (with its tiering) at the end.
    std::string make_image() {
        const std::string name = "watch-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                                 "-" + std::to_string(images_.size());
        const ceph::Status s = ceph::create_image(*hdd_a_, name, kSize);
        EXPECT_TRUE(s.is_ok()) << s.message();
        images_.push_back(name);
        return name;
    }
    static harness::DeviceConfig lun_config(const std::string& image, bool tiered) {
        return {"hdd-a/" + image + ";conf=" + ceph_conf() + (tiered ? ";tiers=hdd-a+nvme-a" : ""),
                kSize};
    }
    // Starts the test's gateway (gateway_); false when the test is not to run (SetUp skipped it
    // or failed).
    bool start_gateway() {
        if (!set_up()) return false;
        gateway_.emplace();
        return true;
    }
    // Opens a LUN of `image` (tiered or plain) in the gateway and writes and reads back its
    // first block filled with `fill` (by default 't' for a tiered LUN, 'p' for a plain one): what
    // librbd starts on a LUN's first I/O is running. Its device, the last of gateway_->devs.
    harness::Device& open_lun(const std::string& image, bool tiered,
                              std::optional<char> fill = std::nullopt) {
        gateway_->devs.push_back(gateway_->harness.open(lun_config(image, tiered)));
        touch(*gateway_->devs.back(), fill.value_or(tiered ? 't' : 'p'));
        return *gateway_->devs.back();
    }
    // One block written and read back.
    static void touch(harness::Device& dev, char fill) {
        std::vector<char> block(4096, fill), back(4096);
        ASSERT_TRUE(dev.write(0, block.data(), block.size()).ok());
        ASSERT_TRUE(dev.read(0, back.data(), back.size()).ok());
        ASSERT_EQ(back, block);
    }

    std::vector<std::string> images_;
    std::optional<Gateway> gateway_;
};

// The acks of a notify's reply (rados_notify2): how many, and how many carry a payload. The reply
// is Ceph's encoding of map<pair<gid, cookie>, bufferlist> (the acks) then the watchers that timed
// out: u32 count, then per ack two u64, a u32 length and that many bytes, all little-endian.
struct Acks {
    std::uint64_t all = 0;
    std::uint64_t with_payload = 0;
};
Acks acks_of(const char* reply, std::size_t len) {
    auto u32_at = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i)
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(reply[at + i])) << (8 * i);
        return v;
    };
    Acks acks;
    if (reply == nullptr || len < 4) return acks;
    std::size_t at = 4;
    for (std::uint32_t n = u32_at(0); n > 0 && at + 20 <= len; --n) {
        const std::uint32_t ack_len = u32_at(at + 16);
        ++acks.all;
        if (ack_len > 0) ++acks.with_payload;
        at += 20 + ack_len;
    }
    return acks;
}

TEST_F(WatchHubTest, TieredLunsAddNoThreadsOfTheirOwn) {
    if (!start_gateway()) return;
    auto open = [&](bool tiered) { open_lun(make_image(), tiered); };
    // The gateway's services and its shared workers start with its first tiered LUN.
    open(true);
    ASSERT_FALSE(HasFailure());
    const unsigned long all_before = process_threads();
    const unsigned long ours_before = threads_named_as_process();
    constexpr unsigned long kTiered = 6;
    for (unsigned long i = 0; i < kTiered; ++i) open(true);
    open(false);
    ASSERT_FALSE(HasFailure());
    // Threads of ours that end on their own (none expected) are given time to.
    const bool constant = wait_for([&] { return threads_named_as_process() <= ours_before; }, 10s);
    const unsigned long ours = threads_named_as_process();
    const unsigned long all = process_threads();
    std::printf(
        "threads: %lu (%lu of rbdtier and the test) with one tiered LUN; %lu (%lu) with "
        "%lu more tiered and a plain one\n",
        all_before, ours_before, all, ours, kTiered);
    EXPECT_TRUE(constant) << ours - ours_before << " threads beyond librados's and librbd's "
                          << "started for " << kTiered << " more tiered LUNs";
}

TEST_F(WatchHubTest, LunSettingChangesAreHeardWithoutAThreadPerTieredLun) {
    if (!start_gateway()) return;
    // Opens a LUN, writes to it, then sets a per-LUN setting in its image's metadata: a tiered
    // LUN's with `rbdtier config set --lun` (which notifies the LUN's map object), a plain LUN's
    // with `rbd image-meta set` (librbd notifies the image's header, which librbd watches); a
    // tiered LUN must apply it at once, heard through its map's watch (its periodic look is
    // 10 s away).
    auto open = [&](bool tiered) {
        const std::string image = make_image();
        open_lun(image, tiered);
        const std::string set = tiered
                                    ? std::string(RBDTIER_CLI_PATH) + " config set --lun hdd-a/" +
                                          image + " horizon 60 --ceph-conf " + ceph_conf()
                                    : "rbd -c " + ceph_conf() + " image-meta set hdd-a/" + image +
                                          " rbdtier.horizon 60";
        const CliRun r = run_command(set);
        ASSERT_EQ(r.code, 0) << set << ": " << r.out;
        if (!tiered) return;
        nlohmann::json show;
        const bool heard = wait_for(
            [&] {
                show = cli_json("lun show hdd-a/" + image, gateway_->conf.socket());
                const auto& s = show["settings"]["horizon_s"];
                return s.is_object() && s["value"] == "60" && s["source"] == "image";
            },
            5s);
        EXPECT_TRUE(heard) << "the change of " << image << " is not applied: " << show.dump();
    };
    // The gateway's services and a LUN of each kind: whatever the process starts once.
    open(true);
    open(false);
    ASSERT_FALSE(HasFailure());
    constexpr unsigned long kLuns = 4;
    const unsigned long before = process_threads();
    for (unsigned long i = 0; i < kLuns; ++i) open(false);
    ASSERT_FALSE(HasFailure());
    const unsigned long with_plain = process_threads();
    for (unsigned long i = 0; i < kLuns; ++i) open(true);
    ASSERT_FALSE(HasFailure());
    // Threads that end on their own (none expected) are given time to.
    auto grown = [](unsigned long from, unsigned long to) {
        return static_cast<long>(to) - static_cast<long>(from);
    };
    const bool same = wait_for(
        [&] { return grown(with_plain, process_threads()) <= grown(before, with_plain); }, 10s);
    const unsigned long with_tiered = process_threads();
    std::printf(
        "threads: %lu; %lu with %lu more plain LUNs; %lu with %lu more tiered LUNs "
        "(%lu named tp_librbd), after a per-LUN setting changed on each\n",
        before, with_plain, kLuns, with_tiered, kLuns, threads_named("tp_librbd"));
    EXPECT_TRUE(same) << kLuns << " tiered LUNs added " << grown(with_plain, with_tiered)
                      << " threads, " << kLuns << " plain LUNs " << grown(before, with_plain)
                      << " (" << threads_named("tp_librbd") << " threads named tp_librbd)";
}

// The watchers of `oid` in hdd-a, as `rados listwatchers` lists them (one line each).
int watchers_of(const std::string& oid) {
    const CliRun r = run_command("rados -c " + ceph_conf() + " -p hdd-a listwatchers " + oid);
    EXPECT_EQ(r.code, 0) << oid << ": " << r.out;
    int n = 0;
    for (std::size_t at = r.out.find("watcher="); at != std::string::npos;
         at = r.out.find("watcher=", at + 1))
        ++n;
    return n;
}

// Each watch costs a gateway a ping every few seconds and its state for each LUN: a tiered LUN
// watches its map object (the placement and its own settings' notifies) and leaves its image's
// header to librbd's own watch, as a plain LUN does.
TEST_F(WatchHubTest, ATieredLunWatchesOneObjectOfItsOwn) {
    if (!start_gateway()) return;
    std::vector<std::string> headers, maps;
    for (const bool tiered : {false, true}) {
        const std::string image = make_image();
        open_lun(image, tiered);
        ASSERT_FALSE(HasFailure());
        auto opened = ceph::Image::open_read_only(*hdd_a_, image);
        ASSERT_TRUE(opened.is_ok()) << opened.status().message();
        auto lun = ceph::LunIdentity::of(*hdd_a_, *opened);
        ASSERT_TRUE(lun.is_ok()) << lun.status().message();
        headers.push_back("rbd_header." + lun->image_id);
        maps.push_back(lun->map_object_name());
    }
    const int plain_header = watchers_of(headers[0]);
    const int tiered_header = watchers_of(headers[1]);
    const int tiered_map = watchers_of(maps[1]);
    std::printf("watchers: plain LUN's header %d; tiered LUN's header %d, its map %d\n",
                plain_header, tiered_header, tiered_map);
    EXPECT_EQ(plain_header, 1) << "librbd's own watch";
    EXPECT_EQ(tiered_header, plain_header) << "the tiered LUN's header: librbd's watch alone";
    EXPECT_EQ(tiered_map, 1);
}

TEST_F(WatchHubTest, ClosingLunsWhileTheirWatchesAreNotifiedIsSafe) {
    if (!start_gateway()) return;
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937 random(seed);

    constexpr int kLuns = 3;
    std::vector<std::string> images;
    auto& devs = gateway_->devs;
    std::vector<std::string> map_objects;
    std::vector<std::string> headers;  // the images' header objects
    for (int i = 0; i < kLuns; ++i) {
        images.push_back(make_image());
        open_lun(images.back(), true, static_cast<char>('a' + i));
        ASSERT_FALSE(HasFailure());
        auto image = ceph::Image::open_read_only(*hdd_a_, images.back());
        ASSERT_TRUE(image.is_ok()) << image.status().message();
        auto lun = ceph::LunIdentity::of(*hdd_a_, *image);
        ASSERT_TRUE(lun.is_ok()) << lun.status().message();
        map_objects.push_back(lun->map_object_name());
        auto id = image->id();
        ASSERT_TRUE(id.is_ok()) << id.status().message();
        headers.push_back("rbd_header." + *id);
    }

    // Notifies every LUN's map object (a move of extent 0, as another gateway's commit says), its
    // image's header and the cluster settings object, over a client of its own, until told to
    // stop.
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> notifies{0}, late{0}, failed{0}, header_acks{0}, doubly_answered{0};
    std::thread notifier([&] {
        auto io = ceph::IoContext::open(*cluster_, "hdd-a");
        if (!io) {
            failed.fetch_add(1);
            return;
        }
        // Each map object three times: a move of extent 0, a settings change, a payload that is
        // neither (acknowledged and ignored).
        std::vector<std::pair<std::string, std::string>> notifies_of;
        for (const std::string& oid : map_objects)
            for (const char* payload : {"0", "settings", "not-a-key"})
                notifies_of.emplace_back(oid, payload);
        notifies_of.emplace_back("rbdtier.config", "settings");
        // An empty notify of a header is a header update (as old librbd clients send).
        for (const std::string& oid : headers) notifies_of.emplace_back(oid, "");
        constexpr std::uint64_t kTimeoutMs = 5000;
        while (!stop.load()) {
            for (const auto& [oid, payload] : notifies_of) {
                char* reply = nullptr;
                std::size_t reply_len = 0;
                const auto sent = std::chrono::steady_clock::now();
                const int rc =
                    rados_notify2(io->handle(), oid.c_str(), payload.data(),
                                  static_cast<int>(payload.size()), kTimeoutMs, &reply, &reply_len);
                // librbd's own watch of the header answers with a payload (its ResponseMessage);
                // librbd's notifiers read two such answers as two lock owners: every other
                // watcher's ack must be empty.
                if (rc == 0 && oid.rfind("rbd_header.", 0) == 0) {
                    const Acks acks = acks_of(reply, reply_len);
                    header_acks.fetch_add(acks.all);
                    if (acks.with_payload > 1) doubly_answered.fetch_add(1);
                }
                if (reply != nullptr) rados_buffer_free(reply);
                notifies.fetch_add(1);
                if (std::chrono::steady_clock::now() - sent >
                    std::chrono::milliseconds(kTimeoutMs) + 5s)
                    late.fetch_add(1);
                if (rc < 0 && rc != -ETIMEDOUT) failed.fetch_add(1);
            }
        }
    });

    constexpr int kCloses = 8;
    for (int round = 0; round < kCloses; ++round) {
        const int i = static_cast<int>(random() % kLuns);
        const std::uint64_t seen = notifies.load();
        // Closes land anywhere among the notifies: wait for a few, then a random moment.
        ASSERT_TRUE(wait_for([&] { return notifies.load() >= seen + 3; }, 30s))
            << "the notifier is not answered";
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 50'000));
        devs[static_cast<std::size_t>(i)].reset();
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 50'000));
        devs[static_cast<std::size_t>(i)] =
            gateway_->harness.open(lun_config(images[static_cast<std::size_t>(i)], true));
        std::vector<char> back(4096);
        ASSERT_TRUE(devs[static_cast<std::size_t>(i)]->read(0, back.data(), back.size()).ok());
        EXPECT_EQ(back, std::vector<char>(4096, static_cast<char>('a' + i)))
            << "LUN " << i << " after close " << round << " (seed " << seed << ")";
    }
    stop.store(true);
    notifier.join();
    EXPECT_GT(notifies.load(), static_cast<std::uint64_t>(kCloses));
    EXPECT_EQ(failed.load(), 0u) << "notifies failed (seed " << seed << ")";
    EXPECT_EQ(late.load(), 0u) << "notifies answered after their timeout (seed " << seed << ")";
    std::printf("%llu notifies, %llu acks of header updates\n",
                static_cast<unsigned long long>(notifies.load()),
                static_cast<unsigned long long>(header_acks.load()));
    EXPECT_GT(header_acks.load(), 0u);
    EXPECT_EQ(doubly_answered.load(), 0u)
        << "header updates answered with a payload by more than librbd (seed " << seed << ")";
}

}  // namespace
}  // namespace rbdtier
