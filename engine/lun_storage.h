// LunStorage: what a LUN's rounds (engine/lun_rounds.h) need of the storage that holds the LUN's
// extents, and all they do to it. The live gateway implements it over the LUN's tier images,
// extent gate, migrator, resource monitor and tenant quota (ceph/lun_tiering.h); engine unit
// tests implement it in memory.
//
// Tier ids are the storage's tier indexes (0 = home); extents are numbered from 0. The rounds
// call it from one thread at a time (a round, or a reader holding the rounds' lock); tier(),
// extents(), placement_epoch() and owns_extents() may also be called while migrate() runs.
// placement_epoch() grows whenever the routing of the LUN's extents changes by another hand than
// migrate() (a map reloaded, another gateway's moves followed, a resize): the rounds recount the
// extents per tier then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/io_event.h"
#include "engine/migration_record.h"
#include "engine/resource_sample.h"
#include "engine/tenant.h"

namespace rbdtier {

// What the storage sampled of the LUN's tier pools and tenant.
struct ResourceReading {
    std::optional<ResourceSample> pools;  // per tier id; nullopt: the pools are not monitored
    std::optional<TenantRoom> tenant;     // nullopt: no tenant source, or it failed
    std::string tenant_problem;           // why reading the tenant failed (empty: it did not)
};

class LunStorage {
public:
    virtual ~LunStorage() = default;

    // The LUN's name, for log lines.
    virtual const std::string& lun_name() const = 0;
    // The bytes of one extent.
    virtual std::uint64_t extent_bytes() const = 0;
    // Tier `tier`'s name (its pool), for log lines.
    virtual const std::string& tier_name(TierId tier) const = 0;
    // The LUN's extents now (a resize grows them).
    virtual std::uint64_t extents() const = 0;
    // The tier `extent` (< extents()) is routed to now.
    virtual TierId tier(ExtentIndex extent) const = 0;
    virtual std::uint64_t placement_epoch() const = 0;
    // Whether this gateway may move the LUN's extents now, as far as it knows without asking the
    // cluster (cheap: asked before every migration). False once it gave the LUN up or found it
    // taken: a migration would be refused, so the rounds do not try it.
    virtual bool owns_extents() const = 0;
    // Moves `extent` to tier `to`; true once it is there. `record` says what the attempt did
    // ("moved", or what failed); the storage reports its own failures.
    virtual bool migrate(ExtentIndex extent, TierId to, MigrationRecord& record) = 0;
    // Samples the tier pools' usage and the tenant's room (a round, every resource interval);
    // nullopt: the storage samples neither.
    virtual std::optional<ResourceReading> sample_resources() = 0;
};

}  // namespace rbdtier
