#include "handler/lun_builder.h"

#include <cerrno>
#include <string>
#include <utility>

#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_lifecycle.h"
#include "common/log.h"
#include "handler/shared_settings.h"
#include "handler/tiered_lun.h"

namespace rbdtier {

namespace {

// Logs what the LUN serves: its size and objects, and its tiering (from what the cluster and
// its config set at open).
void log_open(Lun& lun) {
    const LunConfig& config = lun.config();
    const std::uint64_t object_size = lun.image_info().object_size;
    TieredLun* tiered = lun.tiered_lun();
    if (tiered == nullptr) {
        RBDTIER_LOG_INFO(config.spec(), "opened: " << lun.size() << " bytes, " << object_size
                                                   << "-byte objects, no tiers");
        return;
    }
    std::string tiers;
    const ceph::TierImages& images = tiered->images();
    for (std::size_t i = 0; i < images.count(); ++i) {
        tiers += (i == 0 ? "" : ", ") + images.data_pool(i);
        if (i == 0)
            tiers += images.data_pool(0) == images.pool(0)
                         ? " (home)"
                         : " (home, header in " + images.pool(0) + ")";
    }
    const TieringSettings& settings = tiered->settings();
    RBDTIER_LOG_INFO(
        config.spec(),
        "opened: " << lun.size() << " bytes, " << object_size << "-byte objects, tiers " << tiers
                   << "; policy " << to_string(config.policy) << "; tenant "
                   << (config.tenant.empty() ? "none" : config.tenant) << "; horizon "
                   << settings.horizon_s << " s, round "
                   << static_cast<double>(settings.round_us) / 1e6 << " s, migration budget "
                   << settings.bandwidth_bytes_per_s / (1 << 20) << " MiB/s");
}

}  // namespace

ceph::Status take_image_tiers(LunConfig& config,
                              const std::map<std::string, std::string>& metadata) {
    if (!config.tiers.empty()) return ceph::Status::ok();
    std::string problem;
    std::vector<std::string> tiers = image_tiers(metadata, problem);
    if (!problem.empty())
        return ceph::Status::error(-EINVAL, problem + " (correct it with rbd image-meta set)");
    config.tiers = std::move(tiers);
    return ceph::Status::ok();
}

ceph::Result<std::unique_ptr<Lun>> build_lun(
    const LunConfig& config, LunGeometry geometry, const TcmuHost& host,
    std::shared_ptr<const GatewayConfig> gateway,
    std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
    std::shared_ptr<MigrationExecutor> executor,
    std::shared_ptr<const ceph::Cluster> header_reader) {
    ceph::ClusterOptions options;
    options.id = config.client_id;
    options.conf_path = config.conf_path;
    options.conf.emplace_back("rbd_cache", "false");
    if (config.osd_op_timeout_s) {
        options.conf.emplace_back("rados_osd_op_timeout", std::to_string(*config.osd_op_timeout_s));
    }
    auto cluster = ceph::Cluster::connect(options);
    if (!cluster) return cluster.status();
    auto io = ceph::IoContext::open(*cluster, config.pool, config.ns);
    if (!io) return io.status();
    auto image = ceph::Image::open(*io, config.image);
    if (!image) return image.status();
    auto info = image->stat();
    if (!info) return info.status();
    if (info->size < geometry.size_bytes) {
        return ceph::Status::error(
            -EINVAL, "image " + config.spec() + " has " + std::to_string(info->size) +
                         " bytes, fewer than the LUN's " + std::to_string(geometry.size_bytes) +
                         " (grow it with rbd resize)");
    }
    // The image's rbdtier.* metadata, read once here: whether the LUN is tiered (rbdtier.tiers,
    // unless the cfgstring names tiers) and, for a tiered LUN, its settings.
    LunConfig opened = config;
    const auto metadata = ceph::image_metadata(*image, std::string(kLunSettingPrefix));
    if (opened.tiers.empty()) {
        if (!metadata) return metadata.status().with_context("read the image's rbdtier.tiers");
        if (ceph::Status s = take_image_tiers(opened, metadata.value()); !s) return s;
    }
    if (opened.tiers.empty()) {
        // Served from the home image alone: refused while a placement map puts extents elsewhere.
        const ceph::HomeImageRef home{opened.pool, opened.ns, opened.image};
        if (ceph::Status s = ceph::check_home_holds_all(*io, *image, home); !s) return s;
    }
    auto home = std::make_unique<LunHome>(std::move(cluster).value(), std::move(io).value(),
                                          std::move(image).value(), info.value(), opened.spec());
    std::unique_ptr<TieredLun> tiered;
    if (!opened.tiers.empty()) {
        const TieredLun::Home tiered_home{home->cluster,
                                          home->io,
                                          home->image,
                                          geometry.size_bytes,
                                          policy_lun_id(name_id(opened.spec().c_str())),
                                          home->lock.share()};
        // Without the gateway's: the built-in defaults, one copy for the process.
        static const auto defaults = std::make_shared<const GatewayConfig>();
        auto made = TieredLun::open(tiered_home, opened, gateway ? std::move(gateway) : defaults,
                                    std::move(cluster_object), std::move(executor), metadata,
                                    std::move(header_reader));
        if (!made) return made.status().with_context("enable tiering of " + opened.spec());
        tiered = std::move(made).value();
    }
    auto lun = std::make_unique<Lun>(std::move(opened), host, std::move(home), geometry.size_bytes,
                                     std::move(tiered));
    log_open(*lun);
    return lun;
}

}  // namespace rbdtier
