// PlacementState: tier_of() answers what a plain map of the extents away from home answers,
// through every growth and rebuild of its filter; tenants' usage follows the moves.
#include "engine/placement_state.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "tests/support/seed.h"

namespace rbdtier {
namespace {

constexpr std::uint64_t kExt = 4ull << 20;
constexpr TierId kHome = 1;

TEST(PlacementState, TierOfMatchesAMapThroughGrowthAndReturns) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937_64 rng(seed);
    TenantTable tenants({TenantSpec{}, TenantSpec{}}, {{2, 1}});
    PlacementState placement(tenants, kExt);
    std::map<ExtentKey, TierId> away;  // the reference
    const auto check_all = [&](const char* when) {
        for (LunId lun = 1; lun <= 2; ++lun)
            for (ExtentIndex x = 0; x < 5000; ++x) {
                const ExtentKey key = make_extent_key(lun, x);
                const auto it = away.find(key);
                ASSERT_EQ(placement.tier_of(key, kHome), it == away.end() ? kHome : it->second)
                    << when << ": lun " << lun << " extent " << x;
            }
        ASSERT_EQ(placement.away().size(), away.size()) << when;
    };
    check_all("empty");
    // Grow to 3000 away (several filter growths), then bring most back (rebuilds), then out
    // again: every answer checked after each phase, a sample after each move.
    const auto move = [&](ExtentKey key, TierId to) {
        const auto it = away.find(key);
        const TierId from = it == away.end() ? kHome : it->second;
        placement.moved(key, from, to, kHome);
        if (to == kHome)
            away.erase(key);
        else
            away[key] = to;
        ASSERT_EQ(placement.tier_of(key, kHome), to);
    };
    for (int i = 0; i < 3000; ++i)
        move(make_extent_key(1 + static_cast<LunId>(rng() % 2), rng() % 5000),
             static_cast<TierId>(rng() % 2 == 0 ? 0 : 2));
    check_all("after moves away");
    std::vector<ExtentKey> keys;
    for (const auto& [key, tier] : away) keys.push_back(key);
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (i % 10 != 0) move(keys[i], kHome);
    check_all("after most came home");
    for (const auto& [key, tier] : std::map<ExtentKey, TierId>(away)) move(key, kHome);
    check_all("all home");
    for (int i = 0; i < 500; ++i) move(make_extent_key(2, rng() % 5000), 0);
    check_all("out again");
    EXPECT_EQ(placement.tenant_used(1, 0), away.size() * kExt);
    EXPECT_EQ(placement.tenant_used(0, 0), 0u);
}

}  // namespace
}  // namespace rbdtier
