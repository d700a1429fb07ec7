// LunTiering: the tiering rounds (engine/lun_rounds.h) of one tiered LUN of the live cluster.
//
// The rounds decide and schedule; this file only binds them to the LUN's storage on the cluster
// (LiveLunStorage): where an extent is and how many there are come from the LUN's ExtentGate, the
// tier names and extent size from its TierImages, a move is ExtentMigrator::migrate (and whether
// this gateway may move any is whether its migrator holds the map's fence), the pools'
// usage is a ResourceMonitor sample and the tenant's room comes from a TenantRoomSource (e.g.
// TenantQuota::refresh). Every member of LunRounds is LunTiering's; the LUN's images, gate and
// migrator must outlive it. The monitor and the tenant source are set before start().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/resource_monitor.h"
#include "ceph/status.h"
#include "ceph/tenant_quota.h"
#include "ceph/tier_images.h"
#include "engine/lun_rounds.h"
#include "engine/lun_storage.h"

namespace rbdtier::ceph {

// What gives the tenant's room on each pool (e.g. TenantQuota::refresh); called in a round. An
// error keeps the last known room.
using TenantRoomSource = std::function<Result<TenantRoom>()>;

// The LunStorage of a tiered LUN on the live cluster (see the top of this file). Its monitor's
// pools must be the TierImages' data pools, in their order.
class LiveLunStorage final : public LunStorage {
public:
    LiveLunStorage(TierImages& images, ExtentGate& gate, ExtentMigrator& migrator)
        : images_(images), gate_(gate), migrator_(migrator) {}

    void set_resource_monitor(std::unique_ptr<ResourceMonitor> monitor) {
        monitor_ = std::move(monitor);
    }
    void set_tenant_room_source(TenantRoomSource source) { tenant_source_ = std::move(source); }

    const std::string& lun_name() const override { return images_.lun_name(); }
    std::uint64_t extent_bytes() const override { return images_.object_size(); }
    // The pool the tier's data lives in (TierImages::data_pool).
    const std::string& tier_name(TierId tier) const override { return images_.data_pool(tier); }
    std::uint64_t extents() const override { return gate_.extents(); }
    TierId tier(ExtentIndex extent) const override { return gate_.tier(extent); }
    std::uint64_t placement_epoch() const override { return gate_.placement_epoch(); }
    // The migrator holds the map's fence (ExtentMigrator::owner).
    bool owns_extents() const override { return migrator_.owner(); }
    bool migrate(ExtentIndex extent, TierId to, MigrationRecord& record) override;
    std::optional<ResourceReading> sample_resources() override;

private:
    TierImages& images_;
    ExtentGate& gate_;
    ExtentMigrator& migrator_;
    std::unique_ptr<ResourceMonitor> monitor_;
    TenantRoomSource tenant_source_;
};

namespace detail {
// Holds the LUN's storage for LunTiering, so that it is made before the rounds and goes after
// them.
struct LiveLunStorageHolder {
    LiveLunStorage storage;
};
}  // namespace detail

class LunTiering : private detail::LiveLunStorageHolder, public LunRounds {
public:
    // specs[i] describes tier image i (specs[i].id must be i).
    LunTiering(TierImages& images, ExtentGate& gate, ExtentMigrator& migrator,
               std::vector<TierSpec> specs, std::unique_ptr<PlacementPolicy> policy,
               LunRoundsOptions options)
        : LiveLunStorageHolder{LiveLunStorage(images, gate, migrator)},
          LunRounds(storage, std::move(specs), std::move(policy), std::move(options)) {}

    // Set before start(). The monitor's pools must be the TierImages' data pools, in their order.
    void set_resource_monitor(std::unique_ptr<ResourceMonitor> monitor) {
        storage.set_resource_monitor(std::move(monitor));
        sample_next_round();
    }
    void set_tenant_room_source(TenantRoomSource source) {
        storage.set_tenant_room_source(std::move(source));
        sample_next_round();
    }
    // LunRounds::pin, its refusal a Status.
    Status pin(ExtentIndex first, std::uint64_t count, TierId tier);
};

}  // namespace rbdtier::ceph
