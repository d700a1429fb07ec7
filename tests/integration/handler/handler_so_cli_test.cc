// Every `rbdtier` CLI verb against the gateway inside the real handler_rbdtier.so, loaded by the
// harness the way tcmu-runner loads it, on the local cluster. Two LUNs serve checked
// I/O the whole time: a tiered one (home hdd-a, all four pools, predictive policy, a 2 s horizon,
// a small nvme-a quota, a tenant) and an untiered one. Each verb's JSON is checked against what
// the test knows on its own: what it wrote and read, the placement map and the tenant store read
// straight from RADOS, the images' sizes, the cfgstrings. pin/pause/resume are checked by where
// extents end up in RADOS; `migrations --follow` by the records it streams and its exit when
// the gateway goes away; `alerts` by a scan the test makes with an initiator of its own. Bad
// input (unknown verb, LUN, tenant, tier, bad ranges, an open socket mode, malformed JSON and an
// oversized request on the socket, a bad config on reload) gets its exit code and message, and
// the LUNs keep serving I/O without a single failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/tenant_store.h"
#include "ceph/tier_images.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"
#include "tests/support/raw_admin_client.h"
#include "tests/support/shell_command.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using test_support::RawClient;
using namespace std::chrono_literals;

constexpr std::uint64_t kExtent = 4 << 20;
constexpr std::uint64_t kTieredExtents = 48;  // the anomaly detector wants scans of >= 32
constexpr std::uint64_t kTieredSize = kTieredExtents * kExtent;
constexpr std::uint64_t kPlainSize = 32 << 20;
const std::vector<std::string> kTiers = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};
constexpr const char* kScanner = "iqn.2026-01.org.rbdtier:scanner";
constexpr const char* kHotReader = "iqn.2026-01.org.rbdtier:hot-reader";

using Split = test_support::SplitRun;
using test_support::read_file;

// The CLI with stdout and stderr apart (exit codes and messages of refusals).
Split cli(const std::string& args) {
    return test_support::run_split(std::string(RBDTIER_CLI_PATH) + " " + args,
                                   ::testing::TempDir());
}

std::string pool_at(const std::map<std::uint64_t, ceph::PlacementEntry>& map, std::uint64_t e) {
    auto it = map.find(e);
    return it == map.end() ? "hdd-a" : it->second.pool;
}

// `rbdtier migrations --follow --format json ...` as a child process: its lines are collected by
// a thread; stopped by its PID if it has not ended when this goes away.
class Follower {
public:
    explicit Follower(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            const int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) ::dup2(null, 2);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(RBDTIER_CLI_PATH));
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(RBDTIER_CLI_PATH, argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        fd_ = fds[0];
        reader_ = std::thread([this] { read(); });
    }
    ~Follower() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (reader_.joinable()) reader_.join();
        if (fd_ >= 0) ::close(fd_);
    }
    Follower(const Follower&) = delete;
    Follower& operator=(const Follower&) = delete;

    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    // Its exit code once it ended within `deadline`, else nullopt (it is then still running).
    std::optional<int> wait_exit(std::chrono::milliseconds deadline) {
        if (pid_ <= 0) return std::nullopt;
        wait_for(
            [&] {
                int status = 0;
                if (!status_ && ::waitpid(pid_, &status, WNOHANG) == pid_)
                    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                return status_.has_value();
            },
            deadline);
        return status_;
    }

private:
    void read() {
        std::string partial;
        char buf[4096];
        ssize_t n = 0;
        while ((n = ::read(fd_, buf, sizeof(buf))) > 0) {
            partial.append(buf, static_cast<std::size_t>(n));
            for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
                std::lock_guard lock(mutex_);
                lines_.push_back(partial.substr(0, nl));
                partial.erase(0, nl + 1);
            }
        }
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    std::optional<int> status_;
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    std::thread reader_;
};

// Removes what the test made in the cluster, whatever way the test ends (an empty name: none).
struct ClusterLeftovers {
    const ceph::Cluster& cluster;
    std::string tiered, plain, tenant;
    ~ClusterLeftovers() {
        (void)ceph::remove_tiered_lun_store(cluster, "hdd-a", "", tiered, kTiers);
        if (auto io = ceph::IoContext::open(cluster, "hdd-a")) {
            (void)ceph::remove_image(*io, tiered);
            ceph::TenantStore store(*io);
            if (!tenant.empty()) (void)store.remove(tenant);
        }
        if (auto io = ceph::IoContext::open(cluster, "nvme-a"); io && !plain.empty())
            (void)ceph::remove_image(*io, plain);
    }
};

// Needs no gateway. (CLI11 alone answered "A subcommand is required", naming nothing.)
TEST(GatewayCliUsage, UnknownVerbIsNamed) {
    const Split r = cli("frobnicate --socket /nonexistent.asok");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
}

// `rbdtier health` follows Nagios' plugin convention: bad usage is UNKNOWN (exit 3), not
// CRITICAL, so a mistyped check is never taken for HEALTH_ERR (2). It is refused before any
// gateway is asked, with CLI11's reason and "bad usage" on stderr and nothing on stdout.
TEST(GatewayCliUsage, HealthUsageErrorsAreUnknownNotHealthErr) {
    for (const std::string args : {"health --bogus", "health extra", "health --format xml",
                                   "health --socket", "health --format json --bogus"}) {
        const Split r = cli(args);
        EXPECT_EQ(r.code, 3) << args << ": " << r.err;
        EXPECT_EQ(r.out, "") << args;
        EXPECT_NE(r.err.find("bad usage"), std::string::npos) << args << ": " << r.err;
    }
    // Other verbs keep exit 2 for bad usage.
    const Split status = cli("status --bogus");
    EXPECT_EQ(status.code, 2) << status.err;
    // --help is not an error.
    const Split help = cli("health --help");
    EXPECT_EQ(help.code, 0) << help.err;
    EXPECT_NE(help.out.find("bad usage 3"), std::string::npos) << help.out;
}

class GatewayCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    }
};

TEST_F(GatewayCli, EveryVerbAgainstTheHandlerSoWhileLunsServeIo) {
    const std::string pid = std::to_string(::getpid());
    const std::string gateway_settings =
        "site = site-a\nmetrics_port = 0\nadmin_max_request_bytes = 4096\nround_s = 0.25\n";
    GatewayConf gw(gateway_settings);
    const std::string sock = gw.socket();
    ceph::ClusterOptions o;
    o.conf_path = ceph_conf();
    auto cluster = ceph::Cluster::connect(o);
    ASSERT_TRUE(cluster.is_ok()) << cluster.status().message();
    auto hdd_a = ceph::IoContext::open(*cluster, "hdd-a");
    auto nvme_a = ceph::IoContext::open(*cluster, "nvme-a");
    ASSERT_TRUE(hdd_a.is_ok() && nvme_a.is_ok());
    const std::string tiered = "so-cli-t-" + pid;
    const std::string plain = "so-cli-p-" + pid;
    const std::string tenant = "so-cli-" + pid;
    const std::string tiered_lun = "hdd-a/" + tiered;
    const std::string plain_lun = "nvme-a/" + plain;
    ClusterLeftovers leftovers{*cluster, tiered, plain, tenant};
    ASSERT_TRUE(ceph::create_image(*hdd_a, tiered, kTieredSize).is_ok());
    ASSERT_TRUE(ceph::create_image(*nvme_a, plain, kPlainSize).is_ok());

    // ---- tenants: straight in RADOS, no gateway needed --------------------------------------
    const std::string tenant_opts = " --pool hdd-a --ceph-conf " + ceph_conf() + " --format json";
    ceph::TenantStore store(*hdd_a);
    auto tenant_cli = [&](const std::string& args) {
        const Split r = cli("tenant " + args + tenant_opts);
        EXPECT_EQ(r.code, 0) << args << ": " << r.err;
        json j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << args << ": " << r.out;
        return j;
    };
    auto stored_json = [&](const std::string& name) {
        auto t = store.get(name);
        EXPECT_TRUE(t.is_ok()) << t.status().message();
        if (!t) return json();
        return json{{"name", t->name},
                    {"quota_bytes", t->quota_bytes},
                    {"bandwidth_weight", t->bandwidth_weight},
                    {"priority", t->priority}};
    };
    json created = tenant_cli("create " + tenant + " --quota nvme-a=64M --quota nvme-b=1G" +
                              " --bandwidth-weight 3 --priority 2");
    EXPECT_EQ(created["quota_bytes"]["nvme-a"], 64u << 20) << created.dump();
    EXPECT_EQ(created["quota_bytes"]["nvme-b"], 1u << 30) << created.dump();
    EXPECT_EQ(created, stored_json(tenant)) << "the CLI shows what RADOS holds";
    json changed = tenant_cli("set " + tenant + " --quota nvme-b=0 --priority 4");
    EXPECT_EQ(changed["priority"], 4.0);
    EXPECT_EQ(changed["bandwidth_weight"], 3.0) << "set changes only what is given";
    EXPECT_FALSE(changed["quota_bytes"].contains("nvme-b")) << "SIZE 0 removes a quota";
    EXPECT_EQ(changed, stored_json(tenant));
    EXPECT_EQ(tenant_cli("show " + tenant), stored_json(tenant));
    const json tenants = tenant_cli("list");
    const json* listed = find_named(tenants["tenants"], tenant);
    ASSERT_NE(listed, nullptr) << tenants.dump();
    EXPECT_EQ(*listed, stored_json(tenant));
    {
        Split r = cli("tenant show nope-" + pid + tenant_opts);
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_NE(r.err.find("tenant 'nope-" + pid + "'"), std::string::npos) << r.err;
        EXPECT_EQ(json::parse(r.out, nullptr, false).value("error", ""),
                  "tenant 'nope-" + pid + "': No such file or directory")
            << r.out;
        r = cli("tenant create " + tenant + tenant_opts);
        EXPECT_EQ(r.code, 1) << "an existing name: " << r.out;
        r = cli("tenant set " + tenant + " --quota nvme-a=lots" + tenant_opts);
        EXPECT_EQ(r.code, 1);
        EXPECT_NE(r.err.find("'lots' is not a size"), std::string::npos) << r.err;
        EXPECT_EQ(stored_json(tenant), changed) << "a refused change changes nothing";
    }

    // ---- the gateway: the .so with two LUNs serving checked I/O ------------------------------
    const std::string tiered_cfg = tiered_lun + ";conf=" + ceph_conf() +
                                   ";tiers=hdd-a+nvme-a+nvme-b+hdd-b;policy=predictive;horizon=2" +
                                   ";quota=nvme-a:16M;tenant=" + tenant;
    auto h = std::make_unique<harness::Harness>(HANDLER_SO);
    harness::DeviceConfig tiered_dc{tiered_cfg, kTieredSize};
    tiered_dc.implicit_failover = true;  // writes take the RBD exclusive lock: the LUN migrates
    auto t_dev = h->open(tiered_dc);
    auto p_dev = h->open({plain_lun + ";conf=" + ceph_conf(), kPlainSize});
    // Paced: at most 25 writes a second, each on another extent, below the anomaly detector's
    // 32 extents a window (1 s here), so the loop is never an overwrite burst however fast or
    // slow the machine lets it run meanwhile (the check at the alerts below).
    IoLoop tiered_loop(*t_dev, kTieredSize, harness::kDefaultInitiator,
                       std::chrono::milliseconds(40));
    IoLoop plain_loop(*p_dev, kPlainSize);
    // Extents 0-2 read over and over by one initiator: the hot ones.
    std::atomic<bool> stop_hot{false};
    std::atomic<std::uint64_t> hot_failed{0};
    std::thread hot([&] {
        std::vector<char> buf(4096);
        for (std::uint64_t i = 0; !stop_hot; ++i)
            if (!t_dev->read((i % 3) * kExtent / 512, buf.data(), buf.size(), kHotReader).ok())
                ++hot_failed;
    });
    struct Joiner {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Joiner() {
            stop = true;
            if (t.joinable()) t.join();
        }
    } hot_joiner{stop_hot, hot};
    ASSERT_TRUE(wait_for([&] { return tiered_loop.done() > 3 && plain_loop.done() > 3; }, 60s));

    struct stat st {};
    ASSERT_EQ(::stat(sock.c_str(), &st), 0) << "the .so made no admin socket";
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    // status
    const json status = cli_json("status", sock);
    EXPECT_EQ(status["pid"], ::getpid());
    EXPECT_EQ(status["site"], "site-a");
    EXPECT_EQ(status["admin_socket"], sock);
    EXPECT_EQ(status["config"], gw.path());
    EXPECT_EQ(status["paused"], false);
    EXPECT_DOUBLE_EQ(status["round_s"].get<double>(), 0.25);
    ASSERT_EQ(status["luns"].size(), 2u) << status.dump();
    const json* ts = find_named(status["luns"], tiered_lun);
    const json* ps = find_named(status["luns"], plain_lun);
    ASSERT_TRUE(ts && ps) << status.dump();
    EXPECT_EQ((*ts)["horizon_s"], 2) << "the cfgstring's horizon";
    EXPECT_EQ((*ts)["lock_owner"], true) << "implicit failover took the lock";
    EXPECT_TRUE((*ts)["engine"].is_object());
    EXPECT_TRUE((*ps)["engine"].is_null()) << "the untiered LUN has no engine";
    EXPECT_TRUE((*ts)["placement"]["unacknowledged_by"].empty()) << status.dump();
    EXPECT_TRUE((*ps)["placement"].is_null());

    // The engine moves a hot extent out of hdd-a (to a fast tier).
    ASSERT_TRUE(wait_for(
        [&] {
            const auto now = rados_map(*cluster, tiered);
            return now.count(0) || now.count(1) || now.count(2);
        },
        45s))
        << cli_json("lun show " + tiered_lun, sock).dump() << "\n"
        << cli_json("migrations", sock).dump();

    // ---- pause: the map holds still while the answers are compared with RADOS ----------------
    auto rounds = [&] {
        return cli_json("lun show " + tiered_lun, sock)["engine"]["rounds"].get<std::uint64_t>();
    };
    // What the admin did from here to `resume` lands in the runner's log, once each.
    auto runner_log = std::make_unique<harness::LogCapture>();
    EXPECT_EQ(cli_json("pause", sock)["paused"], true);
    const std::uint64_t paused_at = rounds();
    // The pause withdrew the LUN's orders not started; a migration in progress ends as it would,
    // however many rounds that takes. Once the LUN's queue (waiting or in progress) is empty and
    // paused rounds have run, nothing of it moves until `resume`.
    ASSERT_TRUE(wait_for(
        [&] {
            return rounds() >= paused_at + 2 &&
                   cli_json("migrations --lun " + tiered_lun, sock)["queue"].empty();
        },
        60s));
    const json paused_show = cli_json("lun show " + tiered_lun, sock);
    EXPECT_EQ(paused_show["engine"]["paused"], true);
    EXPECT_EQ(cli_json("status", sock)["paused"], true);
    const auto map = rados_map(*cluster, tiered);
    const json paused_history = cli_json("migrations --lun " + tiered_lun, sock);

    // lun list / lun show
    const json list = cli_json("lun list", sock);
    ASSERT_EQ(list["luns"].size(), 2u) << list.dump();
    const json* tl = find_named(list["luns"], tiered_lun);
    const json* pl = find_named(list["luns"], plain_lun);
    ASSERT_TRUE(tl && pl) << list.dump();
    EXPECT_EQ((*pl)["tiered"], false);
    EXPECT_EQ((*pl)["size_bytes"], kPlainSize);
    EXPECT_EQ((*tl)["tiered"], true);
    EXPECT_EQ((*tl)["pool"], "hdd-a");
    EXPECT_EQ((*tl)["image"], tiered);
    EXPECT_EQ((*tl)["tenant"], tenant) << "the cfgstring's tenant";
    {
        auto image = ceph::Image::open(*hdd_a, tiered);
        ASSERT_TRUE(image.is_ok()) << image.status().message();
        auto size = image->size();
        ASSERT_TRUE(size.is_ok());
        EXPECT_EQ((*tl)["size_bytes"], *size) << "the home image's size";
    }
    EXPECT_EQ((*tl)["extent_bytes"], kExtent);
    EXPECT_EQ((*tl)["extents"], kTieredExtents);
    std::map<std::string, std::uint64_t> per_pool;
    for (const auto& [e, entry] : map) ++per_pool[entry.pool];
    per_pool["hdd-a"] = kTieredExtents - map.size();
    std::cout << "placement when paused (extents):";
    for (const auto& [pool, n] : per_pool) std::cout << ' ' << pool << '=' << n;
    std::cout << "; migrations " << paused_history["total"] << std::endl;
    ASSERT_EQ((*tl)["tiers"].size(), kTiers.size()) << tl->dump();
    for (const auto& t : (*tl)["tiers"]) {
        const std::string pool = t["pool"];
        EXPECT_EQ(t["extents"], per_pool[pool]) << pool << ": " << tl->dump();
        EXPECT_EQ(t["bytes"], per_pool[pool] * kExtent) << pool;
        EXPECT_EQ(t["home"], pool == "hdd-a");
    }
    for (std::uint64_t e = 0; e < 3; ++e) {
        if (map.count(e)) {
            EXPECT_NE(map.at(e).pool, "hdd-b") << "hot extent " << e;
        }
    }
    EXPECT_LE(per_pool["nvme-a"], 4u) << "at most the 16M quota of nvme-a";
    {  // placement: named from the LUN's identity (the image id), owned by this gateway
        auto identity = ceph::identity_of(*cluster, "hdd-a", "", tiered);
        ASSERT_TRUE(identity.is_ok()) << identity.status().message();
        const json& p = (*tl)["placement"];
        EXPECT_EQ(p["format"], 2) << tl->dump();
        EXPECT_EQ(p["lun_id"], identity->key());
        EXPECT_EQ(p["tier_image"], identity->tier_image_name());
        EXPECT_EQ(p["map_object"], "rbdtier_map." + identity->image_id);
        EXPECT_EQ(p["owner"], true) << "the gateway that migrates holds the map's fence";
        EXPECT_EQ(p["problem"], "");
        EXPECT_EQ(p["routing"], "valid") << "its watch on the map is alive";
        EXPECT_EQ(p["watch_error"], 0);
        EXPECT_TRUE((*pl)["placement"].is_null()) << "an untiered LUN has none";
    }
    {
        const std::uint64_t done = plain_loop.done();  // each one: a write, then a read
        const json show = cli_json("lun show " + plain_lun, sock);
        std::uint64_t reads = 0, writes = 0;
        for (const auto& t : show["io"]) {
            reads += t["reads"].get<std::uint64_t>();
            writes += t["writes"].get<std::uint64_t>();
        }
        EXPECT_GE(reads, done) << show.dump();
        EXPECT_GE(writes, done) << show.dump();
        EXPECT_EQ(show["tenant"], "default") << show.dump();
    }
    EXPECT_EQ(paused_show["tenant"], tenant);
    EXPECT_EQ(paused_show["lock_owner"], true) << "implicit failover took the lock";

    // tier list: pools, classes, sites from CRUSH; nvme-a's capacity is the LUN's quota.
    const json tiers = cli_json("tier list", sock);
    for (const std::string& pool : kTiers) {
        const json* t = nullptr;
        for (const auto& x : tiers["tiers"])
            if (x["pool"] == pool) t = &x;
        ASSERT_NE(t, nullptr) << pool << ": " << tiers.dump();
        EXPECT_EQ((*t)["device_class"], pool.substr(0, pool.find('-'))) << t->dump();
        EXPECT_EQ((*t)["site"], "site-" + pool.substr(pool.find('-') + 1)) << t->dump();
        EXPECT_EQ((*t)["local"], pool.ends_with("-a")) << t->dump();
        EXPECT_EQ((*t)["used_bytes"], per_pool[pool] * kExtent) << t->dump();
        if (pool == "nvme-a") {
            EXPECT_EQ((*t)["capacity_bytes"], 16u << 20) << t->dump();
        }
    }

    // map: exactly the RADOS map's entries.
    const json map_reply = cli_json("map " + tiered_lun, sock);
    EXPECT_EQ(map_reply["home"], "hdd-a");
    EXPECT_EQ(map_reply["extents"], kTieredExtents);
    ASSERT_EQ(map_reply["away"].size(), map.size()) << map_reply.dump();
    for (const auto& a : map_reply["away"]) {
        const auto it = map.find(a["extent"].get<std::uint64_t>());
        ASSERT_NE(it, map.end()) << a.dump();
        EXPECT_EQ(a["pool"], it->second.pool);
        EXPECT_EQ(a["generation"], it->second.generation);
        EXPECT_EQ(a["crc32c"], it->second.crc);
    }

    // heat: the placement of every extent as in RADOS, forecasts of the predictive policy.
    const json heat = cli_json("heat " + tiered_lun, sock);
    EXPECT_EQ(heat["policy"], "predictive");
    EXPECT_EQ(heat["forecasts"], true);
    EXPECT_EQ(heat["extents"], kTieredExtents);
    EXPECT_EQ(heat["truncated"], false);
    EXPECT_EQ(heat["tiers"], json(kTiers));
    ASSERT_EQ(heat["heat"].size(), kTieredExtents);
    for (std::uint64_t e = 0; e < kTieredExtents; ++e) {
        EXPECT_EQ(heat["heat"][e]["extent"], e);
        EXPECT_EQ(heat["heat"][e]["tier"], pool_at(map, e)) << "extent " << e;
        EXPECT_TRUE(heat["heat"][e]["pinned"].is_null());
    }
    for (std::uint64_t e = 0; e < 3; ++e)
        EXPECT_GT(heat["heat"][e]["heat"].get<double>(), 0)
            << "hot extent " << e << ": " << heat["heat"][e].dump();
    const json window = cli_json("heat " + tiered_lun + " --first 40 --count 20", sock);
    EXPECT_EQ(window["first"], 40);
    EXPECT_EQ(window["count"], 8) << "a window ends at the LUN's end";
    ASSERT_EQ(window["heat"].size(), 8u);
    EXPECT_EQ(window["heat"][0]["extent"], 40);

    // The text forms name the initiators too: lun show has a row per initiator with the extents
    // it touched (the hot reader: 0-2), heat a `who` row with a legend naming them.
    {
        const Split show = cli("lun show " + tiered_lun + " --socket " + sock);
        EXPECT_EQ(show.code, 0) << show.err;
        EXPECT_NE(show.out.find("initiators  named by the host"), std::string::npos) << show.out;
        std::istringstream lines(show.out);
        bool hot_row = false, loop_row = false;
        for (std::string line; std::getline(lines, line);) {
            hot_row = hot_row ||
                      (line.rfind(kHotReader, 0) == 0 && line.substr(line.size() - 4) == " 0-2");
            loop_row = loop_row || line.rfind(std::string(harness::kDefaultInitiator), 0) == 0;
        }
        EXPECT_TRUE(hot_row) << show.out;
        EXPECT_TRUE(loop_row) << show.out;
        const Split text = cli("heat " + tiered_lun + " --socket " + sock);
        EXPECT_EQ(text.code, 0) << text.err;
        EXPECT_NE(text.out.find("who: "), std::string::npos) << text.out;
        EXPECT_NE(text.out.find(std::string("=") + kHotReader), std::string::npos) << text.out;
        EXPECT_NE(text.out.find("         who  |+++"), std::string::npos)
            << "extents 0-2: the hot reader and the I/O loop\n"
            << text.out;
    }

    // migrations: history records against the RADOS map, the queue with reasons.
    const json& history = paused_history["history"];
    EXPECT_GE(paused_history["total"].get<std::uint64_t>(), 1u);
    std::uint64_t moved_records = 0;
    for (const auto& m : history) {
        EXPECT_EQ(m["lun"], tiered_lun);
        if (m["outcome"] != "moved") continue;
        ++moved_records;
        EXPECT_EQ(m["bytes"], kExtent) << m.dump();
        const auto it = map.find(m["extent"].get<std::uint64_t>());
        if (it != map.end() && it->second.generation == m["generation"]) {  // still where it went
            EXPECT_EQ(it->second.pool, m["to"]) << m.dump();
            EXPECT_EQ(it->second.crc, m["crc32c"]) << m.dump();
        }
    }
    EXPECT_GE(moved_records, 1u) << paused_history.dump();
    EXPECT_TRUE(paused_history["queue"].is_array());
    for (const auto& q : paused_history["queue"]) {
        EXPECT_TRUE(q["net_benefit"].is_number()) << q.dump();
        EXPECT_FALSE(q["reason"].get<std::string>().empty()) << q.dump();
    }

    // forecast accuracy of the predictive policy: the models add up.
    const json accuracy = cli_json("forecast accuracy --lun " + tiered_lun, sock);
    ASSERT_EQ(accuracy["luns"].size(), 1u) << accuracy.dump();
    const json& acc = accuracy["luns"][0];
    EXPECT_EQ(acc["policy"], "predictive");
    EXPECT_EQ(acc["tenant"], tenant);
    ASSERT_EQ(acc["available"], true) << acc.dump();
    std::uint64_t promotions = 0;
    double recall = 0;  // each model's share of busy accesses it served: together, at most all
    for (const auto& m : acc["models"]) {
        promotions += m["promotions"].get<std::uint64_t>();
        recall += m["recall"].get<double>();
        EXPECT_LE(m["hits"].get<std::uint64_t>() + m["wasted"].get<std::uint64_t>(),
                  m["promotions"].get<std::uint64_t>())
            << m.dump();
    }
    EXPECT_EQ(acc["total"]["promotions"], promotions) << acc.dump();
    EXPECT_LE(recall, acc["total"]["recall"].get<double>() + 1e-9) << acc.dump();
    for (const auto& t : acc["tenants"]) EXPECT_EQ(t["name"], tenant) << "the LUN's own tenant";
    EXPECT_EQ(cli_json("forecast accuracy", sock)["luns"].size(), 1u)
        << "only the tiered LUN makes forecasts";

    // scrub: every migrated extent's data matches its crc (or was written since).
    const json scrub = cli_json("scrub " + tiered_lun, sock);
    EXPECT_EQ(scrub["crc_mismatch"], 0) << scrub.dump();
    EXPECT_GE(scrub["extents_checked"].get<std::uint64_t>(), map.size()) << scrub.dump();

    // pin while paused: nothing moves yet. Extents 40-41 to nvme-b, bytes 168M-176M
    // (= extents 42-43) to hdd-b.
    json pinned = cli_json("pin " + tiered_lun + " 40-41 nvme-b", sock);
    EXPECT_EQ(pinned["first_extent"], 40);
    EXPECT_EQ(pinned["count"], 2);
    EXPECT_EQ(pinned["tier"], "nvme-b");
    pinned = cli_json("pin " + tiered_lun + " 168M-176M hdd-b", sock);
    EXPECT_EQ(pinned["first_extent"], 42);
    EXPECT_EQ(pinned["count"], 2);
    ASSERT_EQ(pinned["pins"].size(), 2u) << pinned.dump();
    EXPECT_EQ(pinned["pins"][1],
              json({{"first_extent", 42}, {"last_extent", 43}, {"count", 2}, {"tier", "hdd-b"}}));
    const std::uint64_t pinned_at = rounds();
    ASSERT_TRUE(wait_for([&] { return rounds() >= pinned_at + 4; }, 20s));
    const json still = cli_json("migrations --lun " + tiered_lun, sock);
    EXPECT_EQ(still["total"], paused_history["total"]) << "no migration while paused";
    EXPECT_EQ(cli_json("lun show " + tiered_lun, sock)["engine"]["moved"],
              paused_show["engine"]["moved"]);
    EXPECT_EQ(rados_map(*cluster, tiered), map) << "the map held still while paused";

    // migrations --follow, from now on; then resume: the pins are carried out.
    Follower follow(
        {"migrations", "--follow", "--format", "json", "--lun", tiered_lun, "--socket", sock});
    EXPECT_EQ(cli_json("resume", sock)["paused"], false);
    EXPECT_EQ(cli_json("status", sock)["paused"], false);
    {
        const std::vector<std::string> lines = runner_log->lines();
        runner_log.reset();
        const auto count = [&lines](const std::string& text) {
            return std::count_if(lines.begin(), lines.end(), [&text](const std::string& l) {
                return l.find(text) != std::string::npos;
            });
        };
        EXPECT_EQ(count("info handle: rbdtier: admin pause: migrations paused"), 1);
        EXPECT_EQ(count("info handle: rbdtier " + tiered_lun +
                        ": admin pin range=40-41 tier=nvme-b: extents 40-41 pinned to nvme-b"),
                  1);
        // Logged once, at info, by the scrub's job when it ended (not from handle()).
        EXPECT_EQ(count("info log_scrub_end: rbdtier " + tiered_lun + ": admin scrub: "), 1);
        EXPECT_EQ(count("info handle: rbdtier: admin resume: migrations resumed"), 1);
        EXPECT_EQ(count("rbdtier: admin status"), 0) << "queries are not logged";
        EXPECT_EQ(count(": admin lun show"), 0) << "queries are not logged";
    }
    std::map<std::uint64_t, ceph::PlacementEntry> after;
    EXPECT_TRUE(wait_for(
        [&] {
            after = rados_map(*cluster, tiered);
            return pool_at(after, 40) == "nvme-b" && pool_at(after, 41) == "nvme-b" &&
                   pool_at(after, 42) == "hdd-b" && pool_at(after, 43) == "hdd-b";
        },
        60s))
        << "pinned extents not where they are pinned: 40 " << pool_at(after, 40) << ", 42 "
        << pool_at(after, 42);
    EXPECT_GT(cli_json("migrations --lun " + tiered_lun, sock)["total"].get<std::uint64_t>(),
              paused_history["total"].get<std::uint64_t>())
        << "migrations continue after resume";
    const json pinned_heat = cli_json("heat " + tiered_lun, sock);
    for (std::uint64_t e = 0; e < kTieredExtents; ++e) {
        const json& row = pinned_heat["heat"][e];
        const json want = e < 40 || e > 43 ? json(nullptr) : json(e < 42 ? "nvme-b" : "hdd-b");
        EXPECT_EQ(row["pinned"], want) << row.dump();
        if (!want.is_null()) {
            EXPECT_EQ(row["tier"], want) << row.dump();
        }
    }
    // A window shows the same pins (heat() once indexed the window's pins by the absolute
    // extent, reading past them for a window not starting at 0).
    const json pinned_window = cli_json("heat " + tiered_lun + " --first 40 --count 4", sock);
    for (std::uint64_t i = 0; i < 4; ++i)
        EXPECT_EQ(pinned_window["heat"][i]["pinned"], pinned_heat["heat"][40 + i]["pinned"])
            << pinned_window.dump();
    // The follower streamed the pins' migrations, each as one JSON line.
    std::set<std::uint64_t> streamed;
    EXPECT_TRUE(wait_for(
        [&] {
            for (const auto& line : follow.lines()) {
                const json m = json::parse(line, nullptr, false);
                if (m.is_object() && m.value("outcome", "") == "moved" &&
                    m.value("to", "") == pool_at(after, m.value("extent", 0u)))
                    streamed.insert(m["extent"].get<std::uint64_t>());
            }
            return streamed.count(40) && streamed.count(41) && streamed.count(42) &&
                   streamed.count(43);
        },
        15s))
        << "migrations --follow printed " << follow.lines().size() << " lines";
    for (const auto& line : follow.lines())
        EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;

    // unpin splits the pins; unpinning everything leaves none.
    json unpinned = cli_json("unpin " + tiered_lun + " 41-42", sock);
    ASSERT_EQ(unpinned["pins"].size(), 2u) << unpinned.dump();
    EXPECT_EQ(unpinned["pins"][0]["last_extent"], 40);
    EXPECT_EQ(unpinned["pins"][1]["first_extent"], 43);
    EXPECT_EQ(cli_json("unpin " + tiered_lun + " 0-47", sock)["pins"].size(), 0u);
    const json unpinned_heat = cli_json("heat " + tiered_lun, sock);
    for (const auto& row : unpinned_heat["heat"])
        EXPECT_TRUE(row["pinned"].is_null()) << row.dump();

    // ---- alerts: a scan by an initiator that never scans ------------------------------------
    // Anomaly windows are max(1 s, horizon/12) = 1 s; a baseline needs 4 windows of the
    // initiator's normal activity (one extent, read now and then); then it reads all 48
    // extents in order, 32+ sequential steps within a window. A scan cut by a window's end may
    // not count: it is tried again after more normal windows (bounded).
    std::vector<char> small(4096);
    auto scanner_alert = [&]() -> std::optional<json> {
        const json alerts = cli_json("alerts --lun " + tiered_lun, sock);
        for (const auto& a : alerts["alerts"])
            if (a["initiator_name"] == kScanner) return a;
        return std::nullopt;
    };
    std::optional<json> alert;
    for (int attempt = 0; attempt < 3 && !alert; ++attempt) {
        const auto normal_until = std::chrono::steady_clock::now() + 6s;
        while (std::chrono::steady_clock::now() < normal_until) {
            ASSERT_TRUE(t_dev->read(10 * kExtent / 512, small.data(), small.size(), kScanner).ok());
            std::this_thread::sleep_for(200ms);  // pacing the normal activity, not a wait
        }
        EXPECT_FALSE(scanner_alert()) << "normal activity raised an alert";
        for (std::uint64_t e = 0; e < kTieredExtents; ++e)
            ASSERT_TRUE(t_dev->read(e * kExtent / 512, small.data(), small.size(), kScanner).ok());
        wait_for([&] { return (alert = scanner_alert()).has_value(); }, 3s);
    }
    ASSERT_TRUE(alert) << cli_json("alerts", sock).dump();
    EXPECT_EQ((*alert)["kind"], "scan") << alert->dump();
    EXPECT_EQ((*alert)["lun"], tiered_lun);
    EXPECT_EQ((*alert)["policy"], "predictive");
    EXPECT_TRUE((*alert)["initiator"].is_number()) << "the id beside the name";
    const std::uint64_t first = (*alert)["first_extent"], last = (*alert)["last_extent"];
    EXPECT_LE(first, last) << alert->dump();
    EXPECT_LT(last, kTieredExtents) << alert->dump();
    EXPECT_GE(last - first + 1, 32u) << alert->dump();
    EXPECT_GE((*alert)["extents"].get<std::uint64_t>(), 32u) << alert->dump();
    const json all_alerts = cli_json("alerts", sock);
    for (const auto& a : all_alerts["alerts"])
        EXPECT_NE(a["initiator_name"], harness::kDefaultInitiator)
            << "the steady I/O loop is no anomaly: " << a.dump();

    // ---- report: a self-contained HTML file with pictures ------------------------------------
    const std::string report = gw.dir() + "/report.html";
    const json rep = cli_json(
        "report " + tiered_lun + " --out " + report + " --seconds 0.5 --interval 0.25", sock);
    EXPECT_GE(rep["samples"].get<std::uint64_t>(), 2u) << rep.dump();
    EXPECT_EQ(rep["extents"], kTieredExtents);
    const std::string html = read_file(report);
    EXPECT_NE(html.find("<svg"), std::string::npos);
    EXPECT_NE(html.find(tiered_lun), std::string::npos);

    // ---- human tables -------------------------------------------------------------------------
    for (const std::string& verb :
         {std::string("status"), std::string("lun list"), "lun show " + tiered_lun,
          std::string("tier list"), "heat " + tiered_lun, "map " + tiered_lun,
          std::string("migrations"), std::string("forecast accuracy"), std::string("alerts")}) {
        const Split r = cli(verb + " --socket " + sock);
        EXPECT_EQ(r.code, 0) << verb << ": " << r.err;
        EXPECT_FALSE(r.out.empty()) << verb;
    }
    {
        const Split r = cli("tenant list --pool hdd-a --ceph-conf " + ceph_conf());
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_NE(r.out.find(tenant), std::string::npos) << r.out;
    }

    // ---- bad input: each refused with its reason; the LUNs keep serving ----------------------
    const std::uint64_t io_before = tiered_loop.done() + plain_loop.done();
    struct Bad {
        std::string args;
        int code;
        std::string message;
    };
    const std::vector<Bad> bad = {
        {"frobnicate", 2, ""},  // its message: UnknownVerbIsNamed
        {"pin " + tiered_lun + " 9-3 nvme-a", 1, "range '9-3' ends before it starts"},
        {"pin " + tiered_lun + " 0-48 nvme-a", 1,
         "range '0-48' goes past the LUN's end (48 extents of 4 MiB: 0-47)"},
        {"pin " + tiered_lun + " abc nvme-a", 1, "range 'abc' is not FIRST-LAST"},
        {"pin " + tiered_lun + " 0-1 ssd-z", 1,
         "unknown tier 'ssd-z' for LUN '" + tiered_lun +
             "' (its tiers: hdd-a, nvme-a, nvme-b, hdd-b)"},
        {"unpin " + tiered_lun + " 7-", 1, "range '7-' is not FIRST-LAST"},
        {"heat " + tiered_lun + " --first 48", 1, "'first' 48 is past the LUN's end (48 extents)"},
        {"pin " + plain_lun + " 0-1 nvme-a", 1, "LUN '" + plain_lun + "' is not tiered"},
        {"lun show no/such", 1, "unknown LUN 'no/such'"},
        {"map no/such", 1, "unknown LUN 'no/such'"},
        {"scrub no/such", 1, "unknown LUN 'no/such'"},
        {"pin no/such 0-1 nvme-a", 1, "unknown LUN 'no/such'"},
        {"alerts --lun no/such", 1, "unknown LUN 'no/such'"},
        {"migrations --limit -3", 2, "limit"},
    };
    for (const Bad& b : bad) {
        const Split r = cli(b.args + " --socket " + sock);
        EXPECT_EQ(r.code, b.code) << b.args << ": " << r.out << r.err;
        EXPECT_NE((r.err + r.out).find(b.message), std::string::npos)
            << b.args << ": " << r.out << r.err;
    }
    {
        const Split r = cli("lun show no/such --format json --socket " + sock);
        EXPECT_EQ(r.code, 1);
        EXPECT_EQ(json::parse(r.out, nullptr, false).value("error", ""), "unknown LUN 'no/such'")
            << r.out;
    }
    // A request over admin_max_request_bytes (4096), sent by the CLI: refused by the gateway.
    {
        const Split r = cli("pin " + tiered_lun + " " + std::string(5000, '7') + " nvme-a" +
                            " --socket " + sock);
        EXPECT_EQ(r.code, 1) << r.out << r.err;
        EXPECT_NE(r.err.find("request larger than 4096 bytes"), std::string::npos) << r.err;
    }
    // Raw on the socket, Ceph's protocol: malformed JSON, an unknown command and an oversized
    // request each get Ceph's error text; a good request its JSON.
    {
        auto raw_reply = [&](const std::string& request) {
            RawClient raw(sock);
            EXPECT_TRUE(raw.connected());
            EXPECT_TRUE(raw.send(request + std::string(1, '\0')));
            return raw.reply().value_or("(no reply)");
        };
        EXPECT_EQ(raw_reply("{not json"),
                  "ERROR: (22) Invalid argument\ninvalid request: not a JSON object\n");
        EXPECT_EQ(raw_reply("{\"prefix\":\"frobnicate\"}"),
                  "ERROR: (22) Invalid argument\nunknown command prefix frobnicate ('help' lists "
                  "the commands)\n");
        const std::string status = raw_reply("{\"prefix\":\"status\"}");
        EXPECT_EQ(json::parse(status, nullptr, false).value("site", ""), "site-a") << status;
        EXPECT_EQ(raw_reply("{\"prefix\":\"status\",\"pad\":\"" + std::string(8000, 'x') + "\"}"),
                  "ERROR: (90) Message too long\nrequest larger than 4096 bytes\n");
    }
    // A client that connects and says nothing does not hold the others up.
    RawClient silent(sock);
    ASSERT_TRUE(silent.connected());
    EXPECT_EQ(cli_json("status", sock)["luns"].size(), 2u);
    // A socket others can reach is refused by the CLI.
    ASSERT_EQ(::chmod(sock.c_str(), 0666), 0);
    {
        const Split r = cli("status --socket " + sock);
        EXPECT_EQ(r.code, 1);
        EXPECT_NE(r.err.find("mode 0666"), std::string::npos) << r.err;
    }
    // One its group can reach (admin_socket_group) is the admins' to use.
    ASSERT_EQ(::chmod(sock.c_str(), 0660), 0);
    EXPECT_EQ(cli_json("status", sock)["luns"].size(), 2u);
    ASSERT_EQ(::chmod(sock.c_str(), 0600), 0);

    // reload: a good config is applied, a bad one refused with file:line: reason.
    gw.rewrite("site = site-b\nmetrics_port = 0\nadmin_max_request_bytes = 4096\n");
    EXPECT_EQ(cli_json("reload", sock)["reloaded"], true);
    EXPECT_EQ(cli_json("status", sock)["site"], "site-b");
    gw.rewrite("site = site-a\nmetrics_port = 0\nround_s = never\n");
    {
        const Split r = cli("reload --socket " + sock);
        EXPECT_EQ(r.code, 1);
        EXPECT_NE(r.err.find(gw.path() + ":4: round_s: 'never' is not a number"), std::string::npos)
            << r.err;
    }
    EXPECT_EQ(cli_json("status", sock)["site"], "site-b") << "the last good config stays";
    gw.rewrite(gateway_settings);
    {
        const Split r = cli("reload --format json --config " + gw.path());
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(json::parse(r.out, nullptr, false).value("reloaded", false), true)
            << "the CLI finds the socket through --config too: " << r.out;
    }
    EXPECT_EQ(cli_json("status", sock)["site"], "site-a");

    // Through all of it, I/O went on, every byte checked.
    EXPECT_TRUE(
        wait_for([&] { return tiered_loop.done() + plain_loop.done() > io_before + 10; }, 60s))
        << "I/O stalled after the bad input";
    stop_hot = true;
    hot.join();
    tiered_loop.stop();
    plain_loop.stop();
    EXPECT_EQ(tiered_loop.failed(), 0u) << tiered_loop.first_failure();
    EXPECT_EQ(plain_loop.failed(), 0u) << plain_loop.first_failure();
    EXPECT_EQ(hot_failed.load(), 0u);

    // The LUNs close, the plugin goes away and so does its socket: the follower ends (exit 1).
    t_dev.reset();
    p_dev.reset();
    h.reset();
    const std::optional<int> follow_exit = follow.wait_exit(30s);
    ASSERT_TRUE(follow_exit) << "migrations --follow did not end when the gateway went away";
    EXPECT_EQ(*follow_exit, 1);
}

