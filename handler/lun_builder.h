// build_lun(): opens what a LUN is made of and makes its Lun (handler/lun.h), as a tcmu open
// callout (or a test) asks: the LUN's own RADOS client, home pool and image (a LunHome) and, for
// a tiered LUN, its TieredLun (handler/tiered_lun.h: tier images, map, watches, settings,
// rounds), then logs the LUN opened (size, tiers, policy, tenant, horizon, round, budget); the
// Lun logs its close. take_image_tiers() is the rule by which an image's metadata makes a LUN
// tiered, which check_config follows too.
//
// Thread-safety: build_lun() may run on any thread, for several LUNs at once; what it is given
// (the gateway's shared parts) must outlive the Lun it makes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ceph/cluster.h"
#include "ceph/settings_store.h"
#include "ceph/status.h"
#include "engine/migration_executor.h"
#include "handler/gateway_config.h"
#include "handler/lun.h"
#include "handler/lun_commands.h"
#include "handler/lun_config.h"

namespace rbdtier {

// With no tiers in `config`, takes those the home image's metadata names (rbdtier.tiers, in
// `metadata`, the image's "rbdtier.*" keys), which make the LUN tiered; -EINVAL with the reason
// (and the remedy) when the value there is refused. Tiers in `config` are left as they are.
ceph::Status take_image_tiers(LunConfig& config,
                              const std::map<std::string, std::string>& metadata);

struct LunGeometry {
    std::uint64_t size_bytes = 0;  // block_size * num_lbas
    std::uint32_t block_size = 512;
};

// Connects (one RADOS client, the LUN's own for as long as it is open), opens pool and image,
// checks the image is at least the LUN's size, and reads the image's "rbdtier.*" metadata
// once: when the cfgstring names no tiers, the metadata's rbdtier.tiers does
// (take_image_tiers: a value refused there fails the open with the reason, and so does a
// failed read); a LUN without tiers is refused while its placement map puts extents outside
// the home image (ceph::check_home_holds_all, through the LUN's own pool context). A LUN with
// tiers starts its tiering with the settings the cluster, its config and the gateway's give
// (handler/shared_settings.h, then resolve_tiering_settings; `gateway`: rbdtier.conf as read,
// null: the built-in defaults): the home image's "rbdtier.*" metadata and the cluster object
// in the tenant pool are read first; a value refused there is logged (warning) and falls back,
// and so does a failed read (the LUN opens anyway).
// While open, a change of either is applied at once when the LUN is notified of it (on its
// map object, a notify of the cluster object: ceph/settings_watch.h, on the process's watch
// hub), else within kSharedSettingsPeriod (by their versions): a new policy, horizon
// or round takes effect at once (a new policy object; what the old one learned is dropped), a
// new quota, tenant or tier override when the LUN is opened again (logged), a new
// cluster-wide budget through TieredLun::set_cluster_settings_listener(). The cluster object is
// read through `cluster_object` when given (the gateway's copy, shared by its LUNs: one read
// per period and pool for all of them), else by the LUN itself. A tiered LUN's migrations are
// carried out through `executor` when given (the gateway's, shared by its tiered LUNs, which
// ranks them with theirs), else through one of its own over a budget of the gateway config's
// bandwidth. A tiered LUN's tier images that its placement map does not use are checked at
// open from their header objects, read through `header_reader` when given (a client of the
// same cluster configuration that the process keeps, its probe client, which also measures the
// tiers' latency and samples their pools' usage for the LUN's rounds: the LUN's own client then
// opens no session to those tiers' OSDs until it uses them), else through the LUN's own.
ceph::Result<std::unique_ptr<Lun>> build_lun(
    const LunConfig& config, LunGeometry geometry, const TcmuHost& host,
    std::shared_ptr<const GatewayConfig> gateway = nullptr,
    std::shared_ptr<ceph::SharedObjectSettings> cluster_object = nullptr,
    std::shared_ptr<MigrationExecutor> executor = nullptr,
    std::shared_ptr<const ceph::Cluster> header_reader = nullptr);

}  // namespace rbdtier
