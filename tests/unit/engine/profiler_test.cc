// Profiler: exact counts under concurrent recording, the serialized intake folded as the
// concurrent one, bucket arithmetic, bounded memory.
#include "engine/profiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "tests/support/heap_bytes.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::io_at;
using test_events::IoShape;

// The I/Os of these tests: 4 KiB reads of LUN 1, 4 KiB into their extent, from initiator 1
// unless said.
constexpr IoShape kIo{.within = 4096, .lun = 1, .initiator = 1};

EngineConfig config() {
    EngineConfig c;
    c.bucket_us = 1'000'000;
    c.horizon_us = 6'000'000;
    return c.validated();
}

std::uint32_t total_count(const ExtentStats& s, std::uint32_t bucket_ticks) {
    std::uint32_t n = 0;
    const std::uint64_t newest = s.last_tick / bucket_ticks;
    for (std::uint64_t i = 0; i < kBuckets && i <= newest; ++i)
        n += s.count_in_bucket(newest - i, bucket_ticks);
    return n;
}

TEST(LogCounter, ExactWhenSmallUnbiasedWhenLarge) {
    for (std::uint32_t n = 0; n <= 15; ++n) {
        std::uint8_t c = 0;
        for (std::uint32_t i = 0; i < n; ++i) LogCounter::increment(c, mix_key(i));
        EXPECT_EQ(LogCounter::decode(c), n);
    }
    // Mean of many independent counters after 5000 increments: within 1% of 5000.
    double total = 0;
    constexpr int kTrials = 2000;
    for (int t = 0; t < kTrials; ++t) {
        std::uint8_t c = 0;
        for (int i = 0; i < 5000; ++i)
            LogCounter::increment(c, mix_key((static_cast<std::uint64_t>(t) << 32) | i));
        total += LogCounter::decode(c);
    }
    EXPECT_NEAR(total / kTrials, 5000.0, 50.0);
    // Fractional additions are unbiased too (bytes in MiB).
    double added = 0;
    for (int t = 0; t < kTrials; ++t) {
        std::uint8_t c = 0;
        for (int i = 0; i < 300; ++i)
            LogCounter::add(c, 0.3, mix_key((static_cast<std::uint64_t>(t) << 32) | i));
        added += LogCounter::decode(c);
    }
    EXPECT_NEAR(added / kTrials, 90.0, 2.0);
    std::uint8_t c = 0;
    LogCounter::add(c, 1e9, 0);
    EXPECT_EQ(c, 0xFF);
    LogCounter::increment(c, 0);
    EXPECT_EQ(c, 0xFF);
}

