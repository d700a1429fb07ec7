// LunConfig: the parsed tcmu cfgstring of one rbdtier LUN. Pure: no Ceph, no tcmu.
//
// Grammar (superset of upstream handler_rbd's):
//   [rbdtier/]pool[/namespace]/image[@snap][;key=value]...
//   keys: osd_op_timeout=SECONDS (1..86400)  conf=/abs/path/ceph.conf  id=CLIENT_ID
//         tenant=NAME  tenant_pool=POOL  tiers=POOL[,POOL...]  policy=none|reactive|predictive
//         quota=POOL:SIZE[,POOL:SIZE...]  (pools among tiers=; SIZE with K/M/G/T, from 1 byte
//                                          to 4194304T = 2^62 bytes)
//         horizon=SECONDS (1..86400; default: rbdtier.conf horizon_s)
// tcmu-runner prepends the subtype ("rbdtier/") to what the user typed before calling
// check_config and open; the prefix is optional here. parse_lun_config() either returns a
// LunConfig or a one-line reason a person can act on; it never throws.
//
// handler_rbd's form (the handler registered as subtype "rbd", gateway_config.h), as targetcli
// user:rbd and ceph-iscsi write it:
//   pool/image[;key=value]...
//   keys: osd_op_timeout=SECONDS (0..86400; 0 = no timeout, as librados takes it)
//         conf=/abs/path/ceph.conf  id=CLIENT_ID (with or without "client.")
// parse_rbd_cfgstring() takes what the user typed; parse_rbd_open_cfgstring() what check_config
// and open are handed ("rbd/" + what the user typed, as targetcli and ceph-iscsi write it: the
// prefix is required and removed, so a pool named "rbd" is never mistaken for it). An RBD
// namespace, a snapshot, the tiering options and unknown options are refused with the reason
// (handler_rbd ignores unknown options; a typo here would otherwise go unnoticed). The LUN is
// tiered only when its image metadata says so (handler/shared_settings.h: rbdtier.tiers).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rbdtier {

enum class TierPolicy { kNone, kReactive, kPredictive };

std::string_view to_string(TierPolicy policy);

struct LunConfig {
    std::string pool;
    std::string ns;  // RBD namespace of the image; "" = the pool's default one
    std::string image;
    std::optional<unsigned> osd_op_timeout_s;  // rados_osd_op_timeout (0: none, rbd form only)
    std::string conf_path;                     // empty = Ceph's default search
    std::string client_id;                     // without "client."; empty = default
    std::string tenant;                        // empty = the default tenant
    std::string tenant_pool;         // where the tenants are; empty = the first of `tiers`
    std::vector<std::string> tiers;  // pools this LUN may use; empty = not tiered
    TierPolicy policy = TierPolicy::kNone;
    std::optional<unsigned> horizon_s;  // how far ahead the policy looks; unset: rbdtier.conf's
    std::map<std::string, std::uint64_t> quota;  // pool -> most bytes of this LUN it may hold

    std::string spec() const { return pool + "/" + (ns.empty() ? "" : ns + "/") + image; }
};

struct [[nodiscard]] LunConfigParse {
    std::optional<LunConfig> config;  // set on success
    std::string error;                // set on failure
};

LunConfigParse parse_lun_config(std::string_view cfgstring);
LunConfigParse parse_rbd_cfgstring(std::string_view cfgstring);
LunConfigParse parse_rbd_open_cfgstring(std::string_view cfgstring);

// Applies one option (a key of the grammar above, without its '=') to `cfg` as the cfgstring
// parser does; returns why `value` is refused ("" when applied). The one parser of each option:
// the settings kept in the cluster (handler/shared_settings.h) are checked with it too. The
// check that quota= names pools of tiers= is the caller's (it needs both).
std::string apply_lun_option(std::string_view key, std::string_view value, LunConfig& cfg);

// The cfg_desc text shown by targetcli, of each form.
extern const char kLunConfigHelp[];
extern const char kRbdConfigHelp[];

}  // namespace rbdtier
