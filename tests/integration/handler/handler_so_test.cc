// handler_rbdtier.so loaded and driven the way tcmu-runner 1.5.4 does it (tests/harness):
// registration, the functional battery (data byte-exact through the handler and librbd,
// UNMAP, WRITE SAME, COMPARE AND WRITE, range sense, ...), check_config/open refusals with
// the reason a person needs, data written with librbd read back through the handler, and the
// handler's log lines in the runner's log.
// Gateway administration inside the .so: a LUN opened through the handler shows on the admin
// socket its config names, answered by the real `rbdtier` CLI while I/O keeps being served and
// checked; each LUN registers in the cluster's service map as upstream handler_rbd's do (read
// through a ceph-mgr the test starts when the cluster has none); a bad or unusable config never
// keeps a LUN from serving.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_lifecycle.h"
#include "so_gateway.h"
#include "tests/harness/battery.h"
#include "tests/harness/harness.h"
#include "tests/support/raw_admin_client.h"

namespace rbdtier {
namespace {

using namespace so_test;

std::string conf() {
    return so_test::ceph_conf();
}

class HandlerSo : public ::testing::Test {
protected:
    void SetUp() override {
        if (conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    }
};

TEST_F(HandlerSo, RegistersAsyncRbdtierWithEveryCallout) {
    harness::Harness h(HANDLER_SO);
    const tcmur_handler& t = h.handler();
    EXPECT_EQ(h.subtype(), "rbdtier");
    EXPECT_EQ(t.nr_threads, 0);
    ASSERT_NE(t.cfg_desc, nullptr);
    EXPECT_NE(std::strstr(t.cfg_desc, "policy="), nullptr);
    for (bool present :
         {t.check_config != nullptr, t.open != nullptr, t.close != nullptr, t.read != nullptr,
          t.write != nullptr, t.flush != nullptr, t.unmap != nullptr, t.writesame != nullptr,
          t.caw != nullptr, t.reconfig != nullptr, t.lock != nullptr, t.unlock != nullptr,
          t.get_lock_tag != nullptr, t.get_lock_state != nullptr}) {
        EXPECT_TRUE(present);
    }
}

TEST_F(HandlerSo, PassesTheFunctionalBattery) {
    for (const char* pool : {"nvme-a", "hdd-b"}) {
        harness::BatteryConfig bc;
        bc.handler_path = HANDLER_SO;
        bc.subtype = "rbdtier";
        bc.ceph_conf = conf();
        bc.pool = pool;
        std::ostringstream log;
        EXPECT_EQ(harness::run_battery(bc, log), 0) << pool << ":\n" << log.str();
    }
}

TEST_F(HandlerSo, CheckConfigGivesTheReason) {
    harness::Harness h(HANDLER_SO);
    const std::string c = ";conf=" + conf();
    EXPECT_EQ(h.check_config("nvme-a/img@snap" + c),
              "snapshot 'snap' of image 'img' given, but rbdtier LUNs are writable and cannot be "
              "backed by a snapshot: clone it (rbd clone) and use the clone");
    EXPECT_EQ(h.check_config("nvme-a" + c), "'nvme-a' names no pool: expected pool/image");
    EXPECT_EQ(
        h.check_config("nvme-a/x;colour=blue"),
        "unknown option 'colour' (known: osd_op_timeout, conf, id, tenant, tenant_pool, tiers, "
        "policy, quota, horizon)");
    EXPECT_EQ(h.check_config("nvme-a/x;osd_op_timeout=soon"),
              "osd_op_timeout='soon' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(h.check_config("no-such-pool/x" + c),
              "open pool no-such-pool: No such file or directory");
    EXPECT_EQ(h.check_config("nvme-a/no-such-image" + c),
              "no such image nvme-a/no-such-image: No such file or directory");
    EXPECT_EQ(h.check_config("nvme-a/x;conf=/nonexistent.conf"),
              "read ceph config /nonexistent.conf: No such file or directory");

    // An existing image, with tiers: accepted; a missing tier pool: refused.
    TestImage image("nvme-a", "so-check", 8 << 20);
    const std::string& name = image.name();
    EXPECT_EQ(h.check_config("nvme-a/" + name + c + ";tiers=hdd-a,nvme-b;policy=predictive"),
              std::nullopt);
    EXPECT_EQ(h.check_config("nvme-a/" + name + c + ";tiers=hdd-a,ssd-z"),
              "tiers=: open pool ssd-z: No such file or directory");

    // open() refuses what check_config refuses, and a LUN larger than its image.
    EXPECT_THROW(h.open({"nvme-a/no-such-image" + c, 8 << 20}), std::runtime_error);
    EXPECT_THROW(h.open({"nvme-a/" + name + c, 16 << 20}), std::runtime_error);
    ASSERT_TRUE(image.remove().is_ok());
}

// A format-1 image is its header object NAME.rbd (no rbd_id.NAME): Pacific creates none any
// more, so the test writes one as format 1 lays it out (rbd info reads it as a format 1 image).
// check_config names the format, not a missing image; a name that is neither gets "no such
// image"; odd names get a reason.
class HandlerSoOnCluster : public ClusterTest {};

TEST_F(HandlerSoOnCluster, CheckConfigNamesAFormat1Image) {
    if (!set_up()) return;
    harness::Harness h(HANDLER_SO);
    const std::string c = ";conf=" + conf();
    auto io = ceph::IoContext::open(*cluster_, "nvme-a");
    ASSERT_TRUE(io.is_ok()) << io.status().message();
    const std::string name = "so-format1-" + std::to_string(::getpid());
    struct HeaderObject {
        const ceph::IoContext& io;
        std::string oid;
        ~HeaderObject() { (void)rados_remove(io.handle(), oid.c_str()); }
    } header{*io, name + ".rbd"};
    // rbd_obj_header_ondisk: text, block name, signature, version, order 22, size 8 MiB.
    std::string ondisk(112, '\0');
    const std::string text = "<<< Rados Block Device Image >>>\n";
    ondisk.replace(0, text.size(), text);
    ondisk.replace(40, 14, "rb.0.1.0000002");
    ondisk.replace(64, 3, "RBD");
    ondisk.replace(68, 7, "001.005");
    ondisk[76] = 22;
    ondisk[82] = static_cast<char>(0x80);  // 8 MiB, little-endian at offset 80
    ASSERT_EQ(rados_write_full(io->handle(), header.oid.c_str(), ondisk.data(), ondisk.size()), 0);

    EXPECT_EQ(h.check_config("nvme-a/" + name + c),
              "image nvme-a/" + name +
                  " is format 1, and format 1 images are not supported (rbd export then rbd "
                  "import make a format 2 copy): Operation not supported");
    EXPECT_EQ(h.check_config("nvme-a/" + name + "-not" + c),
              "no such image nvme-a/" + name + "-not: No such file or directory");
    // Bad names: each refused with a reason, none crashes or hangs (the test's timeout).
    for (const std::string& odd :
         {std::string(3000, 'x'), std::string("\xc3\xa4\xe2\x82\xac%"), std::string(".rbd"),
          std::string("rbd_id.") + name, name + ".rbd", std::string("..")}) {
        const auto why = h.check_config("nvme-a/" + odd + c);
        ASSERT_TRUE(why.has_value()) << odd;
        EXPECT_FALSE(why->empty()) << odd;
    }
}

// The connections OSD `osd`'s messenger holds now (msgr_active_connections of its workers, read
// through its admin socket in the test cluster's directory); -1 when they cannot be read.
long osd_connections(int osd) {
    const char* dir = std::getenv("RBDTIER_CLUSTER_DIR");
    if (dir == nullptr || *dir == '\0') return -1;
    test_support::RawClient asok(std::string(dir) + "/run/osd." + std::to_string(osd) + ".asok");
    if (!asok.connected()) return -1;
    const nlohmann::json perf = asok.request({{"prefix", "perf dump"}});
    if (!perf.is_object()) return -1;
    long connections = 0;
    for (const auto& [section, counters] : perf.items()) {
        if (section.rfind("AsyncMessenger::Worker-", 0) == 0 && counters.is_object())
            connections += counters.value("msgr_active_connections", 0L);
    }
    return connections;
}

// tcmu-runner opens the LUNs it finds at its start without check_config (it calls that only for
// targetcli's create), and so are backstores made without targetcli (ceph-iscsi, targetcli
// restoreconfig). Such opens of new tiered LUNs look for and make their tier images through
// the process's one probe client, as after a check, and so do their tiers' latency probes and,
// while they idle, their rounds' samples of the pools (which, without a manager's statistics,
// ask each OSD of the pool): the LUNs' own clients open no session to the tier pool's OSD
// (osd.0 holds nvme-a), which each idle LUN would keep for as long as it is open. One new
// connection there at most, the probe client's.
TEST_F(HandlerSoOnCluster, IdleTieredLunsLeaveTheTierPoolToTheProbeClient) {
    if (!set_up()) return;
    if (osd_connections(0) < 0) GTEST_SKIP() << "osd.0's admin socket cannot be read";
    constexpr int kLuns = 4;
    std::vector<std::unique_ptr<TestImage>> images;
    for (int i = 0; i < kLuns; ++i)
        images.push_back(
            std::make_unique<TestImage>("hdd-a", "so-nocheck-" + std::to_string(i), 8 << 20));
    harness::Harness h(HANDLER_SO);
    const long before = osd_connections(0);
    {
        std::vector<std::unique_ptr<harness::Device>> luns;
        for (const auto& image : images) {
            // An op timeout of its own: no probe client of this process is kept for it yet.
            harness::DeviceConfig dc{"hdd-a/" + image->name() + ";conf=" + conf() +
                                         ";osd_op_timeout=17;tiers=hdd-a,nvme-a",
                                     8 << 20, 512, 2048};
            dc.check_config = false;
            luns.push_back(h.open(dc));
        }
        EXPECT_LE(osd_connections(0) - before, 1)
            << "new connections to osd.0 with " << kLuns << " tiered LUNs open";
        // Two resource intervals of each LUN's rounds (ceph/resource_monitor.h).
        std::this_thread::sleep_for(std::chrono::seconds(11));
        EXPECT_LE(osd_connections(0) - before, 1)
            << "new connections to osd.0 with " << kLuns << " tiered LUNs idle for 11 s";
    }
    for (const auto& image : images) {
        auto removed =
            ceph::remove_lun_tiering(*cluster_, {"hdd-a", "", image->name()}, {"nvme-a"}, true);
        EXPECT_TRUE(removed) << removed.status().message();
    }
}

TEST_F(HandlerSo, DataWrittenWithLibrbdReadsBackThroughTheHandler) {
    TestImage rbd("hdd-a", "so-rb", 8 << 20);
    const std::string& name = rbd.name();
    std::vector<char> data(3 * 4096 + 512);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
    {
        auto image = ceph::Image::open(rbd.io(), name);
        ASSERT_TRUE(image.is_ok());
        ASSERT_EQ(rbd_write(image->handle(), 5 * 4096, data.size(), data.data()),
                  static_cast<ssize_t>(data.size()));
    }
    {
        harness::LogCapture log;
        {
            harness::Harness h(HANDLER_SO);
            (void)h.open({"hdd-a/" + name + ";conf=" + conf(), 8 << 20});
        }
        // The handler writes through the runner's log functions, at their levels.
        const auto lines = log.lines();
        const std::string lun = "rbdtier hdd-a/" + name + ": ";
        const auto logged = [&lines](const std::string& text) {
            return std::any_of(lines.begin(), lines.end(), [&text](const std::string& l) {
                return l.find(text) != std::string::npos;
            });
        };
        EXPECT_TRUE(logged("info log_open: " + lun + "opened: 8388608 bytes")) << lines.size();
        EXPECT_TRUE(logged("info ~Lun: " + lun + "closed")) << lines.size();
    }
    {
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"hdd-a/" + name + ";conf=" + conf(), 8 << 20});
        std::vector<char> back(data.size());
        // As four iovecs of uneven sizes.
        std::vector<iovec> iov{{back.data(), 100},
                               {back.data() + 100, 4000},
                               {back.data() + 4100, 1},
                               {back.data() + 4101, back.size() - 4101}};
        harness::Result r = dev->readv(5 * 4096 / 512, iov);
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_EQ(back, data);
        harness::Result past = dev->read((8 << 20) / 512, back.data(), 512);
        EXPECT_FALSE(past.ok());
        EXPECT_EQ(past.sense_view().key(), 0x5) << past.describe();   // ILLEGAL REQUEST
        EXPECT_EQ(past.sense_view().asc(), 0x21) << past.describe();  // LBA out of range
    }
    ASSERT_TRUE(rbd.remove().is_ok());
}

TEST_F(HandlerSo, ReconfigGrowsAndLockCalloutsWork) {
    TestImage rbd("nvme-b", "so-rc", 8 << 20);
    const std::string& name = rbd.name();
    {
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"nvme-b/" + name + ";conf=" + conf(), 8 << 20});
        const tcmur_handler& t = h.handler();

        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_UNLOCKED);
        EXPECT_EQ(t.lock(dev->raw(), 7), TCMU_STS_OK);
        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_WRITE_LOCKED);
        uint16_t tag = 0;
        EXPECT_EQ(t.get_lock_tag(dev->raw(), &tag), TCMU_STS_OK);
        EXPECT_EQ(tag, 7);
        EXPECT_EQ(t.unlock(dev->raw()), TCMU_STS_OK);
        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_UNLOCKED);
        // A resize takes the exclusive lock implicitly (librbd), so it comes second.
        tcmulib_cfg_info grow{};
        grow.type = TCMULIB_CFG_DEV_SIZE;
        grow.data.dev_size = 12 << 20;
        EXPECT_EQ(t.reconfig(dev->raw(), &grow), 0);
        auto image = ceph::Image::open(rbd.io(), name);
        ASSERT_TRUE(image.is_ok());
        auto size = image->size();
        ASSERT_TRUE(size.is_ok());
        EXPECT_EQ(*size, 12u << 20) << "the image grew with the LUN";
        tcmulib_cfg_info cfgstr{};
        cfgstr.type = TCMULIB_CFG_DEV_CFGSTR;
        EXPECT_EQ(t.reconfig(dev->raw(), &cfgstr), -EOPNOTSUPP);
    }
    ASSERT_TRUE(rbd.remove().is_ok());
}

