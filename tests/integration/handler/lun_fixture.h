// Test support for driving a Lun (opened with build_lun) directly on the local cluster, with a
// fake tcmu host.
//
// TestCommand plays the runner's tcmur_cmd: the fake host's complete() records the status
// and wakes the waiter; wait() returns it or fails the test after a deadline. Scratch images
// get unique names and are removed by ScratchImage's destructor. Needs RBDTIER_CEPH_CONF.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "handler/lun.h"
#include "handler/lun_builder.h"
#include "tests/support/scratch_data.h"

namespace rbdtier::testing {

std::string ceph_conf();  // $RBDTIER_CEPH_CONF, or the test is skipped/failed by the caller
using test_support::unique_name;

// Counts of the host notifications (process-wide: one fake host per test binary).
struct HostCounters {
    std::atomic<int> completions{0};
    std::atomic<int> timed_out{0};
    std::atomic<int> lock_lost{0};
};
HostCounters& host_counters();
TcmuHost fake_host();

class TestCommand {
public:
    explicit TestCommand(std::string initiator = "iqn.test:client-a");
    TestCommand(const TestCommand&) = delete;
    TestCommand& operator=(const TestCommand&) = delete;

    tcmur_cmd* cmd() { return &cmd_; }
    // The status given to complete(), or -1000 if it did not come within the deadline.
    int wait(std::chrono::seconds deadline = std::chrono::seconds(60));
    const std::uint8_t* sense() const { return lib_.sense_buf; }
    std::uint32_t sense_info() const;  // INFORMATION field written by set_sense_info
    int completions() const { return completions_.load(); }

    // Called by the fake host.
    void complete(int status);
    const char* initiator() const { return initiator_.c_str(); }

private:
    tcmur_cmd cmd_{};
    tcmulib_cmd lib_{};
    std::string initiator_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    int status_ = -1000;
    std::atomic<int> completions_{0};
};

// Submits through `submit` (returns the callout's status); if queued, waits for completion.
template <typename Submit>
int run(Submit&& submit, TestCommand& c) {
    int queued = submit(c.cmd());
    if (queued != TCMU_STS_OK) return queued;
    return c.wait();
}

// A WRITE of `data` at `off` (one iovec) through `lun`'s I/O path; its status.
int write_lun(Lun& lun, std::uint64_t off, const std::vector<char>& data);
// A READ into `data` from `off` (one iovec) through `lun`'s I/O path; its status.
int read_lun(Lun& lun, std::uint64_t off, std::vector<char>& data);

// A connected cluster plus a fresh image in `pool` (its data objects in `data_pool` when given),
// removed at the end.
class ScratchImage {
public:
    ScratchImage(const std::string& pool, std::uint64_t size, const std::string& stem = "lun",
                 const std::string& data_pool = {});
    ~ScratchImage();
    const std::string& pool() const { return pool_; }
    const std::string& name() const { return name_; }
    ceph::Cluster& cluster() { return *cluster_; }
    ceph::IoContext& io() { return *io_; }
    bool ok() const { return ok_; }
    std::string cfgstring(const std::string& extra = "") const;  // pool/name;conf=...;extra
    LunConfig config(const std::string& extra = "") const;       // cfgstring(extra), parsed

private:
    std::string pool_;
    std::string name_;
    std::unique_ptr<ceph::Cluster> cluster_;
    std::unique_ptr<ceph::IoContext> io_;
    bool ok_ = false;
};

using test_support::pattern;
// Sends every data command with a transfer length of zero to `lun` (at its first and last
// block) and checks each completes GOOD, as SBC-4 has it: nothing transferred, not an error.
void expect_zero_length_commands_complete(Lun& lun, std::uint64_t size, std::uint32_t block);
// Sends a JSON command to the monitors; returns its result (0 or a negative errno).
int mon_command(ceph::Cluster& cluster, const std::string& json, std::string* out = nullptr);
// Runs `$RBDTIER_CLUSTER_SH VERB $RBDTIER_CLUSTER_DIR OSD FLAG` (e.g. osd-stop 1 --freeze);
// its exit status (std::system's). Both variables must be set (ctest sets them).
int cluster_sh(const std::string& verb, int osd, const std::string& flag = "");

}  // namespace rbdtier::testing
