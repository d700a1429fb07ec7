// TieredStorage: the storage of a tiered LUN on the running local cluster (no handler, no rounds),
// for tests of the migration protocol below the handler: its tier images in all four pools, its
// placement map, an ExtentGate loaded from the map, and routed synchronous reads/writes that go
// through the gate exactly as the handler's tiered I/O path does (enter, I/O on the extent's tier
// image, leave; std::runtime_error for an extent the gate refuses). The image is created with a
// name unique to the process and removed, with its tier images and map, at the end.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/tier_images.h"
#include "tests/support/scratch_data.h"

namespace rbdtier::test {

inline const std::vector<std::string> kAllPools = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};

class TieredStorage {
public:
    // Creates `pool/name` of `size` bytes (4 MiB objects; its data in `data_pool` when given)
    // and opens it tiered over kAllPools.
    static std::unique_ptr<TieredStorage> create(const std::string& pool, const std::string& name,
                                                 std::uint64_t size,
                                                 const std::string& data_pool = {});
    // Opens an existing tiered LUN (e.g. after a crash), loading the map into a new gate; as its
    // owner (take_ownership: the previous owner is fenced) unless `own` is false.
    static std::unique_ptr<TieredStorage> open(const std::string& pool, const std::string& name,
                                               std::uint64_t size, bool own = true);
    ~TieredStorage();

    void write(std::uint64_t offset, const std::vector<char>& data);
    std::vector<char> read(std::uint64_t offset, std::uint64_t length);

    ceph::Cluster& cluster() { return *cluster_; }
    ceph::TierImages& images() { return *images_; }
    // Opens every tier image now (they open on first need); a test failure if one cannot be.
    void open_every_tier();
    // Tier image `index`, opened first if it is closed; throws std::runtime_error if it cannot be.
    ceph::Image& tier_image(std::size_t index);
    ceph::PlacementMap& map() { return *map_; }
    ceph::ExtentGate& gate() { return *gate_; }
    ceph::ExtentMigrator& migrator() { return *migrator_; }
    std::uint64_t extent_size() const { return images_->object_size(); }
    std::uint64_t extents() const { return size_ / images_->object_size(); }
    void remove_all_on_exit(bool yes) { remove_ = yes; }

private:
    TieredStorage() = default;
    void enter_or_wait(std::uint64_t extent, ceph::ExtentGate::TierIndex& tier);
    template <typename Fn>
    void routed(std::uint64_t offset, std::uint64_t length, bool write, Fn&& fn);

    std::string pool_, name_;
    std::uint64_t size_ = 0;
    bool remove_ = true;
    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::TierImages> images_;
    std::optional<ceph::PlacementMap> map_;
    std::unique_ptr<ceph::ExtentGate> gate_;
    std::unique_ptr<ceph::ExtentMigrator> migrator_;
};

// osd.N of the test cluster stopped while this lives (`cluster.sh osd-stop`: its data is kept,
// I/O to its pools waits until the client's osd_op_timeout) and started again when it goes, also
// when the test fails half-way. A failed stop or start is a test failure.
class StoppedOsd {
public:
    explicit StoppedOsd(int osd);
    ~StoppedOsd();
    StoppedOsd(const StoppedOsd&) = delete;
    StoppedOsd& operator=(const StoppedOsd&) = delete;

private:
    int osd_;
};

using test_support::pattern;
using test_support::unique_name;
// A connection to the running test cluster ($RBDTIER_CEPH_CONF); throws std::runtime_error.
ceph::Cluster connect_test_cluster();
// `pool` opened on `cluster`; throws std::runtime_error with Ceph's message.
ceph::IoContext open_test_pool(ceph::Cluster& cluster, const std::string& pool);

}  // namespace rbdtier::test
