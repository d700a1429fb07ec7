// GatewayConfig: the gateway-wide settings of /etc/ceph/rbdtier.conf.
//
// The file is INI-like: `key = value` lines, `#` or `;` starts a comment (whole line or after
// whitespace), blank lines are ignored, and `[tier POOL]` opens a section of overrides for one
// tier (device_class, site, latency_ms, capacity_bytes, cost_per_gib). Keys outside a section are
// gateway settings (see conf/rbdtier.conf for each one and its default). Unknown keys, bad
// values, duplicate keys and sections are refused: parsing stops at the first problem and reports
// the file, the line number and the reason. Pure: no I/O except load_gateway_config().
// Every number has a range (GatewayLimits, also in conf/rbdtier.conf); a value outside it, a
// value that is not a number, NaN or infinity is refused with the key and the range, e.g.
// "rbdtier.conf:3: horizon_s: '1e9' is out of range: must be greater than 0 and at most 86400".
//
// handler_subtype (rbdtier | rbd) is read once, when tcmu-runner loads the handler: it is the
// backstore subtype the handler registers as. "rbd" makes it a drop-in for upstream handler_rbd
// (targetcli user:rbd, ceph-iscsi/gwcli), reading handler_rbd's cfgstring (handler/lun_config.h);
// handler_rbd.so must then be out of tcmu-runner's handler directory (README "ceph-iscsi").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

// The range of each numeric setting of rbdtier.conf.
struct GatewayLimits {
    struct Whole {
        std::uint64_t min, max;
    };
    static constexpr Whole kAdminRequestBytes{1024, 16u << 20};
    static constexpr Whole kAdminReadTimeoutMs{1, 3'600'000};
    static constexpr Whole kMaxSessions{1, 4096};  // admin_ and metrics_max_sessions
    static constexpr Whole kMetricsPort{0, 65535};
    static constexpr Whole kMaxTrackedExtents{1024, 1ull << 32};
    // Greater than 0 and at most:
    static constexpr double kMaxBandwidthMibS = 1 << 20;  // migration_bandwidth_mib_s: 1 TiB/s
    static constexpr double kMaxHorizonS = 86400;         // horizon_s: a day, as horizon=
    static constexpr double kMaxRoundS = 3600;            // round_s
    // [tier POOL]: at least 0 and at most:
    static constexpr double kMaxLatencyMs = 3'600'000;              // latency_ms: an hour
    static constexpr std::uint64_t kMaxCapacityBytes = 1ull << 62;  // capacity_bytes: 4 EiB
    static constexpr double kMaxCostPerGib = 1e9;                   // cost_per_gib
};

// The backstore subtype the handler registers as, and so the cfgstring form it reads.
enum class HandlerSubtype {
    kRbdtier,  // user:rbdtier, the rbdtier cfgstring (tiering options in it)
    kRbd,      // user:rbd in place of handler_rbd, handler_rbd's cfgstring (tiering per image)
};
// "rbdtier" or "rbd": the subtype as tcmu-runner and targetcli name it.
const char* to_string(HandlerSubtype subtype);

struct GatewayConfig {
    static constexpr const char* kDefaultPath = "/etc/ceph/rbdtier.conf";

    HandlerSubtype handler_subtype = HandlerSubtype::kRbdtier;

    std::string site = "site-a";
    std::string admin_socket = "/var/run/ceph/rbdtier.asok";
    std::string admin_socket_group;  // given access to the socket (mode 0660); empty: owner only
    std::size_t admin_max_request_bytes = 64 * 1024;
    std::uint32_t admin_read_timeout_ms = 5000;
    std::size_t admin_max_sessions = 64;  // beyond it the oldest connection makes room
    std::string metrics_address = "127.0.0.1";
    std::uint16_t metrics_port = 10031;  // 0 disables the metrics endpoint
    std::size_t metrics_max_sessions = 64;
    double migration_bandwidth_mib_s = 200;
    double horizon_s = 120;
    double round_s = 1;
    // Extents the engine of one LUN profiles at most (policy predictive); past it, the LUN's
    // alerts and the log say so.
    std::uint64_t max_tracked_extents = kDefaultMaxTrackedExtents;
    std::string tenant_pool;                    // empty: the first tier pool
    std::map<std::string, TierOverride> tiers;  // by pool

    bool operator==(const GatewayConfig&) const = default;
};

// A config, or why there is none ("rbdtier.conf:12: unknown key 'sitee'").
struct ConfigOutcome {
    std::optional<GatewayConfig> config;
    std::string file;
    int line = 0;  // 0 when the problem is not on a line (file unreadable)
    std::string reason;

    bool ok() const { return config.has_value(); }
    std::string message() const;
};

ConfigOutcome parse_gateway_config(std::string_view text, const std::string& file);

// Applies one `key = value` of the file's gateway part (outside a section) or of a [tier POOL]
// section to `config` / `tier` as the file parser does; returns why it is refused ("" when
// applied): "unknown key '...'", or the value's problem with the range. The one parser of each
// key: the settings kept in the cluster (handler/shared_settings.h) are checked with it too.
std::string apply_gateway_setting(GatewayConfig& config, std::string_view key,
                                  std::string_view value);
std::string apply_tier_setting(TierOverride& tier, std::string_view key, std::string_view value);
// Reads and parses `path`. A missing file is refused too (the caller decides on defaults).
ConfigOutcome load_gateway_config(const std::string& path);

}  // namespace rbdtier