// A tiered LUN that has had no I/O yet (its predictive policy builds its forecasts at the first
// I/O): heat shows every extent cold and says "no I/O yet", so does forecast accuracy, in JSON
// and in text; after one write both show the LUN as seen.
class IdleLunCli : public ClusterTest {};

TEST_F(IdleLunCli, HeatAndForecastAccuracySayNoIoYet) {
    if (!set_up()) return;
    GatewayConf gw("metrics_port = 0\nround_s = 0.25\n");
    const std::string sock = gw.socket();
    const std::string image = "so-cli-idle-" + std::to_string(::getpid());
    const std::string lun = "hdd-a/" + image;
    ClusterLeftovers leftovers{*cluster_, image, "", ""};
    ASSERT_TRUE(ceph::create_image(*hdd_a_, image, kTieredSize).is_ok());
    auto h = std::make_unique<harness::Harness>(HANDLER_SO);
    auto dev = h->open({lun + ";conf=" + ceph_conf() +
                            ";tiers=hdd-a+nvme-a+nvme-b+hdd-b;policy=predictive;horizon=2",
                        kTieredSize});

    const json heat = cli_json("heat " + lun, sock);
    EXPECT_EQ(heat["lun"], lun);
    EXPECT_EQ(heat["io_seen"], false) << heat.dump().substr(0, 400);
    ASSERT_EQ(heat["heat"].size(), kTieredExtents) << heat.dump();
    for (const auto& row : heat["heat"]) {
        EXPECT_EQ(row["heat"], 0) << row.dump();
        EXPECT_EQ(row["tier"], "hdd-a") << row.dump();
    }
    const Split heat_text = cli("heat " + lun + " --socket " + sock);
    EXPECT_EQ(heat_text.code, 0) << heat_text.err;
    EXPECT_NE(heat_text.out.find("LUN " + lun + ": 48 extents, policy predictive (no I/O yet)"),
              std::string::npos)
        << heat_text.out;

    const json accuracy = cli_json("forecast accuracy --lun " + lun, sock);
    ASSERT_EQ(accuracy["luns"].size(), 1u) << accuracy.dump();
    EXPECT_EQ(accuracy["luns"][0]["lun"], lun);
    EXPECT_EQ(accuracy["luns"][0]["io_seen"], false) << accuracy.dump();
    const Split accuracy_text = cli("forecast accuracy --socket " + sock);
    EXPECT_EQ(accuracy_text.code, 0) << accuracy_text.err;
    EXPECT_NE(accuracy_text.out.find("LUN " + lun +
                                     " (policy predictive, tenant default)\n"
                                     "  no I/O yet: no forecast to judge\n"),
              std::string::npos)
        << accuracy_text.out;

    // One write: the policy sees it within a few rounds and judges its forecasts from then on.
    std::vector<char> block(4096, 'w');
    ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());
    ASSERT_TRUE(wait_for(
        [&] {
            const json a = cli_json("forecast accuracy --lun " + lun, sock);
            return a["luns"].size() == 1 && a["luns"][0]["io_seen"] == true &&
                   a["luns"][0]["available"] == true;
        },
        30s))
        << cli_json("forecast accuracy --lun " + lun, sock).dump();
    EXPECT_EQ(cli_json("heat " + lun, sock)["io_seen"], true);
    EXPECT_EQ(cli("heat " + lun + " --socket " + sock).out.find("no I/O yet"), std::string::npos);
    dev.reset();
    h.reset();
}

}  // namespace
}  // namespace rbdtier