// ---- gateway administration in the .so -------------------------------------------------------

// The admin socket is a Ceph admin socket: the real `ceph` binary talks to it with `ceph daemon
// PATH CMD` and `ceph --admin-daemon PATH CMD`, with no cluster config (it needs none), while
// the `rbdtier` CLI keeps working on the same socket.
TEST_F(HandlerSo, CephDaemonCommandSpeaksToTheAdminSocket) {
    GatewayConf gw("site = site-a\nmetrics_port = 0\n");
    constexpr std::uint64_t kSize = 16 << 20;
    TestImage image("nvme-a", "so-asok", kSize);
    const std::string lun = "nvme-a/" + image.name();
    harness::Harness h(HANDLER_SO);
    auto dev = h.open({lun + ";conf=" + conf(), kSize});
    IoLoop loop(*dev, kSize);
    ASSERT_TRUE(wait_for([&] { return loop.done() > 2; }, std::chrono::seconds(60)));

    const std::string ceph = "env CEPH_CONF=/nonexistent ceph --conf /nonexistent ";
    const std::string& sock = gw.socket();
    auto ceph_json = [&](const std::string& args) {
        const CliRun r = run_command(ceph + args);
        EXPECT_EQ(r.code, 0) << args << ": " << r.out;
        nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << args << ": " << r.out;
        return j;
    };

    const nlohmann::json help = ceph_json("--admin-daemon " + sock + " help");
    for (const char* name : {"status", "lun list", "lun show", "tier list", "migrations", "map",
                             "heat", "forecast accuracy", "alerts", "pin", "unpin", "pause",
                             "resume", "scrub", "reload", "version", "help"}) {
        ASSERT_TRUE(help.contains(name)) << name << " missing: " << help.dump();
        EXPECT_FALSE(help[name].get<std::string>().empty()) << name;
    }

    const nlohmann::json status = ceph_json("daemon " + sock + " status");
    EXPECT_EQ(status["site"], "site-a") << status.dump();
    EXPECT_EQ(status["pid"], ::getpid());
    ASSERT_NE(find_named(status["luns"], lun), nullptr) << status.dump();

    // Arguments, validated by ceph's argparse against the command descriptions.
    const nlohmann::json show = ceph_json("daemon " + sock + " lun show " + lun);
    EXPECT_EQ(show["name"], lun) << show.dump();
    EXPECT_EQ(ceph_json("daemon " + sock + " migrations " + lun + " 5")["total"], 0);
    EXPECT_TRUE(ceph_json("daemon " + sock + " tier list")["tiers"].is_array());
    // --format json: compact, one line.
    const CliRun compact = run_command(ceph + "--format json daemon " + sock + " version");
    EXPECT_EQ(compact.out.find('\n'), std::string::npos) << compact.out;
    EXPECT_NE(compact.out.find("\"version\""), std::string::npos) << compact.out;
    // A refusal is Ceph's error text; an unknown command is refused by ceph itself.
    const CliRun missing = run_command(ceph + "daemon " + sock + " lun show no/such");
    EXPECT_NE(missing.out.find("ERROR: (2) No such file or directory\nunknown LUN 'no/such'"),
              std::string::npos)
        << missing.out;
    const CliRun unknown = run_command(ceph + "daemon " + sock + " frobnicate");
    EXPECT_NE(unknown.code, 0) << unknown.out;
    EXPECT_NE(unknown.out.find("invalid command"), std::string::npos) << unknown.out;

    // The rbdtier CLI, on top of the same protocol.
    EXPECT_EQ(cli_json("lun show " + lun, sock)["name"], lun);
    const CliRun bad =
        run_command(std::string(RBDTIER_CLI_PATH) + " lun show no/such --socket " + sock);
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_NE(bad.out.find("rbdtier: unknown LUN 'no/such'"), std::string::npos) << bad.out;
    loop.stop();
    EXPECT_EQ(loop.failed(), 0u) << loop.first_failure();
}

