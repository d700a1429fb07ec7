// TierCatalog: what the cluster said of a pool is handed out again per cluster and pool id while
// younger than the max age; what was not answered is never stored, so it is asked again.
#include "ceph/tier_discovery.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace rbdtier::ceph {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(TierCatalog, FactsAreHandedOutUntilTheMaxAgeThenAskedAgain) {
    TierCatalog catalog(30s);
    const Clock::time_point t0{};
    catalog.store("c1", 3, PoolFacts{"site-a~nvme", 120.0}, t0);
    const PoolFacts young = catalog.find("c1", 3, t0 + 29s);
    ASSERT_TRUE(young.take_item);
    EXPECT_EQ(*young.take_item, "site-a~nvme");
    ASSERT_TRUE(young.round_trip_us);
    EXPECT_EQ(*young.round_trip_us, 120.0);
    const PoolFacts old = catalog.find("c1", 3, t0 + 30s);
    EXPECT_FALSE(old.take_item);
    EXPECT_FALSE(old.round_trip_us);
}

TEST(TierCatalog, FactsAreKeptPerClusterAndPoolId) {
    TierCatalog catalog(30s);
    const Clock::time_point t0{};
    catalog.store("c1", 3, PoolFacts{"site-a~nvme", std::nullopt}, t0);
    // Another cluster, or a pool made again under the same name (a new id), knows nothing yet.
    EXPECT_FALSE(catalog.find("c2", 3, t0).take_item);
    EXPECT_FALSE(catalog.find("c1", 4, t0).take_item);
    EXPECT_TRUE(catalog.find("c1", 3, t0).take_item);
}

TEST(TierCatalog, WhatWasNotAnsweredIsNotStored) {
    TierCatalog catalog(30s);
    const Clock::time_point t0{};
    catalog.store("c1", 3, PoolFacts{}, t0);  // the monitors and the OSDs did not answer
    EXPECT_EQ(catalog.size(), 0u);
    catalog.store("c1", 3, PoolFacts{"site-a~hdd", std::nullopt}, t0);  // no probe answered
    const PoolFacts facts = catalog.find("c1", 3, t0 + 1s);
    EXPECT_TRUE(facts.take_item);
    EXPECT_FALSE(facts.round_trip_us);  // probed again at the next call
}

TEST(TierCatalog, StoringMergesAndKeepsTheEntrysAge) {
    TierCatalog catalog(30s);
    const Clock::time_point t0{};
    catalog.store("c1", 3, PoolFacts{"site-a~hdd", std::nullopt}, t0);
    catalog.store("c1", 3, PoolFacts{"other", 800.0}, t0 + 20s);
    PoolFacts facts = catalog.find("c1", 3, t0 + 25s);
    ASSERT_TRUE(facts.take_item);
    EXPECT_EQ(*facts.take_item, "site-a~hdd");  // kept: the first answer stands until it ages
    ASSERT_TRUE(facts.round_trip_us);
    EXPECT_EQ(*facts.round_trip_us, 800.0);
    // The entry ages from when it was made: a later merge does not make it young again.
    facts = catalog.find("c1", 3, t0 + 31s);
    EXPECT_FALSE(facts.take_item);
}

TEST(TierCatalog, OldEntriesLeaveWhenFactsAreStoredAndClearEmptiesIt) {
    TierCatalog catalog(30s);
    const Clock::time_point t0{};
    catalog.store("c1", 1, PoolFacts{"a", std::nullopt}, t0);
    catalog.store("c1", 2, PoolFacts{"b", std::nullopt}, t0 + 10s);
    EXPECT_EQ(catalog.size(), 2u);
    catalog.store("c1", 3, PoolFacts{"c", std::nullopt}, t0 + 35s);
    EXPECT_EQ(catalog.size(), 2u);  // pool 1 left
    catalog.clear();
    EXPECT_EQ(catalog.size(), 0u);
}

}  // namespace
}  // namespace rbdtier::ceph
