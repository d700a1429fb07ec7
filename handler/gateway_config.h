// GatewayConfig: the gateway-wide settings of /etc/ceph/rbdtier.conf.
//
// The file is INI-like: `key = value` lines, `#` or `;` starts a comment (whole line or after
// whitespace), blank lines are ignored, and `[tier POOL]` opens a section of overrides for one
// tier (device_class, site, latency_ms, capacity_bytes, cost_per_gib). Keys outside a section are
// gateway settings (see conf/rbdtier.conf for each one and its default). Unknown keys, bad
// values, duplicate keys and sections are refused: parsing stops at the first problem and reports
// the file, the line number and the reason. Pure: no I/O except load_gateway_config().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rbdtier {

struct TierOverride {
    std::optional<std::string> device_class;
    std::optional<std::string> site;
    std::optional<double> latency_ms;
    std::optional<std::uint64_t> capacity_bytes;
    std::optional<double> cost_per_gib;

    bool operator==(const TierOverride&) const = default;
};

struct GatewayConfig {
    static constexpr const char* kDefaultPath = "/etc/ceph/rbdtier.conf";

    std::string site = "site-a";
    std::string admin_socket = "/var/run/ceph/rbdtier.asok";
    std::size_t admin_max_request_bytes = 64 * 1024;
    std::uint32_t admin_read_timeout_ms = 5000;
    std::size_t admin_max_sessions = 64;  // beyond it the oldest connection makes room
    std::string metrics_address = "127.0.0.1";
    std::uint16_t metrics_port = 10031;  // 0 disables the metrics endpoint
    std::size_t metrics_max_sessions = 64;
    double migration_bandwidth_mib_s = 200;
    double horizon_s = 120;
    double round_s = 1;
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
// Reads and parses `path`. A missing file is refused too (the caller decides on defaults).
ConfigOutcome load_gateway_config(const std::string& path);

}  // namespace rbdtier
