#include "handler/shared_settings.h"

#include <algorithm>
#include <sstream>

namespace rbdtier {
namespace {

constexpr std::string_view kNotSettings[] = {"pin", "pins", "lun"};

std::string number_text(double d) {
    std::ostringstream out;
    out << d;
    return out.str();
}

std::string tiers_text(const std::vector<std::string>& tiers) {
    std::string out;
    for (const std::string& pool : tiers) out += (out.empty() ? "" : "+") + pool;
    return out;
}

std::string quota_text(const std::map<std::string, std::uint64_t>& quota) {
    std::string out;
    for (const auto& [pool, bytes] : quota)
        out += (out.empty() ? "" : "+") + pool + "=" + std::to_string(bytes);
    return out;
}

// The value a per-LUN setting has in `cfg`, as text.
std::string lun_value(const LunConfig& cfg, std::string_view name) {
    if (name == "policy") return std::string(to_string(cfg.policy));
    if (name == "horizon") return cfg.horizon_s ? std::to_string(*cfg.horizon_s) : "";
    if (name == "quota") return quota_text(cfg.quota);
    if (name == "tenant") return cfg.tenant;
    if (name == "tiers") return tiers_text(cfg.tiers);
    return {};
}

// Copies the per-LUN setting `name` from `from` to `to`.
void take_lun_setting(LunConfig& to, const LunConfig& from, std::string_view name) {
    if (name == "policy") to.policy = from.policy;
    if (name == "horizon") to.horizon_s = from.horizon_s;
    if (name == "quota") to.quota = from.quota;
    if (name == "tenant") to.tenant = from.tenant;
    if (name == "tiers") to.tiers = from.tiers;
}

// Parses `value` of a known per-LUN setting into a fresh LunConfig (so a cfgstring's quota= does
// not count as given twice); "" when valid.
std::string parse_lun_setting(std::string_view name, std::string_view value,
                              const std::vector<std::string>& tiers, LunConfig& parsed) {
    if (std::string why = apply_lun_option(name, value, parsed); !why.empty()) return why;
    if (name == "quota" && !tiers.empty()) {
        for (const auto& [pool, bytes] : parsed.quota) {
            (void)bytes;
            if (std::find(tiers.begin(), tiers.end(), pool) == tiers.end())
                return "quota names pool '" + pool + "', which is not in tiers= of the LUN";
        }
    }
    return {};
}

bool known_lun_setting(std::string_view name) {
    const auto& names = lun_setting_names();
    return std::find(names.begin(), names.end(), name) != names.end();
}

// Splits "tier.POOL.KEY" (POOL may hold dots: KEY is after the last one); false if malformed.
bool split_tier_key(std::string_view name, std::string& pool, std::string& key) {
    if (!name.starts_with(kTierSettingPrefix)) return false;
    name.remove_prefix(kTierSettingPrefix.size());
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
    pool = name.substr(0, dot);
    key = name.substr(dot + 1);
    return true;
}

// Applies one cluster-wide setting to `config`; "" when applied.
std::string apply_cluster_setting(GatewayConfig& config, std::string_view name,
                                  std::string_view value) {
    if (name.starts_with(kTierSettingPrefix)) {
        std::string pool, key;
        if (!split_tier_key(name, pool, key))
            return "'" + std::string(name) + "' is not tier.POOL.KEY";
        TierOverride tier = config.tiers.count(pool) ? config.tiers.at(pool) : TierOverride{};
        std::string why = apply_tier_setting(tier, key, value);
        if (!why.empty()) return why.rfind("unknown", 0) == 0 ? why : key + ": " + why;
        config.tiers[pool] = tier;
        return {};
    }
    const auto& names = cluster_setting_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string known;
        for (const auto& n : names) known += n + ", ";
        return "unknown cluster setting '" + std::string(name) + "' (known: " + known +
               "tier.POOL.KEY)";
    }
    GatewayConfig scratch = config;
    if (std::string why = apply_gateway_setting(scratch, name, value); !why.empty())
        return std::string(name) + ": " + why;
    config = std::move(scratch);
    return {};
}

}  // namespace

std::string_view to_string(SettingSource source) {
    switch (source) {
        case SettingSource::kGateway:
            return "rbdtier.conf";
        case SettingSource::kCluster:
            return "cluster";
        case SettingSource::kCfgstring:
            return "cfgstring";
        case SettingSource::kImage:
            return "image";
    }
    return "rbdtier.conf";
}

const std::vector<std::string>& lun_setting_names() {
    static const std::vector<std::string> names = {"policy", "horizon", "quota", "tenant", "tiers"};
    return names;
}

const std::vector<std::string>& cluster_setting_names() {
    static const std::vector<std::string> names = {"migration_bandwidth_mib_s", "horizon_s",
                                                   "round_s"};
    return names;
}

bool lun_metadata_not_setting(std::string_view name) {
    return std::find(std::begin(kNotSettings), std::end(kNotSettings), name) !=
           std::end(kNotSettings);
}

std::string lun_setting_problem(std::string_view name, std::string_view value,
                                const std::vector<std::string>& tiers) {
    if (!known_lun_setting(name)) {
        std::string known;
        for (const auto& n : lun_setting_names()) known += (known.empty() ? "" : ", ") + n;
        return "unknown setting '" + std::string(name) + "' of a LUN (known: " + known + ")";
    }
    LunConfig parsed;
    return parse_lun_setting(name, value, tiers, parsed);
}

