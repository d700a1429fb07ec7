// CoAccessPredictor: learns that B follows A, and its table stays bounded.
#include "engine/forecast/coaccess_predictor.h"

#include <gtest/gtest.h>

#include <vector>

namespace rbdtier {
namespace {

TEST(CoAccess, LearnsThatBFollowsA) {
    CoAccessPredictor p(1024, 5'000'000, 0.5);
    const ExtentKey a = make_extent_key(1, 10), b = make_extent_key(1, 500),
                    noise = make_extent_key(1, 77);
    std::uint64_t t = 0;
    for (int round = 0; round < 10; ++round) {
        p.observe_episode_start(a, t);
        p.observe_episode_start(b, t + 1'000'000);
        if (round % 3 == 0) p.observe_episode_start(noise, t + 2'000'000);
        t += 100'000'000;
    }
    EXPECT_GT(p.confidence(a, b), 0.8);
    EXPECT_LT(p.confidence(a, noise), 0.5);
    EXPECT_EQ(p.confidence(b, a), 0.0);  // A never follows B within the window
    std::vector<ExtentForecast> out;
    p.predict(out);  // drops what started before
    p.observe_episode_start(a, t);
    p.predict(out);
    bool found_b = false, found_noise = false;
    for (const auto& f : out) {
        found_b |= f.key == b;
        found_noise |= f.key == noise;
    }
    EXPECT_TRUE(found_b);
    EXPECT_FALSE(found_noise);
}

TEST(CoAccess, TableIsBounded) {
    CoAccessPredictor p(100, 1'000'000);
    for (std::uint64_t i = 0; i < 10000; ++i)
        p.observe_episode_start(make_extent_key(1, i), i * 10);
    EXPECT_LE(p.sources(), 100u);
    // The recent sources are kept, the old ones forgotten.
    EXPECT_EQ(p.last_start_us(make_extent_key(1, 9999)), 99'990u);
    EXPECT_EQ(p.last_start_us(make_extent_key(1, 10)), 0u);
}

}  // namespace
}  // namespace rbdtier
