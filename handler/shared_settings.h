// SharedSettings: the tiering settings kept in the cluster, so that every gateway serving a LUN
// runs it alike (the owner's behaviour does not change at failover). Pure: the caller reads
// RADOS (ceph/settings_store.h) and hands the raw key/value pairs in.
//
// Two places, both plain text values, readable and writable with Ceph's own tools:
//   per LUN:      image metadata of the LUN's home image, key "rbdtier.<name>"
//                 (`rbd image-meta set POOL/IMAGE rbdtier.horizon 60`), names lun_setting_names():
//                 policy, horizon, quota, tenant, tiers; each value is written as the cfgstring
//                 option of the same name (policy=..., horizon=SECONDS, quota=POOL=SIZE[+...],
//                 tenant=NAME, tiers=POOL[+POOL...]) and checked by the same parser
//                 (apply_lun_option). tiers decides whether the LUN is tiered at all, so it is
//                 read when the LUN opens (image_tiers(), by the handler before the LUN is
//                 opened) and a change takes effect at the next open; it is how a LUN served as
//                 user:rbd (handler_rbd's cfgstring, which has no tiering options) is tiered.
//   cluster-wide: omap of the object kClusterSettingsObject ("rbdtier.config") in the tenant pool
//                 (`rados -p POOL listomapvals rbdtier.config`), names cluster_setting_names():
//                 migration_bandwidth_mib_s, horizon_s, round_s, and tier.<POOL>.<key> for the
//                 keys of a [tier POOL] section; each checked by the rbdtier.conf parser
//                 (apply_gateway_setting / apply_tier_setting) with the same ranges.
//
// Precedence, highest first (the one place it is decided; README "Settings" says the same):
//   LUN image metadata > LUN cfgstring > cluster object > rbdtier.conf > built-in default.
// The per-LUN metadata beats the cfgstring because the cfgstring is per gateway (each gateway's
// target config holds its own copy), while the metadata is one copy every gateway reads. The
// cluster object beats rbdtier.conf for the same reason; what rbdtier.conf still says of a
// cluster-wide key is this gateway's default where the cluster says nothing (see
// local_tiering_keys()).
//
// A value in RADOS that its parser refuses is not used: the setting falls back to the next
// source down, and problems gets one line naming where the value is, the value, why it is
// refused and what is used instead. Unknown "rbdtier.*" metadata keys and unknown keys of the
// cluster object are reported the same way (ignored). Never throws on any input.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "handler/gateway_config.h"
#include "handler/lun_config.h"

namespace rbdtier {

inline constexpr std::string_view kLunSettingPrefix = "rbdtier.";
// A running LUN applies a change at once when it is notified (ceph/settings_watch.h: a settings
// notify of its placement map object, which `rbdtier config set/rm --lun` sends, or of the
// cluster object); a change that notified nobody (`rbd image-meta set` or `rados setomapval` by
// hand) or was made while a watch was down is found within kSharedSettingsPeriod (the LUN asks
// its header's and the cluster object's versions that often and re-reads when one moved). A
// gateway's copy of the cluster object serves its LUNs that long too, unless a notify came
// after it was read.
inline constexpr std::chrono::seconds kSharedSettingsPeriod{10};
inline constexpr const char* kClusterSettingsObject = "rbdtier.config";
// Cluster-wide keys of one tier: "tier.<POOL>.<key>" (key of a [tier POOL] section).
inline constexpr std::string_view kTierSettingPrefix = "tier.";

// Where a setting in effect comes from.
enum class SettingSource { kGateway, kCluster, kCfgstring, kImage };
// "rbdtier.conf" (the file or its built-in default), "cluster", "cfgstring", "image".
std::string_view to_string(SettingSource source);

// Whether `name` (without "rbdtier.") is a key of a LUN's home image metadata that is not a
// setting: the home pin (pin, ceph/lun_lifecycle.h), the extent pins (pins,
// ceph/extent_pins.h), the tier image tag (lun, ceph/lun_identity.h). Settings leave them
// alone and do not report them.
bool lun_metadata_not_setting(std::string_view name);

// The per-LUN setting names (without "rbdtier."), and the cluster-wide ones (without tier.*).
const std::vector<std::string>& lun_setting_names();
const std::vector<std::string>& cluster_setting_names();

// Why `value` is refused for the per-LUN setting `name` ("" when valid). `tiers`, when not
// empty, are the LUN's tiers= pools, which quota must name.
std::string lun_setting_problem(std::string_view name, std::string_view value,
                                const std::vector<std::string>& tiers = {});
// The pools the image metadata's rbdtier.tiers names, checked as the cfgstring's tiers= is:
// empty when the key is absent; when its value is refused, empty and `problem` says why.
std::vector<std::string> image_tiers(const std::map<std::string, std::string>& image_metadata,
                                     std::string& problem);

// Why `value` is refused for the cluster-wide setting `name` ("" when valid).
std::string cluster_setting_problem(std::string_view name, std::string_view value);

// One setting as a LUN runs with it.
struct EffectiveSetting {
    std::string name;   // a per-LUN or cluster-wide name
    std::string value;  // as text ("" for an unset quota or tenant)
    SettingSource source = SettingSource::kGateway;
    bool operator==(const EffectiveSetting&) const = default;
};

struct SharedSettings {
    LunConfig lun;                         // the cfgstring with the image metadata applied
    GatewayConfig gateway;                 // rbdtier.conf with the cluster object applied
    std::vector<std::string> problems;     // one line per value not used, with the fallback
    std::vector<EffectiveSetting> report;  // policy, horizon_s, quota, tenant,
                                           // migration_bandwidth_mib_s, round_s
};

// image_metadata: the home image's metadata (full keys, "rbdtier.policy"; other keys are
// ignored); cluster: the cluster object's omap. `cfgstring` is the LUN's parsed cfgstring and
// `conf` this gateway's rbdtier.conf.
SharedSettings apply_shared_settings(const LunConfig& cfgstring, const GatewayConfig& conf,
                                     const std::map<std::string, std::string>& image_metadata,
                                     const std::map<std::string, std::string>& cluster);

// `conf` with what the cluster object says applied (the cluster-wide part of
// apply_shared_settings); each value refused adds a line to `problems` and is not used.
GatewayConfig apply_cluster_settings(const GatewayConfig& conf,
                                     const std::map<std::string, std::string>& cluster,
                                     std::vector<std::string>& problems);

// The cluster-wide keys that `conf` sets to something other than the built-in default (an
// admin upgrading from a version that kept them in rbdtier.conf): the gateway warns that they
// are now only this gateway's default and names `rbdtier config set` as their place.
std::vector<std::string> local_tiering_keys(const GatewayConfig& conf);

}  // namespace rbdtier
