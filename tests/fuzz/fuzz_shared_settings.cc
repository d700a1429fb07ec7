// Fuzz target: the settings a gateway reads from RADOS (apply_shared_settings): any bytes in the
// home image's rbdtier.* metadata and in the cluster object. Input: lines "KEY=VALUE"; a line
// starting with '@' goes to the cluster object, others to the image metadata (prefixed
// "rbdtier."). Whatever they hold, the result must be settings the gateway could have parsed
// itself (horizon, round and budget in their ranges, quota pools among the tiers), and every
// entry not used must have a problem line. rbdtier.tiers, when valid, gives the tiers that quota
// must name.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "handler/shared_settings.h"
#include "handler/tiering_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::map<std::string, std::string> metadata, cluster;
    while (!in.empty()) {
        const auto nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        const bool to_cluster = !line.empty() && line.front() == '@';
        if (to_cluster) line.remove_prefix(1);
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string key(line.substr(0, eq)), value(line.substr(eq + 1));
        if (to_cluster)
            cluster[key] = value;
        else
            metadata["rbdtier." + key] = value;
    }
    auto base = rbdtier::parse_lun_config("hdd-a/img;tiers=hdd-a+nvme-a;horizon=30");
    if (!base.config) std::abort();
    const rbdtier::SharedSettings s =
        rbdtier::apply_shared_settings(*base.config, rbdtier::GatewayConfig{}, metadata, cluster);
    const rbdtier::TieringSettings t = rbdtier::resolve_tiering_settings(s.lun, s.gateway);
    if (!(t.horizon_s > 0 && t.horizon_s <= 86400)) std::abort();
    if (t.round_us == 0 || !(s.gateway.round_s > 0 && s.gateway.round_s <= 3600)) std::abort();
    if (!(s.gateway.migration_bandwidth_mib_s > 0) ||
        !std::isfinite(s.gateway.migration_bandwidth_mib_s))
        std::abort();
    // The tiers in effect: the metadata's rbdtier.tiers when valid, else the cfgstring's.
    std::string tiers_problem;
    std::vector<std::string> tiers = rbdtier::image_tiers(metadata, tiers_problem);
    if (tiers.empty()) tiers = base.config->tiers;
    if (s.lun.tiers != tiers) std::abort();
    for (const auto& [pool, bytes] : s.lun.quota)
        if (std::find(tiers.begin(), tiers.end(), pool) == tiers.end() || bytes == 0) std::abort();
    std::size_t refused = 0;
    for (const auto& [k, v] : metadata) {
        const std::string name = k.substr(8);
        if (rbdtier::lun_metadata_not_setting(name)) continue;
        if (!rbdtier::lun_setting_problem(name, v, tiers).empty()) ++refused;
    }
    for (const auto& [k, v] : cluster)
        if (!rbdtier::cluster_setting_problem(k, v).empty()) ++refused;
    if (s.problems.size() != refused) std::abort();
    return 0;
}
