// Anomaly detection: a scan or an overwrite burst that does not fit an initiator's baseline.
#include "engine/anomaly.h"

#include <gtest/gtest.h>

#include <random>

#include "common/log.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::io_at;
using test_events::IoShape;
using test_events::kE;

constexpr std::uint64_t kWindow = 1'000'000;

// The I/Os of these tests: 64 KiB reads of LUN 1.
constexpr IoShape kIo{.length = 65536, .lun = 1};

// Random reads (and some writes) over a 2000-extent LUN from initiator `ini`, 50 per second.
void normal_traffic(AnomalyDetector& d, std::mt19937_64& rng, InitiatorId ini, std::uint64_t from_s,
                    std::uint64_t to_s) {
    for (std::uint64_t s = from_s; s < to_s; ++s)
        for (int i = 0; i < 50; ++i)
            d.observe(io_at(s * kWindow + i * 20'000, rng() % 2000,
                            kIo.from(ini).doing(i % 10 == 0 ? IoOp::kWrite : IoOp::kRead)));
}

TEST(Anomaly, NormalTrafficRaisesNothing) {
    AnomalyDetector d(kE, kWindow);
    std::mt19937_64 rng(1);
    normal_traffic(d, rng, 1, 0, 300);
    EXPECT_TRUE(d.alerts().empty());
    EXPECT_EQ(d.quarantined_extents(), 0u);
}

TEST(Anomaly, ScanFromANonScanningInitiatorRaisesAnAlert) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    const log::LunScope scope("hdd-a/lun1");  // as a LUN's tiering rounds name it
    AnomalyDetector d(kE, kWindow);
    std::mt19937_64 rng(2);
    normal_traffic(d, rng, 7, 0, 30);
    // Initiator 7 suddenly reads the LUN sequentially: 500 extents/s, 1 I/O per extent.
    std::uint64_t t = 30 * kWindow;
    for (std::uint64_t x = 0; x < 2000; ++x, t += 2000) d.observe(io_at(t, x, kIo.from(7)));
    ASSERT_EQ(d.alerts().size(), 1u);
    const AnomalyAlert& a = d.alerts()[0];
    EXPECT_EQ(a.kind, AnomalyKind::kScan);
    EXPECT_EQ(a.initiator, 7u);
    EXPECT_EQ(a.lun, 1u);
    EXPECT_LE(a.first_extent, 1u);
    EXPECT_LT(a.time_us, 30 * kWindow + 200'000);  // raised early in the scan
    EXPECT_TRUE(d.muted(1, 7));
    // Extents it scanned are quarantined, ...
    EXPECT_TRUE(d.quarantined(make_extent_key(1, 5)));
    EXPECT_TRUE(d.quarantined(make_extent_key(1, 1500)));
    EXPECT_GE(d.quarantined_extents(), 1900u);
    // ... until a normal initiator uses them.
    d.observe(io_at(t + 1, 1500, kIo.from(8)));
    EXPECT_FALSE(d.quarantined(make_extent_key(1, 1500)));
    // The scan ends; normal behaviour clears the alert.
    normal_traffic(d, rng, 7, 40, 43);
    EXPECT_FALSE(d.muted(1, 7));
    EXPECT_EQ(d.alerts().size(), 1u);
    EXPECT_NE(a.describe().find("scan by initiator 7"), std::string::npos);
    // The admin reads it in the log, once.
    const auto logged =
        capture.find(log::Level::kWarning, "hdd-a/lun1", "anomaly: scan by initiator 7");
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_NE(logged[0].text.find("on LUN 1"), std::string::npos);
}

TEST(Anomaly, HabitualScannerIsNotAnomalous) {
    AnomalyDetector d(kE, kWindow);
    // A backup initiator that always scans.
    std::uint64_t t = 0;
    for (int pass = 0; pass < 5; ++pass)
        for (std::uint64_t x = 0; x < 2000; ++x, t += 2000) d.observe(io_at(t, x, kIo.from(3)));
    EXPECT_TRUE(d.alerts().empty());
}

TEST(Anomaly, OverwriteBurstAcrossManyExtents) {
    AnomalyDetector d(kE, kWindow);
    std::mt19937_64 rng(3);
    // A database writing to a handful of extents.
    for (std::uint64_t s = 0; s < 20; ++s)
        for (int i = 0; i < 100; ++i)
            d.observe(io_at(s * kWindow + i * 10'000, i / 25, kIo.from(5).doing(IoOp::kWrite)));
    EXPECT_TRUE(d.alerts().empty());
    // Ransomware-like: overwrite random extents all over the LUN.
    for (int i = 0; i < 400; ++i)
        d.observe(io_at(20 * kWindow + i * 2000, rng() % 100'000, kIo.from(5).doing(IoOp::kWrite)));
    ASSERT_EQ(d.alerts().size(), 1u);
    EXPECT_EQ(d.alerts()[0].kind, AnomalyKind::kOverwriteBurst);
}

}  // namespace
}  // namespace rbdtier
