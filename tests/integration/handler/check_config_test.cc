// check_config of handler_rbdtier.so against a pool whose placement groups can never become
// active (its CRUSH rule takes a root that holds no OSD), as targetcli calls it while it creates
// a LUN: it must answer, with a reason naming the pool and the wait, within the op timeout the
// cfgstring gives (else the probe client's default) instead of holding targetcli forever.
// check_config runs in a child process (this executable, re-run as CheckConfigChild.Run), so a
// check that never answers is caught by the test's deadline and the child is stopped by its PID.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "ceph/cluster.h"
#include "so_gateway.h"
#include "tests/harness/harness.h"
#include "tests/support/mon_command.h"
#include "tests/support/self_child.h"
#include "tests/support/shell_command.h"

namespace rbdtier {
namespace {

using namespace so_test;
using namespace std::chrono_literals;

constexpr const char* kCfgVariable = "RBDTIER_CHECK_CONFIG_CFG";
constexpr const char* kOutVariable = "RBDTIER_CHECK_CONFIG_OUT";

// What the parent asks for: check_config of $RBDTIER_CHECK_CONFIG_CFG, its reason written to
// $RBDTIER_CHECK_CONFIG_OUT ("accepted" when it accepts). Skipped when run on its own.
TEST(CheckConfigChild, Run) {
    const char* cfg = std::getenv(kCfgVariable);
    const char* out = std::getenv(kOutVariable);
    if (cfg == nullptr || out == nullptr) GTEST_SKIP() << "run by CheckConfig's tests";
    harness::Harness h(HANDLER_SO);
    const std::optional<std::string> why = h.check_config(cfg);
    std::ofstream(out) << why.value_or("accepted");
}

// check_config of `cfg` in a child process: its answer, or nullopt when the child gave none
// within `deadline` (it is then killed) or died.
std::optional<std::string> check_config_in_child(const std::string& cfg,
                                                 std::chrono::milliseconds deadline) {
    const std::string out =
        ::testing::TempDir() + "check-config-" + std::to_string(::getpid()) + ".out";
    std::filesystem::remove(out);
    const pid_t pid = test_support::spawn_self(
        "CheckConfigChild.Run",
        {std::string(kCfgVariable) + "=" + cfg, std::string(kOutVariable) + "=" + out});
    if (pid < 0) {
        ADD_FAILURE() << "cannot run this test executable again";
        return std::nullopt;
    }
    int status = 0;
    const bool ended = wait_for([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, deadline);
    if (!ended) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        ADD_FAILURE() << "check_config of '" << cfg << "' gave no answer within "
                      << deadline.count() << " ms";
        return std::nullopt;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ADD_FAILURE() << "the check_config child failed (status " << status << ")";
        return std::nullopt;
    }
    std::string answer = test_support::read_file(out);
    std::filesystem::remove(out);
    return answer;
}

// A JSON command to the monitors; why it failed ("" on success).
std::string mon_command(const ceph::Cluster& cluster, const std::string& json) {
    std::string status;
    const int rc = test_support::mon_command(cluster.handle(), json, nullptr, &status);
    return rc < 0 ? json + ": " + status + " (" + std::to_string(rc) + ")" : "";
}

// A pool of one placement group whose CRUSH rule takes an empty root: no OSD ever serves it.
// Removed (pool, rule, root) when this goes away.
class PoolWithoutOsds {
public:
    PoolWithoutOsds(const ceph::Cluster& cluster, std::string name)
        : cluster_(cluster), name_(std::move(name)) {
        for (const std::string& cmd :
             {R"({"prefix":"osd crush add-bucket","name":")" + name_ + R"(","type":"root"})",
              R"({"prefix":"osd crush rule create-replicated","name":")" + name_ + R"(","root":")" +
                  name_ + R"(","type":"osd"})",
              R"({"prefix":"osd pool create","pool":")" + name_ +
                  R"(","pg_num":1,"pgp_num":1,"pool_type":"replicated","rule":")" + name_ +
                  R"("})"}) {
            error_ = mon_command(cluster_, cmd);
            if (!error_.empty()) return;
        }
    }
    ~PoolWithoutOsds() {
        (void)mon_command(cluster_, R"({"prefix":"osd pool rm","pool":")" + name_ +
                                        R"(","pool2":")" + name_ +
                                        R"(","yes_i_really_really_mean_it":true})");
        (void)mon_command(cluster_, R"({"prefix":"osd crush rule rm","name":")" + name_ + R"("})");
        (void)mon_command(cluster_, R"({"prefix":"osd crush rm","name":")" + name_ + R"("})");
    }
    PoolWithoutOsds(const PoolWithoutOsds&) = delete;
    PoolWithoutOsds& operator=(const PoolWithoutOsds&) = delete;

    const std::string& error() const { return error_; }

private:
    const ceph::Cluster& cluster_;
    std::string name_;
    std::string error_;
};

class CheckConfig : public ClusterTest {};

// Whatever the image, check_config cannot read its header: it answers that the pool did not,
// naming the wait (the cfgstring's osd_op_timeout, else the probe client's default).
TEST_F(CheckConfig, AnswersForAPoolWhosePlacementGroupsAreNeverActive) {
    if (!set_up()) return;
    const std::string pool = "no-osd-" + std::to_string(::getpid());
    PoolWithoutOsds nowhere(*cluster_, pool);
    ASSERT_EQ(nowhere.error(), "");
    const std::string reason_tail =
        " (osd_op_timeout; are its placement groups active? ceph pg ls-by-pool " + pool +
        "): Connection timed out";
    const std::string base = pool + "/lun;conf=" + ceph_conf();
    EXPECT_EQ(check_config_in_child(base + ";osd_op_timeout=3", 120s),
              "pool " + pool + " did not answer within 3 s" + reason_tail);
    EXPECT_EQ(check_config_in_child(base, 120s),
              "pool " + pool + " did not answer within 10 s" + reason_tail);
}

}  // namespace
}  // namespace rbdtier