// The episode span's 16-bit float: exact up to 8191 ticks, within 1/4096 above, unbiased.
TEST(ExtentStats, EpisodeSpanCode) {
    for (std::uint64_t t : {0ull, 1ull, 4095ull, 4096ull, 8191ull})
        EXPECT_EQ(ExtentStats::decode_span(ExtentStats::encode_span(t, 0)), t);
    for (std::uint64_t t : {8192ull, 100'000ull, 3'600'00ull * 24, 100'000'000ull}) {
        double sum = 0;
        for (std::uint64_t r = 0; r < 4000; ++r)
            sum += ExtentStats::decode_span(ExtentStats::encode_span(t, mix_key(r)));
        const double one = ExtentStats::decode_span(ExtentStats::encode_span(t, 0));
        EXPECT_NEAR(one, static_cast<double>(t), static_cast<double>(t) / 4096.0);
        EXPECT_NEAR(sum / 4000.0, static_cast<double>(t), static_cast<double>(t) / 40'000.0);
    }
    EXPECT_EQ(ExtentStats::encode_span(1ull << 40, 0), 0xFFFF);  // saturates
    // A two-hour episode of accesses every 2 s keeps its start (a 16-bit tick count would not).
    ExtentStats s;
    s.key = make_extent_key(1, 1);
    for (std::uint32_t t = 1; t <= 720'000; t += 200)
        s.record(t, 1000, 3000, false, 4096, 0, false);
    // (Each addition is rounded to 128 ticks without bias: the start is within 1% of the span.)
    EXPECT_NEAR(static_cast<double>(s.episode_start()), 1.0, 7'200.0);
    EXPECT_GE(s.episode_start(), 1u);
}

TEST(Profiler, RecordSize) {
    EXPECT_EQ(sizeof(IoEvent), 40u);
    EXPECT_EQ(Profiler::record_bytes(), 40u);
}

// Producers outpace a concurrent drainer on 2 cores: every event is either folded or counted
// as dropped; what was folded is counted exactly per stream, and per extent by the one-byte
// bucket counters (unbiased, ~18% deviation each at these counts: 64 of them sum within 10%).
TEST(Profiler, ConcurrentRecordsAreConservedWhileDraining) {
    EngineConfig c = config();
    c.profiler_shards = 4;
    c.profiler_ring_events = 1 << 12;  // small: the drainer must keep up
    Profiler p(c);
    constexpr int kThreads = 4, kPerThread = 200'000, kExtents = 64;
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                IoEvent e = io_at(5'000'000 + static_cast<std::uint64_t>(i % 1000), i % kExtents,
                                  kIo.from(static_cast<InitiatorId>(t)));
                p.record(e);
            }
            done.fetch_add(1);
        });
    // Drain concurrently until every producer finished, then once more.
    while (done.load() < kThreads) p.drain(5'000'000);
    for (auto& th : threads) th.join();
    p.drain(5'000'000);
    const std::uint64_t dropped = p.dropped();
    EXPECT_EQ(p.recorded() + dropped, static_cast<std::uint64_t>(kThreads) * kPerThread);
    std::uint64_t sum = 0;
    for (int x = 0; x < kExtents; ++x) {
        const ExtentStats* s = p.extents().find(make_extent_key(1, x));
        ASSERT_NE(s, nullptr);
        sum += total_count(*s, p.bucket_ticks());
    }
    EXPECT_NEAR(static_cast<double>(sum), static_cast<double>(p.recorded()),
                0.10 * static_cast<double>(p.recorded()));
    std::uint64_t stream_ios = 0;
    for (const auto& [k, st] : p.initiators()) stream_ios += st.ios;
    EXPECT_EQ(stream_ios, p.recorded());
}

TEST(Profiler, ExactCountsWithoutDropsWhenRingsAreLargeEnough) {
    EngineConfig c = config();
    c.profiler_shards = 8;
    c.profiler_ring_events = 1 << 16;
    Profiler p(c);
    constexpr int kThreads = 4, kPerThread = 100'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i)
                p.record(io_at(1'000'000, (i * 7 + t) % 1000, kIo.from(t)));
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(p.dropped(), 0u);
    const auto batch = p.drain(2'000'000);
    EXPECT_EQ(batch.size(), static_cast<std::size_t>(kThreads * kPerThread));
    std::uint64_t sum = 0;
    p.extents().for_each([&](const ExtentStats& s) { sum += total_count(s, p.bucket_ticks()); });
    // 1000 one-byte counters of ~400 accesses each: the sum is within 3% (about 5 deviations).
    EXPECT_NEAR(static_cast<double>(sum), kThreads * kPerThread, 0.03 * kThreads * kPerThread);
    EXPECT_EQ(p.extents().size(), 1000u);
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(p.initiator(1, t)->ios, static_cast<std::uint64_t>(kPerThread));
    EXPECT_NE(p.extents().find(make_extent_key(1, 0))->initiator & kSharedInitiator, 0);
}

// Threads whose clocks interleave, each writing its own rings in time order (and one ring out of
// order): the drained batch is in time order, every event once.
TEST(Profiler, DrainedBatchIsInTimeOrder) {
    EngineConfig c = config();
    c.profiler_shards = 4;
    c.profiler_ring_events = 1 << 14;
    Profiler p(c);
    constexpr int kThreads = 3, kPerThread = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                // Thread 2 goes backwards in time.
                const int k = t == 2 ? kPerThread - 1 - i : i;
                p.record(io_at(static_cast<std::uint64_t>(k) * kThreads + t, k % 50, kIo.from(t)));
            }
        });
    for (auto& th : threads) th.join();
    const auto batch = p.drain(1'000'000);
    ASSERT_EQ(batch.size(), static_cast<std::size_t>(kThreads * kPerThread));
    for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(batch[i].time_us, i) << i;
}