TEST_F(HandlerSo, GatewayAnswersTheCliWhileLunsServeIo) {
    GatewayConf gw("site = site-a\nmetrics_port = 0\n");
    constexpr std::uint64_t kSize = 32 << 20;
    TestImage plain_image("nvme-a", "so-gw-p", kSize);
    TestImage tiered_image("hdd-a", "so-gw-t", kSize);
    const std::string& plain = plain_image.name();
    const std::string& tiered = tiered_image.name();
    {
        harness::Harness h(HANDLER_SO);
        auto p = h.open({"nvme-a/" + plain + ";conf=" + conf(), kSize});
        auto t = h.open(
            {"hdd-a/" + tiered + ";conf=" + conf() + ";tiers=hdd-a+nvme-a;policy=reactive", kSize});
        IoLoop plain_loop(*p, kSize);
        IoLoop tiered_loop(*t, kSize);
        ASSERT_TRUE(wait_for([&] { return plain_loop.done() > 3 && tiered_loop.done() > 3; },
                             std::chrono::seconds(60)));
        const std::uint64_t before = plain_loop.done() + tiered_loop.done();

        struct stat st {};
        ASSERT_EQ(::stat(gw.socket().c_str(), &st), 0) << "the .so made no admin socket";
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0600u);

        const nlohmann::json s = cli_json("status", gw.socket());
        ASSERT_TRUE(s.contains("luns")) << s.dump();
        EXPECT_EQ(s["pid"], ::getpid()) << "the gateway runs inside this (the runner's) process";
        EXPECT_EQ(s["site"], "site-a");
        EXPECT_EQ(s["admin_socket"], gw.socket());
        ASSERT_EQ(s["luns"].size(), 2u) << s.dump();
        ASSERT_NE(find_named(s["luns"], "nvme-a/" + plain), nullptr) << s.dump();
        const nlohmann::json* ts = find_named(s["luns"], "hdd-a/" + tiered);
        ASSERT_NE(ts, nullptr) << s.dump();
        EXPECT_TRUE((*ts)["engine"].is_object()) << "the tiered LUN has an engine";
        EXPECT_EQ((*ts)["horizon_s"], 120) << "cfgstring default horizon";
        ASSERT_TRUE(s["service"].is_object()) << s.dump();
        EXPECT_EQ(s["service"]["type"], "tcmu-runner");

        nlohmann::json list = cli_json("lun list", gw.socket());
        const nlohmann::json& luns = list["luns"];
        ASSERT_EQ(luns.size(), 2u) << list.dump();
        const nlohmann::json* pl = find_named(luns, "nvme-a/" + plain);
        const nlohmann::json* tl = find_named(luns, "hdd-a/" + tiered);
        ASSERT_TRUE(pl && tl) << list.dump();
        EXPECT_EQ((*pl)["tiered"], false);
        EXPECT_EQ((*pl)["size_bytes"], kSize);
        EXPECT_EQ((*tl)["tiered"], true);
        EXPECT_EQ((*tl)["pool"], "hdd-a");
        EXPECT_EQ((*tl)["image"], tiered);
        EXPECT_EQ((*tl)["extents"], kSize / (4 << 20));
        EXPECT_EQ((*tl)["tiers"].size(), 2u);

        // The I/O the handler served is counted per tier (LunIoMetrics fed on completion).
        nlohmann::json show = cli_json("lun show hdd-a/" + tiered, gw.socket());
        const nlohmann::json& io = show["io"];
        ASSERT_TRUE(io.is_array()) << show.dump();
        std::uint64_t reads = 0, writes = 0;
        for (const auto& tier : io) {
            reads += tier["reads"].get<std::uint64_t>();
            writes += tier["writes"].get<std::uint64_t>();
        }
        EXPECT_GE(reads, 3u) << show.dump();
        EXPECT_GE(writes, 3u) << show.dump();

        // Each LUN is in the service map (rados_service_register on its own client took it)
        // and the gateway keeps its status current.
        EXPECT_TRUE(wait_for(
            [&] {
                nlohmann::json j = cli_json("status", gw.socket());
                if (!j["service"].is_object() || !j["service"]["daemons"].is_array() ||
                    j["service"]["daemons"].size() != 2)
                    return false;
                for (const auto& d : j["service"]["daemons"])
                    if (!d.value("registered", false) || d.value("status_updates", 0) < 1)
                        return false;
                return true;
            },
            std::chrono::seconds(30)))
            << cli_json("status", gw.socket()).dump();
        // What `ceph service dump` then shows: EveryLunShowsInTheServiceMapAsAPortal.

        // Bad input on the socket does not disturb the LUNs.
        const CliRun bad = run_command(std::string(RBDTIER_CLI_PATH) +
                                       " lun show no/such --socket " + gw.socket());
        EXPECT_EQ(bad.code, 1) << bad.out;
        EXPECT_NE(bad.out.find("unknown LUN 'no/such'"), std::string::npos) << bad.out;

        ASSERT_TRUE(wait_for([&] { return plain_loop.done() + tiered_loop.done() > before + 4; },
                             std::chrono::seconds(60)))
            << "I/O stalled while the admin socket was used";
        plain_loop.stop();
        tiered_loop.stop();
        EXPECT_EQ(plain_loop.failed(), 0u) << plain_loop.first_failure();
        EXPECT_EQ(tiered_loop.failed(), 0u) << tiered_loop.first_failure();
    }
    // The last LUN closed and the plugin went away: so did the socket.
    EXPECT_FALSE(std::filesystem::exists(gw.socket()));
    ASSERT_TRUE(plain_image.remove().is_ok());
    ASSERT_TRUE(tiered_image.remove().is_ok());
}

