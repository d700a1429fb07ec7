// guarded(): a callout that throws answers its failure value and leaves one error line naming the
// LUN, the callout and what was thrown; a callout that returns is not logged.
#include "handler/callout_guard.h"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

namespace rbdtier {
namespace {

TEST(CalloutGuard, ReturnsTheBodysValueAndLogsNothing) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    EXPECT_EQ(guarded("pool/img", "lock", -1, [] { return 7; }), 7);
    EXPECT_TRUE(capture.records().empty());
}

TEST(CalloutGuard, AThrowingBodyAnswersFailureAndIsLoggedOnce) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    EXPECT_EQ(guarded("pool/img", "lock", -12,
                      []() -> int { throw std::runtime_error("map header unreadable"); }),
              -12);
    const auto records = capture.records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].level, log::Level::kError);
    EXPECT_EQ(records[0].render(),
              "pool/img: lock failed: map header unreadable; answered as failed");
}

TEST(CalloutGuard, AnAllocationFailureAndAnUnknownThrowAreLoggedToo) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    EXPECT_FALSE(guarded("", "open", false, []() -> bool { throw std::bad_alloc(); }));
    EXPECT_EQ(guarded("", "init", 1, []() -> int { throw 42; }), 1);
    const auto records = capture.records();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].render(), "open failed: std::bad_alloc; answered as failed");
    EXPECT_EQ(records[1].render(), "init failed: an exception of unknown type; answered as failed");
}

}  // namespace
}  // namespace rbdtier
