// The count-min sketch behind TinyLFU admission (frequency_sketch.h): its estimates never fall
// below a key's true count (also once folded onto fewer counters), rarely exceed it when the
// sketch is sized as the caching policy sizes it, saturate at 15 and are halved every `sample`
// additions.
#include "engine/policy/frequency_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <unordered_map>
#include <vector>

#include "tests/support/seed.h"

namespace rbdtier {
namespace {

using test_support::seed_note;
using test_support::test_seed;

// 500 keys of a skewed population, each added 1 to 12 times in random order.
std::unordered_map<std::uint64_t, unsigned> skewed_counts(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::unordered_map<std::uint64_t, unsigned> counts;
    for (int i = 0; i < 500; ++i) counts[rng()] = 1 + static_cast<unsigned>(rng() % 12);
    return counts;
}

void add_all(FrequencySketch& sketch, const std::unordered_map<std::uint64_t, unsigned>& counts) {
    std::vector<std::uint64_t> adds;
    for (const auto& [key, n] : counts) adds.insert(adds.end(), n, key);
    std::shuffle(adds.begin(), adds.end(), std::mt19937(7));
    for (std::uint64_t key : adds) sketch.add(key);
}

TEST(FrequencySketch, EstimatesAreNeverBelowTheTrueCountAndRarelyAbove) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto counts = skewed_counts(seed);
    FrequencySketch sketch;
    sketch.resize(16 * 500, 1'000'000);  // 16 counters per key, no halving
    add_all(sketch, counts);
    int exact = 0;
    for (const auto& [key, n] : counts) {
        EXPECT_GE(sketch.estimate(key), n);
        exact += sketch.estimate(key) == n;
    }
    EXPECT_GE(exact, 475);  // at least 95% exact
    EXPECT_EQ(sketch.estimate(12345), 0u);
}

TEST(FrequencySketch, FoldingOntoFewerCountersKeepsEveryEstimateAboveItsCount) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto counts = skewed_counts(seed);
    FrequencySketch sketch;
    sketch.resize(8192, 1'000'000);
    add_all(sketch, counts);
    sketch.resize(1024, 1'000'000);
    EXPECT_EQ(sketch.counters(), 1024u);
    for (const auto& [key, n] : counts) EXPECT_GE(sketch.estimate(key), n);
}

TEST(FrequencySketch, CountersSaturateAndAreHalvedEverySample) {
    FrequencySketch sketch;
    sketch.resize(64, 40);
    for (int i = 0; i < 20; ++i) sketch.add(1);
    EXPECT_EQ(sketch.estimate(1), 15u);  // saturated
    for (int i = 0; i < 19; ++i) sketch.add(2);
    EXPECT_EQ(sketch.estimate(2), 15u);
    sketch.add(3);  // the 40th addition: every counter is halved
    EXPECT_EQ(sketch.estimate(1), 7u);
    EXPECT_EQ(sketch.estimate(2), 7u);
    EXPECT_LE(sketch.estimate(3), 1u);
}

TEST(FrequencySketch, AnEmptySketchEstimatesNothingAndIgnoresAdditions) {
    FrequencySketch sketch;
    sketch.add(1);
    EXPECT_EQ(sketch.estimate(1), 0u);
    EXPECT_EQ(sketch.counters(), 0u);
}

}  // namespace
}  // namespace rbdtier
