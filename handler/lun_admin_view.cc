#include "handler/lun_admin_view.h"

#include <string>
#include <vector>

#include "handler/shared_settings.h"

namespace rbdtier {

GatewayLun admin_view(Lun& lun, const LunIoMetrics* metrics, const GatewayConfig& gateway) {
    GatewayLun g;
    const LunConfig& config = lun.config();
    g.name = config.spec();
    g.pool = config.pool;
    g.image = config.image;
    g.ns = config.ns;
    g.policy = std::string(to_string(config.policy));
    g.cluster = &lun.cluster();
    g.size_bytes = lun.size();
    if (!config.tenant.empty()) g.tenant = config.tenant;
    g.home_image = &lun.image();
    g.lock_probe = &lun.exclusive_lock().share().probe;
    g.io_metrics = metrics;
    g.initiators = &lun.initiators();
    g.attribution = lun.initiator_attribution();
    g.activity = &lun.initiator_activity();
    g.policy_lun = lun.policy_lun();
    TieredLun* tiered = lun.tiered_lun();
    if (tiered == nullptr) {
        // A plain LUN's settings are those it was opened with: they do not follow the cluster.
        const SharedSettings settings = apply_shared_settings(config, gateway, {}, {});
        g.settings = [report = settings.report] { return report; };
        g.settings_problems = [problems = settings.problems] { return problems; };
        return g;
    }
    g.images = &tiered->images();
    g.map = &tiered->map();
    g.migrator = &tiered->migrator();
    g.tiering = &tiered->tiering();
    g.watch = tiered->placement_watch();
    g.tiering_problem = [tiered] { return tiered->tiering_problem(); };
    g.horizon_s = tiered->settings().horizon_s;
    g.round_s = static_cast<double>(tiered->settings().round_us) / 1e6;
    g.in_force = [tiered] { return tiered->tiering_in_force(); };
    g.settings = [tiered] { return tiered->settings_report(); };
    g.settings_problems = [tiered] { return tiered->settings_problems(); };
    return g;
}

}  // namespace rbdtier
