// FakeStorage: a LUN's storage in memory (engine/lun_storage.h), for tests of the rounds that
// run a LUN's placement (engine/lun_rounds.h) without a cluster: extents of test_events::kE bytes,
// every one in the home tier (0) at first; tiers named hdd-a (home), nvme-a, nvme-b, hdd-b.
// Single-threaded but for `owner`, and migrate() called from one executor worker at a time.
// Header-only, for tests.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/lun_storage.h"
#include "engine/migration_record.h"
#include "tests/support/io_events.h"

namespace rbdtier::test_support {

// Where each extent is, moved at once by migrate() (unless its extent is in `fail`, or the
// storage is not the LUN's `owner`: then it refuses, as the migrator's fence does), and what
// sample_resources() answers (`reading`, if set).
class FakeStorage final : public LunStorage {
public:
    explicit FakeStorage(std::uint64_t extents) : placement_(extents, 0) {}

    const std::string& lun_name() const override { return name_; }
    std::uint64_t extent_bytes() const override { return test_events::kE; }
    const std::string& tier_name(TierId tier) const override { return names_.at(tier); }
    std::uint64_t extents() const override { return placement_.size(); }
    TierId tier(ExtentIndex extent) const override { return placement_.at(extent); }
    std::uint64_t placement_epoch() const override { return epoch_; }
    bool owns_extents() const override { return owner.load(); }
    bool migrate(ExtentIndex extent, TierId to, MigrationRecord& record) override {
        if (on_migrate) on_migrate(extent);
        migrations.push_back(extent);
        record.extent = extent;
        record.from = names_.at(placement_.at(extent));
        record.to = names_.at(to);
        record.bytes = test_events::kE;
        if (!owner) {
            record.outcome = "refused: this gateway does not own the LUN";
            return false;
        }
        if (std::find(fail.begin(), fail.end(), extent) != fail.end()) {
            record.outcome = "copy: Input/output error";
            return false;
        }
        placement_.at(extent) = to;
        record.outcome = "moved";
        return true;
    }
    std::optional<ResourceReading> sample_resources() override {
        ++samples;
        return reading;
    }

    // Another hand moves `extent` to `tier` (or a resize adds extents): the epoch moves.
    void move_by_another_hand(ExtentIndex extent, TierId tier) {
        placement_.at(extent) = tier;
        ++epoch_;
    }
    void grow(std::uint64_t extents) {
        placement_.resize(extents, 0);
        ++epoch_;
    }

    std::vector<ExtentIndex> migrations;  // extents handed to migrate(), in order
    std::vector<ExtentIndex> fail;        // extents whose migration fails
    std::atomic<bool> owner{true};        // false: this gateway lost the LUN (its lock)
    std::optional<ResourceReading> reading;
    int samples = 0;
    std::function<void(ExtentIndex)> on_migrate;  // called first in migrate(), if set

private:
    std::string name_ = "pool/lun";
    std::vector<std::string> names_ = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};
    std::vector<TierId> placement_;
    std::uint64_t epoch_ = 0;
};

}  // namespace rbdtier::test_support