TEST_F(HandlerSo, LunsServeWhenTheGatewayConfigIsBadOrItsSocketCannotBeMade) {
    TestImage image("nvme-b", "so-gw-bad", 8 << 20);
    const std::string& name = image.name();
    // A config with a mistake, and one whose socket directory does not exist.
    for (const std::string& body :
         {std::string("admin_socket = /tmp/x.asok\nsitee = b\n"),
          std::string("admin_socket = /nonexistent-dir/rbdtier/gw.asok\nmetrics_port = 0\n")}) {
        GatewayConf gw(body, false);
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"nvme-b/" + name + ";conf=" + conf(), 8 << 20});
        std::vector<char> data(8192, 'q'), back(8192);
        ASSERT_TRUE(dev->write(16, data.data(), data.size()).ok()) << body;
        ASSERT_TRUE(dev->read(16, back.data(), back.size()).ok()) << body;
        EXPECT_EQ(back, data) << body;
        EXPECT_FALSE(std::filesystem::exists("/tmp/x.asok")) << "the bad config was not used";
    }
    ASSERT_TRUE(image.remove().is_ok());
}

// `rbdtier health` on a gateway with a tiered LUN: HEALTH_OK (exit 0), then an admin pause
// makes it HEALTH_WARN (exit 1) with the reason, in text and JSON, until resumed; a gateway
// that cannot be asked is exit 3.
TEST_F(HandlerSo, HealthSaysWhatIsWrongUntilItClears) {
    GatewayConf gw("metrics_port = 0\n");
    TestImage image("hdd-a", "so-health", 8 << 20);
    harness::Harness h(HANDLER_SO);
    auto dev =
        h.open({"hdd-a/" + image.name() + ";conf=" + conf() + ";tiers=hdd-a+nvme-a", 8 << 20});
    const std::string cli = std::string(RBDTIER_CLI_PATH) + " health --socket " + gw.socket();
    CliRun r = run_command(cli);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out, "HEALTH_OK\n");

    (void)cli_json("pause", gw.socket());
    r = run_command(cli);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(r.out,
              "HEALTH_WARN migrations paused by an admin\n"
              "[WRN] ENGINE_PAUSED: migrations paused by an admin\n"
              "    no extent of 1 tiered LUN moves until `rbdtier resume`\n");
    r = run_command(cli + " --format json");
    EXPECT_EQ(r.code, 1) << r.out;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["status"], "HEALTH_WARN");
    EXPECT_EQ(j["checks"]["ENGINE_PAUSED"]["severity"], "HEALTH_WARN") << r.out;

    (void)cli_json("resume", gw.socket());
    r = run_command(cli);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out, "HEALTH_OK\n");

    r = run_command(std::string(RBDTIER_CLI_PATH) + " health --socket " + gw.dir() +
                    "/no-such.asok 2>&1");
    EXPECT_EQ(r.code, 3) << r.out;
    dev.reset();
    ASSERT_TRUE(image.remove().is_ok());
}

