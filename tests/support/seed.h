// test_seed(): the seed of a randomized GoogleTest test, one convention for all of them.
//
// The seed is RBDTIER_SEED when it is set (a whole number from 0 to 4294967295: the run to
// replay), otherwise a fresh one from std::random_device. The first call within a test prints
// `seed=N (replay: RBDTIER_SEED=N)` on stdout and records N as the test's "seed" property (the
// XML report); further calls within the same test return the same seed and print nothing. Each
// test, and each repetition of one (--gtest_repeat), draws its own.
// seed_note(N) is that text, for SCOPED_TRACE and failure messages.
// Thread-safe; call it from the test's own thread (it reads GoogleTest's current test), e.g. in
// the body or in SetUp(), and hand the value to helper threads. A malformed RBDTIER_SEED fails
// the test. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace rbdtier::test_support {

inline std::string seed_note(std::uint32_t seed) {
    const std::string n = std::to_string(seed);
    return "seed=" + n + " (replay: RBDTIER_SEED=" + n + ")";
}

namespace seed_detail {

struct State {
    std::mutex mutex;
    bool drawn = false;  // within the running test
    std::uint32_t seed = 0;
};

inline State& state() {
    static State s;
    return s;
}

// Forgets the seed when the next test (or repetition) starts.
class Reset : public ::testing::EmptyTestEventListener {
    void OnTestStart(const ::testing::TestInfo&) override {
        std::lock_guard lock(state().mutex);
        state().drawn = false;
    }
};

}  // namespace seed_detail

inline std::uint32_t test_seed() {
    seed_detail::State& s = seed_detail::state();
    std::lock_guard lock(s.mutex);
    if (s.drawn) return s.seed;
    static const bool listening = [] {
        ::testing::UnitTest::GetInstance()->listeners().Append(
            new seed_detail::Reset);  // owned by gtest
        return true;
    }();
    (void)listening;

    std::uint32_t seed = std::random_device{}();

    if (const char* text = std::getenv("RBDTIER_SEED"); text != nullptr) {
        const std::string_view v(text);
        std::uint32_t fixed = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), fixed);
        if (ec == std::errc() && end == v.data() + v.size() && !v.empty())
            seed = fixed;
        else
            ADD_FAILURE() << "RBDTIER_SEED='" << v
                          << "' is not a whole number from 0 to 4294967295; using a fresh seed";
    }
    s.seed = seed;
    s.drawn = true;
    std::printf("%s\n", seed_note(seed).c_str());
    std::fflush(stdout);
    if (::testing::UnitTest::GetInstance()->current_test_info() != nullptr)
        ::testing::Test::RecordProperty("seed", std::to_string(seed));
    return seed;
}

}  // namespace rbdtier::test_support
