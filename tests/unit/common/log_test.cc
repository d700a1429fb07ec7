// The logging interface: levels and bindings, line formatting, rate limits, threads.
#include "common/log.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace rbdtier::log {
namespace {

using namespace std::chrono_literals;

TEST(Log, NothingIsWrittenOrEvaluatedWithoutASink) {
    EXPECT_FALSE(enabled(Level::kError));
    int evaluated = 0;
    const auto count = [&evaluated] { return ++evaluated; };
    RBDTIER_LOG_ERROR("pool/img", "x " << count());
    EXPECT_EQ(evaluated, 0);
}

TEST(Log, ASinkTakesTheLinesUpToItsThreshold) {
    CaptureSink capture;
    {
        Binding binding(capture, Level::kInfo);
        EXPECT_TRUE(enabled(Level::kWarning));
        EXPECT_FALSE(enabled(Level::kDebug));
        int evaluated = 0;
        RBDTIER_LOG_DEBUG("pool/img", "off " << ++evaluated);
        EXPECT_EQ(evaluated, 0);  // a line that is off is not built
        RBDTIER_LOG_INFO("pool/img", "opened");
        RBDTIER_LOG_WARNING("", "gateway-wide");
    }
    RBDTIER_LOG_ERROR("pool/img", "after the binding");
    const auto records = capture.records();
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].level, Level::kInfo);
    EXPECT_EQ(records[0].lun, "pool/img");
    EXPECT_EQ(records[0].text, "opened");
    EXPECT_EQ(records[0].render(), "pool/img: opened");
    EXPECT_STREQ(records[0].function, "TestBody");
    EXPECT_GT(records[0].line, 0);
    EXPECT_EQ(records[1].render(), "gateway-wide");
    EXPECT_FALSE(enabled(Level::kError));
}

TEST(Log, BindingsNestAndRestore) {
    CaptureSink outer, inner;
    Binding a(outer, Level::kWarning);
    {
        Binding b(inner, Level::kDebug);
        RBDTIER_LOG_DEBUG("l", "to inner");
    }
    RBDTIER_LOG_DEBUG("l", "dropped");
    RBDTIER_LOG_WARNING("l", "to outer");
    EXPECT_EQ(inner.records().size(), 1u);
    ASSERT_EQ(outer.records().size(), 1u);
    EXPECT_EQ(outer.records()[0].text, "to outer");
}

TEST(Log, LinesFormatValuesWithoutPrintf) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    const std::string s = "str";
    RBDTIER_LOG_INFO(
        "l", s << ' ' << std::int64_t{-42} << ' ' << std::uint64_t{1} << 40 << ' ' << 2.5 << ' '
               << true << ' ' << Hex{0x2a} << ' ' << Hex{0xc00, 4} << ' '
               << [](Emitter& e) { e << "fn"; });
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].text, "str -42 140 2.5 true 0x2a 0x0c00 fn");
}

TEST(Log, FindSelectsByLevelLunAndText) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    RBDTIER_LOG_WARNING("a/x", "lost the exclusive lock: blocklisted");
    RBDTIER_LOG_INFO("a/x", "took the exclusive lock");
    RBDTIER_LOG_WARNING("a/y", "lost the exclusive lock: another gateway holds it");
    EXPECT_EQ(capture.find(Level::kWarning, "a/x", "lost").size(), 1u);
    EXPECT_EQ(capture.find(Level::kWarning, "", "lost").size(), 2u);
    EXPECT_EQ(capture.find(Level::kError, "", "lost").size(), 0u);
    capture.clear();
    EXPECT_TRUE(capture.records().empty());
}

// Code that knows a LUN only by number logs with no LUN; the scope of its caller names it, on
// the caller's thread only, and rate limits count per scoped LUN.
TEST(Log, ALunScopeNamesTheLunOfLinesWithoutOne) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    const auto limited = [](int i) { RBDTIER_LOG_LIMITED(Level::kWarning, "", "refused " << i); };
    {
        const LunScope outer("p/a");
        RBDTIER_LOG_INFO("", "in the scope");
        RBDTIER_LOG_INFO("p/b", "named");
        {
            const LunScope inner("p/c");
            RBDTIER_LOG_INFO("", "inner");
            for (int i = 0; i < 3; ++i) limited(i);
        }
        RBDTIER_LOG_INFO("", "outer again");
        std::thread([] { RBDTIER_LOG_INFO("", "another thread"); }).join();
        for (int i = 0; i < 25; ++i) limited(i);
    }
    RBDTIER_LOG_INFO("", "no scope");
    std::vector<std::string> luns;
    for (const Record& r : capture.records())
        if (r.level == Level::kInfo) luns.push_back(r.lun);
    EXPECT_EQ(luns, (std::vector<std::string>{"p/a", "p/b", "p/c", "p/a", "", ""}));
    EXPECT_EQ(capture.find(Level::kWarning, "p/c", "refused").size(), 3u);
    EXPECT_EQ(capture.find(Level::kWarning, "p/a", "refused").size(), RateLimit::kDefaultBurst);
    EXPECT_EQ(lun_or_scope("x"), "x");
    EXPECT_EQ(lun_or_scope(""), "");
}

TEST(RateLimit, LetsABurstThroughPerWindowAndCountsTheRest) {
    RateLimit limit(3, 60s);
    const auto t0 = RateLimit::Clock::time_point{} + 1000s;
    for (int i = 0; i < 3; ++i) {
        const auto a = limit.admit("lun", t0 + std::chrono::seconds(i));
        EXPECT_TRUE(a);
        EXPECT_EQ(a.suppressed, 0u);
    }
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(limit.admit("lun", t0 + 10s));
    EXPECT_TRUE(limit.admit("other", t0 + 10s));     // keys are limited apart
    const auto next = limit.admit("lun", t0 + 61s);  // a new window
    EXPECT_TRUE(next);
    EXPECT_EQ(next.suppressed, 5u);
    EXPECT_EQ(limit.admit("lun", t0 + 62s).suppressed, 0u);  // told once
}

TEST(RateLimit, TheMacroLimitsEachCallSitePerLun) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    const auto log_refusal = [](const std::string& lun, int i) {
        RBDTIER_LOG_LIMITED(Level::kWarning, lun, "refused " << i);
    };
    for (int i = 0; i < 25; ++i) log_refusal("p/a", i);
    for (int i = 0; i < 3; ++i) log_refusal("p/b", i);
    EXPECT_EQ(capture.find(Level::kWarning, "p/a", "refused").size(), RateLimit::kDefaultBurst);
    EXPECT_EQ(capture.find(Level::kWarning, "p/b", "refused").size(), 3u);
}

TEST(Log, ASuppressedCountIsWrittenWithTheNextLine) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    { Emitter(Level::kWarning, "l", "f", 1, 7) << "refused"; }
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].text, "refused (7 more like this suppressed)");
}

TEST(Log, ThreadsLogAtOnceWhileSinksAreBound) {
    CaptureSink capture;
    Binding binding(capture, Level::kDebug);
    constexpr int kThreads = 4, kLines = 500;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < kLines; ++i)
                RBDTIER_LOG_DEBUG("l", "thread " << t << " line " << i);
        });
    }
    // Bindings come and go meanwhile: a line goes to whichever sink is bound when it is written.
    CaptureSink other;
    for (int i = 0; i < 50; ++i) Binding nested(other, Level::kDebug);
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(capture.records().size() + other.records().size(),
              static_cast<std::size_t>(kThreads * kLines));
}

}  // namespace
}  // namespace rbdtier::log