// A tenant holding its whole quota of a tier pool is HEALTH_WARN TENANT_QUOTA_EXCEEDED with
// the tenant, the bytes and the pool, until its quota is raised (each LUN re-reads its tenant
// every resource interval, 5 s).
TEST_F(HandlerSo, HealthWarnsWhileATenantHoldsItsWholeQuota) {
    GatewayConf gw("metrics_port = 0\n");
    TestImage image("hdd-a", "so-quota", 16 << 20);
    const std::string cli = RBDTIER_CLI_PATH;
    // Tenants stay in RADOS: a name of this run's own (also with --gtest_repeat).
    const std::string tenant =
        "so-health-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    const std::string tenant_opts = " --pool hdd-a --ceph-conf " + conf() + " --format json";
    CliRun r = run_command(cli + " tenant create " + tenant + " --quota nvme-a=4M" + tenant_opts);
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string lun = "hdd-a/" + image.name();
    harness::Harness h(HANDLER_SO);
    harness::DeviceConfig dc{
        lun + ";conf=" + conf() + ";tiers=hdd-a+nvme-a;policy=reactive;tenant=" + tenant, 16 << 20};
    dc.implicit_failover = true;  // a write takes the RBD exclusive lock: the LUN migrates
    auto dev = h.open(dc);
    std::vector<char> data(4096, 'q');
    ASSERT_TRUE(dev->write(0, data.data(), data.size()).ok());
    (void)cli_json("pin " + lun + " 0-0 nvme-a", gw.socket());  // 4 MiB: the whole quota

    const std::string health = cli + " health --format json --socket " + gw.socket();
    nlohmann::json j;
    ASSERT_TRUE(wait_for(
        [&] {
            r = run_command(health);
            j = nlohmann::json::parse(r.out, nullptr, false);
            return r.code == 1 && j.is_object() && j["checks"].contains("TENANT_QUOTA_EXCEEDED");
        },
        std::chrono::seconds(90)))
        << r.code << " " << r.out;
    EXPECT_EQ(j["status"], "HEALTH_WARN");
    EXPECT_EQ(j["checks"]["TENANT_QUOTA_EXCEEDED"]["detail"][0]["message"],
              "tenant " + tenant + " holds 4 MiB of its 4 MiB quota in pool nvme-a")
        << j.dump();

    r = run_command(cli + " tenant set " + tenant + " --quota nvme-a=1G" + tenant_opts);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(wait_for(
        [&] {
            r = run_command(health);
            return r.code == 0;
        },
        std::chrono::seconds(60)))
        << r.code << " " << r.out;
    dev.reset();
    ASSERT_TRUE(image.remove().is_ok());
}

