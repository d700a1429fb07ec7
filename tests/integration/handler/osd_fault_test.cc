// An OSD stopped under a LUN opened with osd_op_timeout=5: commands to its objects fail
// cleanly with TCMU_STS_TIMEOUT (and the runner is told), then succeed once it is back.
#include <gtest/gtest.h>
#include <rados/librados.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lun_fixture.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kSize = 16ull << 20;

// Primary OSD of one RADOS object, asked of the monitor ("osd map"); -1 on failure.
int primary_osd(ceph::Cluster& cluster, const std::string& pool, const std::string& object) {
    std::string cmd = R"({"prefix": "osd map", "pool": ")" + pool + R"(", "object": ")" + object +
                      R"(", "format": "json"})";
    std::string json;
    if (mon_command(cluster, cmd, &json) < 0) return -1;
    const std::string key = "\"acting_primary\":";
    std::size_t at = json.find(key);
    if (at == std::string::npos) return -1;
    return std::atoi(json.c_str() + at + key.size());
}

// "" = the OSD is shut down (connection refused); "--freeze" = SIGSTOPped (a hung host).
class OsdFault : public ::testing::TestWithParam<std::string> {};

TEST_P(OsdFault, TimeoutThenRecovery) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    const char* sh = std::getenv("RBDTIER_CLUSTER_SH");
    ASSERT_NE(sh, nullptr);
    if (!std::filesystem::exists(sh)) GTEST_SKIP() << sh << " not there yet";
    ASSERT_NE(std::getenv("RBDTIER_CLUSTER_DIR"), nullptr);

    ScratchImage image("nvme-a", kSize);
    ASSERT_TRUE(image.ok());
    auto lun = build_lun(image.config("osd_op_timeout=5"), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(lun.is_ok()) << lun.status().message();
    Lun& l = **lun;

    std::vector<char> before = pattern(4096, 1);
    iovec v{before.data(), before.size()};
    TestCommand w0;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return l.write(nullptr, c, &v, 1, 4096, 0); }, w0),
              TCMU_STS_OK);

    char prefix[RBD_MAX_BLOCK_NAME_SIZE] = {};
    ASSERT_EQ(rbd_get_block_name_prefix(l.image().handle(), prefix, sizeof(prefix)), 0);
    const std::string object0 = std::string(prefix) + ".0000000000000000";
    const int osd = primary_osd(image.cluster(), "nvme-a", object0);
    ASSERT_GE(osd, 0) << "no primary OSD for " << object0;

    // Restarted whatever happens from here (also if osd-stop fails halfway), before the
    // image and the LUN are torn down: they would block on a stopped OSD.
    struct Restart {
        int osd;
        ~Restart() {
            if (osd >= 0) {
                EXPECT_EQ(cluster_sh("osd-start", osd), 0);
            }
        }
    } restart{osd};
    ASSERT_EQ(cluster_sh("osd-stop", osd, GetParam()), 0);

    const int timed_out_before = host_counters().timed_out.load();
    std::vector<char> during = pattern(4096, 2);
    iovec vd{during.data(), during.size()};
    const auto t0 = std::chrono::steady_clock::now();
    TestCommand w1;
    int st = run([&](tcmur_cmd* c) { return l.write(nullptr, c, &vd, 1, 4096, 0); }, w1);
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(st, TCMU_STS_TIMEOUT);
    EXPECT_GE(waited, std::chrono::seconds(4));
    EXPECT_LE(waited, std::chrono::seconds(30));
    EXPECT_EQ(w1.completions(), 1);
    EXPECT_GT(host_counters().timed_out.load(), timed_out_before);
    std::vector<char> back(4096);
    iovec vb{back.data(), back.size()};
    TestCommand r1;
    EXPECT_EQ(run([&](tcmur_cmd* c) { return l.read(nullptr, c, &vb, 1, 4096, 0); }, r1),
              TCMU_STS_TIMEOUT);

    ASSERT_EQ(cluster_sh("osd-start", osd), 0);
    restart.osd = -1;
    // Back: a write then a read succeed (retried until a deadline while the PG peers).
    std::vector<char> after = pattern(4096, 3);
    iovec va{after.data(), after.size()};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    int wst = -1;
    while (std::chrono::steady_clock::now() < deadline) {
        TestCommand w2;
        wst = run([&](tcmur_cmd* c) { return l.write(nullptr, c, &va, 1, 4096, 0); }, w2);
        if (wst == TCMU_STS_OK) break;
        EXPECT_EQ(wst, TCMU_STS_TIMEOUT) << "only timeouts while the OSD comes back";
    }
    ASSERT_EQ(wst, TCMU_STS_OK);
    TestCommand r2;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return l.read(nullptr, c, &vb, 1, 4096, 0); }, r2),
              TCMU_STS_OK);
    EXPECT_EQ(back, after);
}

INSTANTIATE_TEST_SUITE_P(Modes, OsdFault, ::testing::Values("", "--freeze"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param.empty() ? std::string("Shutdown")
                                                       : std::string("Freeze");
                         });

}  // namespace
}  // namespace rbdtier::testing
