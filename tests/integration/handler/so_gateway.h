// so_gateway: what the tests of handler_rbdtier.so's gateway (admin socket, `rbdtier` CLI) share.
//
// ceph_conf(): the test cluster's ceph.conf ($RBDTIER_CEPH_CONF, empty outside the fixture).
// run_command(): a shell command's exit code and output (stdout and stderr together).
// cli_json(): the real `rbdtier` CLI (RBDTIER_CLI_PATH) with --format json on a socket; expects
// exit 0 and JSON (gtest failures otherwise). GatewayConf: a temp dir with an rbdtier.conf named
// in $RBDTIER_CONF while it lives (the .so reads it when it registers). IoLoop: a thread writing
// and reading back patterns on a LUN until stopped, counting what succeeded and what failed.
// wait_for(): polls a condition until it holds or a deadline passes. find_named(): the element
// of a JSON array whose "name" is given. TestImage: an RBD image made on the test cluster for one
// test, and rados_map(): the placement map of a LUN at home in hdd-a as RADOS holds it now;
// ClusterTest: a fixture connected to the test cluster, with hdd-a open (header-only: they need
// rbdtier_ceph, which the test executables link). kExtent: the LUNs' extent size.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/tiered_lun_store.h"
#include "tests/harness/harness.h"
#include "tests/support/shell_command.h"

namespace rbdtier::so_test {

std::string ceph_conf();

using CliRun = test_support::ShellRun;

// `command` with its stderr joined to its stdout.
CliRun run_command(const std::string& command);

// `rbdtier ARGS --format json --socket SOCKET`, parsed; gtest failures when it does not exit 0
// or prints no JSON.
nlohmann::json cli_json(const std::string& args, const std::string& socket);

class GatewayConf {
public:
    // The file holds "admin_socket = <dir>/gw.asok" (unless !with_socket) then `body`.
    explicit GatewayConf(const std::string& body_after_socket, bool with_socket = true);
    ~GatewayConf();
    GatewayConf(const GatewayConf&) = delete;
    GatewayConf& operator=(const GatewayConf&) = delete;

    const std::string& socket() const { return socket_; }
    const std::string& dir() const { return dir_; }
    const std::string& path() const { return path_; }
    // Replaces the file's content (the socket line included, as in the constructor).
    void rewrite(const std::string& body_after_socket, bool with_socket = true) const;

private:
    std::string dir_, socket_, path_;
};

class IoLoop {
public:
    // Patterns of 64 KiB spread over the LUN, sent as `initiator`: a write and its read back,
    // each on another extent than the last, as fast as they go or, with `pace`, at most one such
    // pair per `pace` (a rate the machine's load cannot raise, e.g. for a test that requires the
    // loop's writes never to look like a burst to the anomaly detector).
    IoLoop(harness::Device& dev, std::uint64_t size,
           std::string_view initiator = harness::kDefaultInitiator,
           std::chrono::milliseconds pace = std::chrono::milliseconds(0));
    ~IoLoop() { stop(); }
    IoLoop(const IoLoop&) = delete;
    IoLoop& operator=(const IoLoop&) = delete;

    void stop();
    std::uint64_t done() const { return done_.load(); }
    std::uint64_t failed() const { return failed_.load(); }
    std::string first_failure() const;

private:
    void fail(const std::string& what);
    void run();

    harness::Device& dev_;
    const std::uint64_t size_;
    const std::string initiator_;
    const std::chrono::milliseconds pace_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> done_{0};
    std::atomic<std::uint64_t> failed_{0};
    mutable std::mutex mutex_;
    std::string first_failure_;
    std::thread thread_;
};

// Waits until pred() holds or the deadline passes; returns pred().
template <typename Pred>
bool wait_for(Pred&& pred, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

// The image "<stem>-<pid>" of `size` bytes in `pool`, created on the test cluster (ceph_conf())
// over a connection of its own; throws std::runtime_error when the cluster, pool or image cannot
// be had. remove() removes it (for the test to check); if the test ends first, the destructor
// removes it, unchecked.
class TestImage {
public:
    // `data_pool`, when given, holds the image's data (rbd create --data-pool).
    TestImage(const std::string& pool, const std::string& stem, std::uint64_t size,
              const std::string& data_pool = {})
        : name_(stem + "-" + std::to_string(::getpid())) {
        ceph::ClusterOptions options;
        options.conf_path = ceph_conf();
        auto cluster = ceph::Cluster::connect(options);
        if (!cluster.is_ok()) throw std::runtime_error(cluster.status().message());
        cluster_.emplace(std::move(cluster).value());
        auto io = ceph::IoContext::open(*cluster_, pool);
        if (!io.is_ok()) throw std::runtime_error(io.status().message());
        io_.emplace(std::move(io).value());
        ceph::ImageCreateOptions create;
        create.data_pool = data_pool;
        if (const ceph::Status s = ceph::create_image(*io_, name_, size, create); !s.is_ok())
            throw std::runtime_error("create " + pool + "/" + name_ + ": " + s.message());
    }
    ~TestImage() {
        if (!removed_) (void)ceph::remove_image(*io_, name_);
    }
    TestImage(const TestImage&) = delete;
    TestImage& operator=(const TestImage&) = delete;

    const std::string& name() const { return name_; }
    const ceph::IoContext& io() const { return *io_; }
    ceph::Status remove() {
        removed_ = true;
        return ceph::remove_image(*io_, name_);
    }

private:
    std::string name_;
    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::IoContext> io_;
    bool removed_ = false;
};

// The placement map of the LUN at home in hdd-a/`image`, as it is in RADOS now (a fresh load,
// not the gateway's copy); a gtest failure and an empty map when it cannot be read.
inline std::map<std::uint64_t, ceph::PlacementEntry> rados_map(const ceph::Cluster& cluster,
                                                               const std::string& image) {
    auto map = ceph::read_placement_map(cluster, "hdd-a", "", image);
    EXPECT_TRUE(map.is_ok()) << map.status().message();
    if (!map) return {};
    return map->entries();
}

// A test on the local cluster: skipped when RBDTIER_CEPH_CONF is not set; otherwise cluster_ is
// connected and hdd_a_ open on hdd-a (the pool of the tests' home images and tenants), or the
// test has failed. A fixture that sets up more calls ClusterTest::SetUp() first and stops if
// it skipped or failed.
class ClusterTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
        ceph::ClusterOptions o;
        o.conf_path = ceph_conf();
        auto cluster = ceph::Cluster::connect(o);
        ASSERT_TRUE(cluster.is_ok()) << cluster.status().message();
        cluster_.emplace(std::move(cluster).value());
        auto io = ceph::IoContext::open(*cluster_, "hdd-a");
        ASSERT_TRUE(io.is_ok()) << io.status().message();
        hdd_a_.emplace(std::move(io).value());
    }
    // Whether SetUp() left the test to run.
    bool set_up() const { return !IsSkipped() && !HasFailure(); }

    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::IoContext> hdd_a_;
};

// The extent size of the tests' LUNs (the engine's default).
inline constexpr std::uint64_t kExtent = 4 << 20;

const nlohmann::json* find_named(const nlohmann::json& array, const std::string& name);

}  // namespace rbdtier::so_test