// A ceph-mgr of this test's own (the service map is the manager's), stopped by its PID and then
// failed in the monitor's map at once, so the cluster is left as it was found (without it, the
// monitor keeps answering `df` from the dead manager's last figures until its beacon grace ends).
class OwnMgr {
public:
    explicit OwnMgr(const std::string& ceph_conf) : ceph_conf_(ceph_conf) {
        char tmpl[] = "/tmp/rbdtier-so-mgr.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        std::filesystem::create_directories(dir_ + "/data");
        pid_ = ::fork();
        if (pid_ == 0) {
            const std::string data = dir_ + "/data", log = dir_ + "/mgr.log";
            const int out = ::open((dir_ + "/mgr.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (out >= 0) {
                ::dup2(out, 1);
                ::dup2(out, 2);
            }
            ::execl(kBinary, kBinary, "-f", "-i", kName, "-c", ceph_conf.c_str(), "--mgr-data",
                    data.c_str(), "--log-file", log.c_str(), "--pid-file", "",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~OwnMgr() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            (void)run_command("timeout 20 ceph --conf " + ceph_conf_ + " mgr fail " + kName +
                              " 2>&1");
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    static constexpr const char* kBinary = "/usr/bin/ceph-mgr";
    static constexpr const char* kName = "rbdtier-so-test";

private:
    std::string ceph_conf_;
    std::string dir_;
    pid_t pid_ = -1;
};

bool mgr_available(const std::string& ceph_conf) {
    const CliRun r = run_command("timeout 20 ceph --conf " + ceph_conf + " mgr stat -f json");
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    return !j.is_discarded() && j.value("available", false);
}

// Each open LUN is a daemon of service tcmu-runner in the service map, registered the way
// upstream handler_rbd does it (daemon "<host>:<pool>/<image>", daemon_type portal, pool_name,
// image_name, image_id) plus rbdtier's own metadata (handler, admin_socket) and status (lock
// owner, engine, policy, health); `ceph -s` counts them as portals; a LUN closed leaves the
// map. Needs a manager: the test starts its own when the cluster has none and ceph-mgr is
// installed (skipped otherwise).
TEST_F(HandlerSo, EveryLunShowsInTheServiceMapAsAPortal) {
    std::unique_ptr<OwnMgr> mgr;
    if (!mgr_available(conf())) {
        if (!std::filesystem::exists(OwnMgr::kBinary))
            GTEST_SKIP() << "no ceph-mgr: the service map cannot be read";
        mgr = std::make_unique<OwnMgr>(conf());
        ASSERT_TRUE(wait_for([&] { return mgr_available(conf()); }, std::chrono::seconds(90)))
            << "the test's ceph-mgr did not become available";
    }
    GatewayConf gw("metrics_port = 0\n");
    TestImage tiered_image("hdd-a", "so-svc-t", 8 << 20);
    TestImage plain_image("hdd-a", "so-svc-p", 8 << 20);
    const std::string& tiered = tiered_image.name();
    const std::string& plain = plain_image.name();
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
    const std::string tiered_daemon = std::string(host) + ":hdd-a/" + tiered;
    const std::string plain_daemon = std::string(host) + ":hdd-a/" + plain;
    // `ceph ... -f json` of the manager, or null when it does not answer (yet) with an object.
    auto ceph_json = [&](const std::string& args) {
        const CliRun r =
            run_command("timeout 20 ceph --conf " + conf() + " " + args + " -f json 2>/dev/null");
        nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
        return j.is_object() ? j : nlohmann::json();
    };
    using Ptr = nlohmann::json::json_pointer;
    // A daemon name as one token of a JSON pointer ("/" in it escaped as "~1").
    auto token = [](const std::string& daemon) {
        std::string out;
        for (char ch : daemon) out += ch == '/' ? std::string("~1") : std::string(1, ch);
        return out;
    };
    auto status_of = [&](const std::string& daemon) {
        return Ptr("/tcmu-runner/" + token(daemon) + "/status");
    };
    auto metadata_of = [&](const std::string& daemon) {
        return Ptr("/services/tcmu-runner/daemons/" + token(daemon) + "/metadata");
    };
    harness::Harness h(HANDLER_SO);
    harness::DeviceConfig tdc{"hdd-a/" + tiered + ";conf=" + conf() + ";tiers=hdd-a+nvme-a",
                              8 << 20};
    tdc.implicit_failover = true;  // a write takes the RBD exclusive lock, as ALUA does
    auto tdev = h.open(tdc);
    auto pdev = h.open({"hdd-a/" + plain + ";conf=" + conf(), 8 << 20});
    std::vector<char> data(4096, 's');
    ASSERT_TRUE(tdev->write(0, data.data(), data.size()).ok());

    // Status, as handler_rbd reports it (lock_owner true/false) and rbdtier's own fields.
    nlohmann::json status;
    ASSERT_TRUE(wait_for(
        [&] {
            status = ceph_json("service status");
            return status.contains(status_of(tiered_daemon)) &&
                   status[status_of(tiered_daemon)].value("lock_owner", "") == "true" &&
                   status.contains(status_of(plain_daemon));
        },
        std::chrono::seconds(60)))
        << status.dump();
    const nlohmann::json& ts = status[status_of(tiered_daemon)];
    EXPECT_EQ(ts.value("engine", ""), "running") << ts.dump();
    EXPECT_EQ(ts.value("health", ""), "HEALTH_OK") << ts.dump();
    EXPECT_EQ(ts.value("site", ""), "site-a") << ts.dump();
    EXPECT_TRUE(ts.contains("lock_lost_cnt")) << ts.dump();
    EXPECT_TRUE(ts.contains("extents_away")) << ts.dump();
    const nlohmann::json& ps = status[status_of(plain_daemon)];
    EXPECT_EQ(ps.value("engine", ""), "none") << ps.dump();
    EXPECT_EQ(ps.value("health", ""), "HEALTH_OK") << ps.dump();

    // The service map (digested by the monitor a little later) has each LUN's metadata.
    nlohmann::json dump;
    ASSERT_TRUE(wait_for(
        [&] {
            dump = ceph_json("service dump");
            return dump.contains(metadata_of(tiered_daemon)) &&
                   dump.contains(metadata_of(plain_daemon)) &&
                   dump[metadata_of(tiered_daemon)].value("admin_socket", "") == gw.socket() &&
                   dump[metadata_of(plain_daemon)].value("admin_socket", "") == gw.socket();
        },
        std::chrono::seconds(60)))
        << dump.dump();
    for (const auto& [daemon, image] :
         {std::pair{tiered_daemon, tiered}, std::pair{plain_daemon, plain}}) {
        const nlohmann::json& m = dump[metadata_of(daemon)];
        EXPECT_EQ(m.value("daemon_type", ""), "portal") << m.dump();
        EXPECT_EQ(m.value("daemon_prefix", ""), host) << m.dump();
        EXPECT_EQ(m.value("pool_name", ""), "hdd-a") << m.dump();
        EXPECT_EQ(m.value("image_name", ""), image) << m.dump();
        EXPECT_FALSE(m.value("image_id", "").empty()) << m.dump();
        EXPECT_EQ(m.value("handler", ""), "rbdtier") << m.dump();
    }
    // No gateway-wide entry of the old kind (one of an older build may linger from elsewhere).
    const Ptr old_entry("/services/tcmu-runner/daemons/" + std::string(host) +
                        ":rbdtier/metadata/admin_socket");
    EXPECT_FALSE(dump.contains(old_entry) && dump[old_entry] == gw.socket()) << dump.dump();
    CliRun s;
    EXPECT_TRUE(wait_for(
        [&] {
            s = run_command("timeout 20 ceph --conf " + conf() + " -s");
            return s.out.find("tcmu-runner: 2 portals active") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << s.out;

    // The gateway's health is each LUN's status: an admin pause shows on the tiered LUN.
    (void)cli_json("pause", gw.socket());
    EXPECT_TRUE(wait_for(
        [&] {
            status = ceph_json("service status");
            return status.contains(status_of(tiered_daemon)) &&
                   status[status_of(tiered_daemon)].value("health", "") == "HEALTH_WARN" &&
                   status[status_of(tiered_daemon)].value("health_checks", "") == "ENGINE_PAUSED" &&
                   status[status_of(tiered_daemon)].value("engine", "") == "paused";
        },
        std::chrono::seconds(60)))
        << status.dump();
    (void)cli_json("resume", gw.socket());
    EXPECT_TRUE(wait_for(
        [&] {
            status = ceph_json("service status");
            return status.contains(status_of(tiered_daemon)) &&
                   status[status_of(tiered_daemon)].value("health", "") == "HEALTH_OK";
        },
        std::chrono::seconds(60)))
        << status.dump();

    // The plain LUN closed: its daemon leaves the map; the tiered one stays.
    pdev.reset();
    EXPECT_TRUE(wait_for(
        [&] {
            dump = ceph_json("service dump");
            return dump.contains(metadata_of(tiered_daemon)) &&
                   !dump.contains(metadata_of(plain_daemon));
        },
        std::chrono::seconds(90)))
        << dump.dump();
    EXPECT_TRUE(wait_for(
        [&] {
            s = run_command("timeout 20 ceph --conf " + conf() + " -s");
            return s.out.find("tcmu-runner: 1 portal active") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << s.out;
    tdev.reset();
    ASSERT_TRUE(tiered_image.remove().is_ok());
    ASSERT_TRUE(plain_image.remove().is_ok());
}

}  // namespace
}  // namespace rbdtier