TEST(Profiler, BucketsEpisodesAndMix) {
    Profiler p(config());
    // 3 reads in second 0, 2 writes in second 2, then a long gap, then 1 read: a new episode.
    for (int i = 0; i < 3; ++i) p.record(io_at(100'000 + i, 9, kIo));
    for (int i = 0; i < 2; ++i) p.record(io_at(2'100'000 + i, 9, kIo.doing(IoOp::kWrite)));
    p.record(io_at(40'000'000, 9, kIo));
    p.drain(40'000'000);
    const ExtentStats* s = p.extents().find(make_extent_key(1, 9));
    ASSERT_NE(s, nullptr);
    const auto bt = p.bucket_ticks();
    EXPECT_EQ(s->count_in_bucket(p.bucket_of(40'000'000), bt), 1u);
    EXPECT_EQ(s->count_in_bucket(p.bucket_of(2'100'000), bt), 0u);  // forgotten: > 12 buckets ago
    EXPECT_EQ(s->anchor_count, 5);  // the first episode was substantial (>= 4 accesses)
    EXPECT_EQ(s->episode_count, 1);
    EXPECT_EQ(s->episode_start(), to_tick(40'000'000));
    EXPECT_EQ(s->anchor_start, to_tick(100'000));
    EXPECT_EQ(s->period_buckets(), 0);  // one substantial episode: no period yet
    EXPECT_GT(s->write_share, 0);
    EXPECT_LE(s->mib(), 1u);
    const auto series = p.luns().at(1).series(p.bucket_of(40'000'000), 64);
    double total = 0;
    for (double v : series) total += v;
    EXPECT_EQ(total, 6.0);
}

TEST(Profiler, SequentialStreamsAreRecognised) {
    Profiler p(config());
    for (int i = 0; i < 100; ++i) {
        p.record(io_at(1000 + i, 0,
                       {.within = static_cast<std::uint64_t>(i) * 65536,
                        .length = 65536,
                        .lun = 1,
                        .initiator = 3}));
    }
    p.drain(10'000);
    EXPECT_NEAR(p.initiator(1, 3)->sequential_fraction(), 0.99, 0.011);
    EXPECT_GT(p.extents().find(make_extent_key(1, 0))->sequential_share, 200);
}

TEST(Profiler, MemoryIsBoundedAndColdExtentsAreEvicted) {
    EngineConfig c = config();
    c.max_tracked_extents = 50'000;
    c.profiler_ring_events = 1 << 17;
    Profiler p(c);
    for (int round = 0; round < 3; ++round) {
        const int n = round == 1 ? 20'000 : 30'000;  // rounds 0 and 1 fill the table exactly
        for (int i = 0; i < n; ++i)
            p.record(io_at(1'000'000 * (round + 1), round * 30'000 + i, kIo));
        p.drain(1'000'000 * (round + 1));
    }
    EXPECT_EQ(p.extents().size(), 50'000u);  // capped: the rest stays untracked
    // The whole table (records and empty slots) per tracked extent: within the 64-byte target.
    EXPECT_LE(p.bytes_per_extent(), 64.0);
    EXPECT_GE(p.bytes_per_extent(), 40.0);
    // Only extents 30000..39999 are touched again recently.
    for (int i = 30'000; i < 40'000; ++i) p.record(io_at(4'000'000, i, kIo));
    p.drain(4'000'000);
    p.evict_idle(4'500'000, 1'000'000);
    EXPECT_EQ(p.extents().size(), 10'000u);
    EXPECT_LE(p.bytes_per_extent(), 40.0 / 0.7);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(p.extents().find(make_extent_key(1, i)), nullptr);
}

// A stream over 3 LUNs and 4 initiators: sequential runs, writes, I/Os spanning two extents, and
// now and then an event that completed before the one taken in just ahead of it.
std::vector<IoEvent> mixed_stream(std::size_t n, std::uint64_t start_us) {
    std::mt19937_64 rng(17);
    std::vector<IoEvent> events;
    std::uint64_t t = start_us;
    std::uint64_t next = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t r = rng();
        IoShape shape = kIo.from(static_cast<InitiatorId>(r >> 10 & 3))
                            .doing(r >> 14 & 1 ? IoOp::kWrite : IoOp::kRead);
        shape.lun = static_cast<LunId>(1 + (r >> 12 & 1) + (r >> 13 & 1));
        IoEvent e = io_at(t, r % 300, shape);
        if (r >> 15 & 1) e.offset = next;  // continues the last one
        if ((r >> 16 & 15) == 0)
            e.offset = (r % 300 + 1) * test_events::kE - 2048;         // spans two extents
        if ((r >> 20 & 31) == 0 && e.time_us > 500) e.time_us -= 500;  // completed earlier
        next = e.offset + e.length;
        events.push_back(e);
        t += r >> 24 & 1 ? 0 : 37;  // ties too
    }
    return events;
}

bool same_event(const IoEvent& a, const IoEvent& b) {
    return a.time_us == b.time_us && a.offset == b.offset && a.length == b.length &&
           a.lun == b.lun && a.initiator == b.initiator && a.op == b.op;
}

bool same_stream(const InitiatorStats& a, const InitiatorStats& b) {
    return a.ios == b.ios && a.bytes == b.bytes && a.reads == b.reads && a.writes == b.writes &&
           a.sequential_ios == b.sequential_ios && a.next_offset == b.next_offset &&
           a.first_us == b.first_us && a.last_us == b.last_us;
}

bool same_lun_load(const LunStats& a, const LunStats& b) {
    return a.ios == b.ios && a.bytes == b.bytes && a.first_bucket == b.first_bucket &&
           a.newest_bucket == b.newest_bucket && a.ring == b.ring;
}

bool same_extent(const ExtentStats& a, const ExtentStats& b) {
    return a.key == b.key && a.last_tick == b.last_tick && a.anchor_start == b.anchor_start &&
           a.bucket_codes == b.bucket_codes && a.episode_span == b.episode_span &&
           a.period_flags == b.period_flags && a.episode_count == b.episode_count &&
           a.anchor_count == b.anchor_count && a.initiator == b.initiator &&
           a.mib_code == b.mib_code && a.write_share == b.write_share &&
           a.sequential_share == b.sequential_share;
}

// The same events, by append() into one profiler and by record() (one thread) into another,
// drained at the same times: the same sorted batches and the same statistics, to the byte.
TEST(Profiler, AppendedEventsAreFoldedAsRecordedOnes) {
    Profiler appended(config());
    Profiler recorded(config());
    const std::vector<IoEvent> events = mixed_stream(40'000, 1'000'000);
    std::size_t at = 0;
    for (std::size_t drain = 1; at < events.size(); ++drain) {
        const std::size_t end = std::min(events.size(), at + 997 * drain);
        for (; at < end; ++at) {
            appended.append(events[at]);
            recorded.record(events[at]);
        }
        const std::uint64_t now = events[end - 1].time_us + 1;
        const auto a = appended.drain(now);
        const auto r = recorded.drain(now);
        ASSERT_EQ(a.size(), r.size());
        ASSERT_TRUE(std::is_sorted(a.begin(), a.end(), [](const IoEvent& x, const IoEvent& y) {
            return x.time_us < y.time_us;
        }));
        for (std::size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(same_event(a[i], r[i])) << i;
    }
    EXPECT_EQ(appended.recorded(), events.size());
    EXPECT_EQ(recorded.recorded(), events.size());
    EXPECT_EQ(appended.dropped(), 0u);
    EXPECT_EQ(recorded.dropped(), 0u);
    ASSERT_EQ(appended.initiators().size(), recorded.initiators().size());
    for (const auto& [key, a] : appended.initiators()) {
        EXPECT_TRUE(same_stream(a, recorded.initiators().at(key))) << key;
        EXPECT_GT(a.sequential_ios, 0u);
    }
    ASSERT_EQ(appended.luns().size(), 3u);
    for (const auto& [lun, a] : appended.luns())
        EXPECT_TRUE(same_lun_load(a, recorded.luns().at(lun))) << lun;
    ASSERT_EQ(appended.extents().size(), recorded.extents().size());
    std::size_t compared = 0;
    appended.extents().for_each([&](const ExtentStats& a) {
        const ExtentStats* r = recorded.extents().find(a.key);
        ASSERT_NE(r, nullptr);
        EXPECT_TRUE(same_extent(a, *r)) << a.key;
        ++compared;
    });
    EXPECT_EQ(compared, appended.extents().size());
    // Only the profiler fed by record() built its rings.
    EXPECT_EQ(appended.ring_bytes(), 0u);
    EXPECT_GT(recorded.ring_bytes(), 0u);
}

// The serialized intake holds as many events between two drains as the rings would; the rest
// is dropped and counted, and the next drain starts afresh.
TEST(Profiler, AppendedEventsBeyondTheRingsCapacityAreDropped) {
    EngineConfig c = config();
    c.profiler_shards = 2;
    c.profiler_ring_events = 64;
    Profiler p(c);
    for (int i = 0; i < 200; ++i)
        p.append(io_at(1'000 + static_cast<std::uint64_t>(i), i % 7, kIo));
    EXPECT_EQ(p.drain(2'000).size(), 128u);
    EXPECT_EQ(p.dropped(), 72u);
    for (int i = 0; i < 5; ++i) p.append(io_at(3'000 + static_cast<std::uint64_t>(i), 1, kIo));
    EXPECT_EQ(p.drain(4'000).size(), 5u);
    EXPECT_EQ(p.drain(5'000).size(), 0u);
    EXPECT_EQ(p.recorded(), 133u);
}

// A profiler fed only by append() allocates no ring: what it holds after a day's worth of
// rounds is its tables and one round's batch, not the 8 x 32,768 slots of the rings.
TEST(Profiler, TheSerializedIntakeBuildsNoRings) {
    if (!test_support::heap_bytes_counted()) GTEST_SKIP() << "heap not counted by glibc";
    const std::size_t before = test_support::heap_bytes();
    auto p = std::make_unique<Profiler>(EngineConfig{}.validated());
    for (std::uint64_t round = 0; round < 100; ++round) {
        for (std::uint64_t i = 0; i < 1000; ++i)
            p->append(io_at(round * 1'000'000 + i, i % 64, kIo));
        p->drain((round + 1) * 1'000'000);
    }
    EXPECT_EQ(p->ring_bytes(), 0u);
    EXPECT_EQ(p->recorded(), 100'000u);
    const std::size_t held = test_support::heap_bytes() - before;
    std::cout << "profiler fed by append(): " << held << " bytes\n";
    // The extent table's initial slots, 64 extents' streams, one batch of 1,000 events.
    EXPECT_LE(held, 256u * 1024);
}

TEST(Profiler, AProfilerThatRecordedNothingHoldsNoRingSlots) {
    // The rings of the default configuration hold 8 x 32,768 events: none of them is allocated
    // before an event comes.
    const std::size_t before = test_support::heap_bytes();
    auto p = std::make_unique<Profiler>(EngineConfig{}.validated());
    p->drain(1'000'000);
    const std::size_t held = test_support::heap_bytes() - before;
    std::cout << "idle profiler: " << held << " bytes\n";
    EXPECT_LE(held, 16u * 1024);
}

}  // namespace
}  // namespace rbdtier
