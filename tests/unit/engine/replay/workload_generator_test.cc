#include "engine/replay/workload_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace rbdtier {
namespace {

bool same(const std::vector<IoEvent>& a, const std::vector<IoEvent>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].time_us != b[i].time_us || a[i].offset != b[i].offset ||
            a[i].length != b[i].length || a[i].lun != b[i].lun || a[i].op != b[i].op)
            return false;
    return true;
}

class EveryKind : public ::testing::TestWithParam<WorkloadKind> {};

TEST_P(EveryKind, DeterministicBySeed) {
    WorkloadParams p;
    p.duration_s = 900;
    p.seed = 7;
    const auto a = generate_workload(GetParam(), p);
    const auto b = generate_workload(GetParam(), p);
    EXPECT_TRUE(same(a, b));
    p.seed = 8;
    const auto c = generate_workload(GetParam(), p);
    EXPECT_FALSE(same(a, c));
}

TEST_P(EveryKind, SortedInsideTheLunAndMixed) {
    WorkloadParams p;
    p.duration_s = 1200;
    const auto events = generate_workload(GetParam(), p);
    ASSERT_FALSE(events.empty());
    std::uint64_t reads = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        if (i) {
            ASSERT_LE(events[i - 1].time_us, e.time_us);
        }
        ASSERT_LT(e.time_us, static_cast<std::uint64_t>(p.duration_s * 1e6));
        ASSERT_GT(e.length, 0u);
        ASSERT_LE(e.offset + e.length, p.lun_bytes);
        ASSERT_EQ(e.offset % 4096, 0u);
        reads += e.op == IoOp::kRead;
    }
    const double read_share = static_cast<double>(reads) / events.size();
    EXPECT_GT(read_share, 0.5);
    EXPECT_LT(read_share, 0.95);
}

TEST_P(EveryKind, RateRoughlyAsAsked) {
    WorkloadParams p;
    p.duration_s = 1800;
    p.iops = 100;
    const auto events = generate_workload(GetParam(), p);
    const double expected = p.iops * p.duration_s;
    // The scan kind adds its fixed-geometry scans on top of the background rate.
    const double upper = GetParam() == WorkloadKind::kScan ? 2.5 : 1.15;
    EXPECT_GT(static_cast<double>(events.size()), 0.85 * expected);
    EXPECT_LT(static_cast<double>(events.size()), upper * expected);
}

INSTANTIATE_TEST_SUITE_P(Workloads, EveryKind, ::testing::ValuesIn(all_workload_kinds()),
                         [](const auto& info) {
                             return std::string(workload_kind_name(info.param));
                         });

TEST(WorkloadGenerator, NamesRoundTrip) {
    for (auto kind : all_workload_kinds())
        EXPECT_EQ(parse_workload_kind(workload_kind_name(kind)), kind);
    EXPECT_FALSE(parse_workload_kind("bogus").has_value());
}

TEST(WorkloadGenerator, PeriodicHotSetReturnsEveryPeriod) {
    WorkloadParams p;
    p.duration_s = 1800;
    const auto events = generate_workload(WorkloadKind::kPeriodic, p);
    // Extents touched heavily in the first job window [0, 120 s) come back in [600, 720 s).
    auto heavy = [&](double from, double to) {
        std::map<std::uint64_t, int> count;
        for (const auto& e : events)
            if (e.time_us >= from * 1e6 && e.time_us < to * 1e6) ++count[e.offset >> 22];
        std::set<std::uint64_t> out;
        for (auto [x, n] : count)
            if (n >= 5) out.insert(x);
        return out;
    };
    const auto first = heavy(0, 120), again = heavy(600, 720), other = heavy(200, 320);
    ASSERT_GT(first.size(), 100u);
    std::size_t common = 0, common_other = 0;
    for (auto x : first) common += again.count(x), common_other += other.count(x);
    EXPECT_GT(common, first.size() * 8 / 10);
    EXPECT_LT(common_other, first.size() / 10);
}

TEST(WorkloadGenerator, DiurnalUsesSeveralLuns) {
    WorkloadParams p;
    p.duration_s = 600;
    const auto events = generate_workload(WorkloadKind::kDiurnal, p);
    std::set<LunId> luns;
    for (const auto& e : events) luns.insert(e.lun);
    EXPECT_EQ(luns.size(), 4u);
}

TEST(WorkloadGenerator, RefusesBadParameters) {
    WorkloadParams p;
    p.duration_s = 0;
    EXPECT_THROW(generate_workload(WorkloadKind::kUniform, p), std::invalid_argument);
    p.duration_s = 10;
    p.iops = -1;
    EXPECT_THROW(generate_workload(WorkloadKind::kUniform, p), std::invalid_argument);
    p.iops = 10;
    p.lun_bytes = 64ull << 20;
    EXPECT_THROW(generate_workload(WorkloadKind::kPeriodic, p), std::invalid_argument);
}

}  // namespace
}  // namespace rbdtier
