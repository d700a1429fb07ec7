#include "engine/replay/trace_window.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::read_at;

// Reads at 5 s + 1 s × i, of LUN i % 2, extent i.
std::vector<IoEvent> ten_seconds() {
    std::vector<IoEvent> ev;
    for (std::uint64_t i = 0; i < 10; ++i)
        ev.push_back(read_at(5'000'000 + i * 1'000'000, i, i % 2));
    return ev;
}

std::vector<std::uint64_t> extents(const std::vector<IoEvent>& ev) {
    std::vector<std::uint64_t> out;
    for (const IoEvent& e : ev) out.push_back(e.offset / test_events::kE);
    return out;
}

TEST(TraceWindow, CountsFromTheFirstIoAndEndsBeforeItsLength) {
    const auto ev = ten_seconds();
    TraceWindow w;
    w.from_us = 2'000'000;
    w.length_us = 3'000'000;
    const auto got = window_of(ev, w);
    EXPECT_EQ(extents(got), (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(got.front().time_us, 7'000'000u);  // times unchanged
}

TEST(TraceWindow, NoLengthRunsToTheEnd) {
    TraceWindow w;
    w.from_us = 7'500'000;
    EXPECT_EQ(extents(window_of(ten_seconds(), w)), (std::vector<std::uint64_t>{8, 9}));
    EXPECT_EQ(window_of(ten_seconds(), TraceWindow{}).size(), 10u);
}

TEST(TraceWindow, KeepsOneLunWhenAsked) {
    TraceWindow w;
    w.from_us = 1'000'000;
    w.length_us = 6'000'000;
    w.lun = 1;
    EXPECT_EQ(extents(window_of(ten_seconds(), w)), (std::vector<std::uint64_t>{1, 3, 5}));
}

TEST(TraceWindow, PastTheEndIsEmpty) {
    TraceWindow w;
    w.from_us = 60'000'000;
    EXPECT_TRUE(window_of(ten_seconds(), w).empty());
    EXPECT_TRUE(window_of({}, TraceWindow{}).empty());
}

TEST(TraceWindow, ParsesStartAndLengthInSeconds) {
    const TraceWindow a = parse_trace_window("600:60");
    EXPECT_EQ(a.from_us, 600'000'000u);
    EXPECT_EQ(a.length_us, 60'000'000u);
    const TraceWindow b = parse_trace_window("1.5");
    EXPECT_EQ(b.from_us, 1'500'000u);
    EXPECT_EQ(b.length_us, 0u);
    for (const char* bad : {"", "x", "-1:10", "10:", "10:0", "10:abc", "1:2:3", "nan"})
        EXPECT_THROW(parse_trace_window(bad), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace rbdtier
