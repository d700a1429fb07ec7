// ScanPredictor: the next extents of a scan at its rate; nothing from random access, from a scan
// long over or from a muted stream.
#include "engine/forecast/scan_predictor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::io_at;
using test_events::IoShape;
using test_events::kE;

// The I/Os of these tests: 1 MiB reads of LUN 1, from initiator 1 unless said.
constexpr IoShape kIo{.length = 1 << 20, .lun = 1, .initiator = 1};

TEST(ScanPredictor, PredictsTheNextExtentsAtTheScanRate) {
    ScanPredictor p(kE);
    // 1 MiB reads, 4 per extent, one I/O every 100 ms: 2.5 extents/s. Extents 100..119.
    std::uint64_t t = 0;
    for (std::uint64_t x = 100; x < 120; ++x)
        for (std::uint64_t mib = 0; mib < 4; ++mib, t += 100'000)
            p.observe(
                io_at(t, x, {.within = mib << 20, .length = 1 << 20, .lun = 1, .initiator = 1}));
    std::vector<ExtentForecast> out;
    const std::uint64_t now = t;
    p.predict(now, 10'000'000, out);  // 10 s at 2.5 extents/s: ~25 extents
    ASSERT_GE(out.size(), 22u);
    ASSERT_LE(out.size(), 27u);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
    EXPECT_EQ(key_extent(out.front().key), 120u);
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(key_extent(out[i].key), 120u + i);
        EXPECT_EQ(out[i].model, ModelId::kScan);
        EXPECT_NEAR(out[i].forecast.expected / out[i].forecast.p_access, 4.0, 0.3);
    }
    // ETA of extent 120 + k is ~ k * 400 ms after the last I/O.
    EXPECT_NEAR(static_cast<double>(out[9].eta_us - (t - 100'000)), 10 * 400'000.0, 200'000.0);
}

TEST(ScanPredictor, RandomAccessPredictsNothingAndDeadScansStop) {
    ScanPredictor p(kE);
    std::mt19937_64 rng(2);
    for (int i = 0; i < 1000; ++i) p.observe(io_at(i * 1000, rng() % 10000, kIo));
    std::vector<ExtentForecast> out;
    p.predict(1'000'000, 60'000'000, out);
    EXPECT_TRUE(out.empty());
    for (std::uint64_t x = 0; x < 10; ++x)
        p.observe(io_at(2'000'000 + x * 100'000, x, kIo.from(2)));
    p.predict(3'000'000, 60'000'000, out);
    EXPECT_FALSE(out.empty());
    out.clear();
    p.predict(600'000'000, 60'000'000, out);  // long silent: the scan is over
    EXPECT_TRUE(out.empty());
    // Muted streams (anomalous initiators) predict nothing.
    for (std::uint64_t x = 0; x < 10; ++x)
        p.observe(io_at(700'000'000 + x * 100'000, x, kIo.from(3)));
    p.mute(1, 3, true);
    p.predict(701'000'000, 60'000'000, out);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace rbdtier
