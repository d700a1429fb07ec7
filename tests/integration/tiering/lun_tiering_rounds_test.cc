// The rounds of started LunTierings on the live cluster: they run on the process's shared
// workers (no thread per LUN), and a LunTiering destroyed while its round migrates waits for it
// (no round runs on a destroyed LUN; the data stays whole).

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ceph/lun_tiering.h"
#include "live_tiers.h"
#include "tests/support/process_threads.h"
#include "tests/support/seed.h"
#include "tests/support/wait_until.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;
// The workers of the process's shared rounds driver (engine/round_driver.h).
constexpr unsigned long kSharedRoundWorkers = 4;

using test_support::process_threads;

using test_support::wait_until;

// Plans nothing: the rounds only read their events.
class IdlePolicy final : public PlacementPolicy {
public:
    std::string_view name() const override { return "idle"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView&) override { return {}; }
};

// Every round, orders every extent of the LUN to the other one of tiers 0 and 1: the rounds
// keep migrating.
class PingPongPolicy final : public PlacementPolicy {
public:
    explicit PingPongPolicy(LunId lun) : lun_(lun) {}
    std::string_view name() const override { return "ping-pong"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView& view) override {
        std::vector<MigrationOrder> out;
        for (ExtentIndex e = 0; e < view.extents(lun_); ++e) {
            MigrationOrder o;
            o.lun = lun_;
            o.extent = e;
            o.from = view.tier_of(lun_, e);
            o.to = o.from == 0 ? 1 : 0;
            out.push_back(o);
        }
        return out;
    }

private:
    LunId lun_;
};

TEST(LunTieringRounds, StartedTieringsRunOnSharedWorkersNotAThreadEach) {
    auto lun = TieredStorage::create("hdd-a", unique_name("lt-rounds"), 2 * kExtent);
    const std::vector<TierSpec> specs = tier_specs(live_tier_config());
    constexpr int kTierings = 24;
    const unsigned long threads_before = process_threads();
    std::vector<std::unique_ptr<ceph::LunTiering>> tierings;
    for (int i = 0; i < kTierings; ++i) {
        LunRoundsOptions options;
        options.lun = static_cast<LunId>(i);
        options.round_us = 5'000;
        tierings.push_back(
            std::make_unique<ceph::LunTiering>(lun->images(), lun->gate(), lun->migrator(), specs,
                                               std::make_unique<IdlePolicy>(), options));
        tierings.back()->start();
    }
    EXPECT_TRUE(wait_until([&] {
        for (const auto& t : tierings)
            if (t->stats().rounds < 3) return false;
        return true;
    })) << "every started tiering runs its rounds";
    EXPECT_LE(process_threads(), threads_before + kSharedRoundWorkers)
        << "threads grow with the number of tiered LUNs";
    tierings.clear();
}

// LUNs opened and closed over and over while their rounds migrate: a LunTiering destroyed in
// the middle of a migration waits for it, the next one (a new gate and migrator on the same
// images, as a reopened LUN) continues from the map, and the data reads back whole. The time
// each one lives is random (tests/support/seed.h).
TEST(LunTieringRounds, ClosingWhileRoundsMigrateWaitsForThemAndKeepsTheData) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937 random(seed);

    constexpr int kLuns = 3;
    const std::uint64_t size = 3 * kExtent;
    std::vector<std::string> names;
    std::vector<std::vector<char>> data;
    for (int i = 0; i < kLuns; ++i) {
        names.push_back(unique_name("lt-close" + std::to_string(i)));
        auto lun = TieredStorage::create("hdd-a", names.back(), size);
        data.push_back(pattern(size, seed + static_cast<unsigned>(i)));
        lun->write(0, data.back());
        lun->remove_all_on_exit(false);
    }
    const std::vector<TierSpec> specs = tier_specs(live_tier_config());
    std::uint64_t moved = 0;
    for (int cycle = 0; cycle < 8; ++cycle) {
        std::vector<std::unique_ptr<TieredStorage>> luns;
        std::vector<std::unique_ptr<ceph::LunTiering>> tierings;
        for (int i = 0; i < kLuns; ++i) {
            luns.push_back(TieredStorage::open("hdd-a", names[i], size));
            luns.back()->remove_all_on_exit(false);  // reopened in the next cycle
            LunRoundsOptions options;
            options.lun = static_cast<LunId>(i);
            options.round_us = 1'000;
            options.bandwidth_bytes_per_s = 1e12;  // the budget never holds a round back
            tierings.push_back(std::make_unique<ceph::LunTiering>(
                luns[i]->images(), luns[i]->gate(), luns[i]->migrator(), specs,
                std::make_unique<PingPongPolicy>(static_cast<LunId>(i)), options));
            tierings.back()->start();
        }
        // Closed at a random moment after the first migration of every LUN: mostly in the
        // middle of one.
        ASSERT_TRUE(wait_until([&] {
            for (const auto& t : tierings)
                if (t->stats().moved + t->stats().failed == 0) return false;
            return true;
        })) << "the rounds migrate";
        std::this_thread::sleep_for(std::chrono::microseconds(random() % 50'000));
        for (int i = kLuns - 1; i >= 0; --i) {
            moved += tierings[i]->stats().moved;
            EXPECT_EQ(tierings[i]->stats().failed, 0u);
            tierings[i].reset();  // waits for the round in progress
            // The round ended: reads go through the gate to wherever the map put each extent.
            EXPECT_EQ(luns[i]->read(0, size), data[i]) << "LUN " << i << " cycle " << cycle;
            luns[i].reset();
        }
    }
    EXPECT_GT(moved, 0u);
    for (int i = 0; i < kLuns; ++i) {
        auto lun = TieredStorage::open("hdd-a", names[i], size);
        EXPECT_EQ(lun->read(0, size), data[i]) << "LUN " << i << " reopened";
        lun->remove_all_on_exit(true);
    }
}

}  // namespace
}  // namespace rbdtier::test