std::vector<std::string> image_tiers(const std::map<std::string, std::string>& image_metadata,
                                     std::string& problem) {
    problem.clear();
    const auto it = image_metadata.find(std::string(kLunSettingPrefix) + "tiers");
    if (it == image_metadata.end()) return {};
    LunConfig parsed;
    if (std::string why = apply_lun_option("tiers", it->second, parsed); !why.empty()) {
        problem = "image metadata " + it->first + "='" + it->second + "': " + why;
        return {};
    }
    return parsed.tiers;
}

std::string cluster_setting_problem(std::string_view name, std::string_view value) {
    GatewayConfig scratch;
    return apply_cluster_setting(scratch, name, value);
}

SharedSettings apply_shared_settings(const LunConfig& cfgstring, const GatewayConfig& conf,
                                     const std::map<std::string, std::string>& image_metadata,
                                     const std::map<std::string, std::string>& cluster) {
    SharedSettings out;
    out.lun = cfgstring;
    out.gateway = conf;
    std::map<std::string, SettingSource> lun_source;
    for (const auto& name : lun_setting_names()) lun_source[name] = SettingSource::kCfgstring;

    const std::string image = cfgstring.spec();
    // tiers first: quota is checked against the tiers in effect.
    std::vector<std::pair<std::string, std::string>> ordered;
    const std::string tiers_key = std::string(kLunSettingPrefix) + "tiers";
    if (auto it = image_metadata.find(tiers_key); it != image_metadata.end())
        ordered.emplace_back(*it);
    for (const auto& entry : image_metadata)
        if (entry.first != tiers_key) ordered.emplace_back(entry);
    for (const auto& [key, value] : ordered) {
        if (!std::string_view(key).starts_with(kLunSettingPrefix)) continue;
        const std::string name = key.substr(kLunSettingPrefix.size());
        if (lun_metadata_not_setting(name)) continue;
        const std::string where = "image metadata " + key + "='" + value + "' of " + image;
        if (!known_lun_setting(name)) {
            out.problems.push_back(where + ": unknown setting " + key + " (ignored)");
            continue;
        }
        LunConfig parsed;
        if (std::string why = parse_lun_setting(name, value, out.lun.tiers, parsed); !why.empty()) {
            std::string fallback = lun_value(cfgstring, name);
            out.problems.push_back(where + ": " + why + "; using " +
                                   (fallback.empty() ? "none" : fallback) + " (cfgstring)");
            continue;
        }
        take_lun_setting(out.lun, parsed, name);
        lun_source[name] = SettingSource::kImage;
    }

    std::map<std::string, SettingSource> cluster_source;
    for (const auto& name : cluster_setting_names()) cluster_source[name] = SettingSource::kGateway;
    out.gateway = apply_cluster_settings(conf, cluster, out.problems);
    for (const auto& [key, value] : cluster)
        if (cluster_source.count(key) && cluster_setting_problem(key, value).empty())
            cluster_source[key] = SettingSource::kCluster;

    for (const auto& name : {"policy", "quota", "tenant"})
        out.report.push_back({name, lun_value(out.lun, name), lun_source[name]});
    if (out.lun.horizon_s) {
        out.report.push_back(
            {"horizon_s", std::to_string(*out.lun.horizon_s), lun_source["horizon"]});
    } else {
        out.report.push_back(
            {"horizon_s", number_text(out.gateway.horizon_s), cluster_source["horizon_s"]});
    }
    out.report.push_back({"round_s", number_text(out.gateway.round_s), cluster_source["round_s"]});
    out.report.push_back({"migration_bandwidth_mib_s",
                          number_text(out.gateway.migration_bandwidth_mib_s),
                          cluster_source["migration_bandwidth_mib_s"]});
    return out;
}

GatewayConfig apply_cluster_settings(const GatewayConfig& conf,
                                     const std::map<std::string, std::string>& cluster,
                                     std::vector<std::string>& problems) {
    GatewayConfig out = conf;
    for (const auto& [key, value] : cluster) {
        if (std::string why = apply_cluster_setting(out, key, value); !why.empty()) {
            std::string fallback = "the rbdtier.conf value";
            if (key == "horizon_s") fallback = number_text(conf.horizon_s) + " (rbdtier.conf)";
            if (key == "round_s") fallback = number_text(conf.round_s) + " (rbdtier.conf)";
            if (key == "migration_bandwidth_mib_s")
                fallback = number_text(conf.migration_bandwidth_mib_s) + " (rbdtier.conf)";
            problems.push_back(std::string(kClusterSettingsObject) + " " + key + "='" + value +
                               "': " + why + "; using " + fallback);
        }
    }
    return out;
}

std::vector<std::string> local_tiering_keys(const GatewayConfig& conf) {
    const GatewayConfig defaults;
    std::vector<std::string> keys;
    if (conf.migration_bandwidth_mib_s != defaults.migration_bandwidth_mib_s)
        keys.emplace_back("migration_bandwidth_mib_s");
    if (conf.horizon_s != defaults.horizon_s) keys.emplace_back("horizon_s");
    if (conf.round_s != defaults.round_s) keys.emplace_back("round_s");
    for (const auto& [pool, o] : conf.tiers) {
        (void)o;
        keys.push_back("[tier " + pool + "]");
    }
    return keys;
}

}  // namespace rbdtier
