#include "handler/gateway_config.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace rbdtier {
namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

// Drops a comment: '#' or ';' at the start or after whitespace.
std::string_view strip_comment(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if ((line[i] == '#' || line[i] == ';') &&
            (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return line.substr(0, i);
    }
    return line;
}

// Each parser returns an empty string on success, else the reason; a reason for a value out of
// range gives the range.

// A bound as text: whole numbers in full ("86400", "1000000000"), others shortest ("0.5").
std::string bound_text(double d) {
    if (d == std::floor(d) && std::fabs(d) < 1e18) return std::to_string(static_cast<long long>(d));
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
    return ec == std::errc() ? std::string(buf, end) : std::to_string(d);
}

// A finite number in [min, max], or in (min, max] when min_exclusive.
std::string parse_double(std::string_view v, double& out, double min, bool min_exclusive,
                         double max) {
    const std::string range = std::string(min_exclusive ? "greater than " : "at least ") +
                              bound_text(min) + " and at most " + bound_text(max);
    double d = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if ((ec != std::errc() && ec != std::errc::result_out_of_range) || p != v.data() + v.size() ||
        std::isnan(d))
        return "'" + std::string(v) + "' is not a number (must be " + range + ")";
    if (ec == std::errc::result_out_of_range || !std::isfinite(d) ||
        (min_exclusive ? d <= min : d < min) || d > max)
        return "'" + std::string(v) + "' is out of range: must be " + range;
    out = d;
    return {};
}

// A whole number in [min, max].
std::string parse_uint(std::string_view v, std::uint64_t& out, std::uint64_t min,
                       std::uint64_t max) {
    std::uint64_t u = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), u);
    const std::string range = "from " + std::to_string(min) + " to " + std::to_string(max);
    const bool whole = p == v.data() + v.size() && !v.empty();
    if ((ec == std::errc::result_out_of_range && whole) ||
        (ec == std::errc() && whole && (u < min || u > max)))
        return "'" + std::string(v) + "' is out of range: must be " + range;
    if (ec != std::errc() || !whole)
        return "'" + std::string(v) + "' is not a non-negative integer (must be " + range + ")";
    out = u;
    return {};
}

std::string parse_word(std::string_view v, std::string& out) {
    if (v.empty()) return "empty value";
    if (v.find_first_of(" \t") != std::string_view::npos)
        return "'" + std::string(v) + "' contains whitespace";
    out = std::string(v);
    return {};
}

std::string gateway_key(GatewayConfig& c, std::string_view key, std::string_view v) {
    std::uint64_t u = 0;
    std::string r;
    if (key == "handler_subtype") {
        if (v == "rbdtier") {
            c.handler_subtype = HandlerSubtype::kRbdtier;
        } else if (v == "rbd") {
            c.handler_subtype = HandlerSubtype::kRbd;
        } else {
            return "'" + std::string(v) +
                   "' is not a handler subtype (rbdtier, or rbd to serve user:rbd in place of "
                   "handler_rbd)";
        }
        return {};
    }
    if (key == "site") return parse_word(v, c.site);
    if (key == "admin_socket") {
        if (v.empty() || v.front() != '/') return "admin_socket must be an absolute path";
        if (v.size() >= 108) return "admin_socket path is longer than a Unix socket allows (107)";
        return parse_word(v, c.admin_socket);
    }
    if (key == "admin_socket_group") return parse_word(v, c.admin_socket_group);
    if (key == "admin_max_request_bytes") {
        r = parse_uint(v, u, GatewayLimits::kAdminRequestBytes.min,
                       GatewayLimits::kAdminRequestBytes.max);
        if (r.empty()) c.admin_max_request_bytes = u;
        return r;
    }
    if (key == "admin_read_timeout_ms") {
        r = parse_uint(v, u, GatewayLimits::kAdminReadTimeoutMs.min,
                       GatewayLimits::kAdminReadTimeoutMs.max);
        if (r.empty()) c.admin_read_timeout_ms = static_cast<std::uint32_t>(u);
        return r;
    }
    if (key == "admin_max_sessions" || key == "metrics_max_sessions") {
        r = parse_uint(v, u, GatewayLimits::kMaxSessions.min, GatewayLimits::kMaxSessions.max);
        if (r.empty())
            (key == "admin_max_sessions" ? c.admin_max_sessions : c.metrics_max_sessions) = u;
        return r;
    }
    if (key == "metrics_address") return parse_word(v, c.metrics_address);
    if (key == "metrics_port") {
        r = parse_uint(v, u, GatewayLimits::kMetricsPort.min, GatewayLimits::kMetricsPort.max);
        if (r.empty()) c.metrics_port = static_cast<std::uint16_t>(u);
        return r;
    }
    if (key == "migration_bandwidth_mib_s")
        return parse_double(v, c.migration_bandwidth_mib_s, 0, true,
                            GatewayLimits::kMaxBandwidthMibS);
    if (key == "horizon_s")
        return parse_double(v, c.horizon_s, 0, true, GatewayLimits::kMaxHorizonS);
    if (key == "round_s") return parse_double(v, c.round_s, 0, true, GatewayLimits::kMaxRoundS);
    if (key == "max_tracked_extents")
        return parse_uint(v, c.max_tracked_extents, GatewayLimits::kMaxTrackedExtents.min,
                          GatewayLimits::kMaxTrackedExtents.max);
    if (key == "tenant_pool") {  // may be empty: the first tier pool
        if (v.empty()) {
            c.tenant_pool.clear();
            return {};
        }
        return parse_word(v, c.tenant_pool);
    }
    return "unknown key '" + std::string(key) + "'";
}

std::string tier_key(TierOverride& t, std::string_view key, std::string_view v) {
    std::string word;
    double d = 0;
    std::uint64_t u = 0;
    std::string r;
    if (key == "device_class") {
        r = parse_word(v, word);
        if (r.empty()) t.device_class = word;
    } else if (key == "site") {
        r = parse_word(v, word);
        if (r.empty()) t.site = word;
    } else if (key == "latency_ms") {
        r = parse_double(v, d, 0, false, GatewayLimits::kMaxLatencyMs);
        if (r.empty()) t.latency_ms = d;
    } else if (key == "capacity_bytes") {
        r = parse_uint(v, u, 0, GatewayLimits::kMaxCapacityBytes);
        if (r.empty()) t.capacity_bytes = u;
    } else if (key == "cost_per_gib") {
        r = parse_double(v, d, 0, false, GatewayLimits::kMaxCostPerGib);
        if (r.empty()) t.cost_per_gib = d;
    } else {
        r = "unknown tier key '" + std::string(key) + "'";
    }
    return r;
}

}  // namespace

const char* to_string(HandlerSubtype subtype) {
    return subtype == HandlerSubtype::kRbd ? "rbd" : "rbdtier";
}

std::string apply_gateway_setting(GatewayConfig& config, std::string_view key,
                                  std::string_view value) {
    return gateway_key(config, key, value);
}

std::string apply_tier_setting(TierOverride& tier, std::string_view key, std::string_view value) {
    return tier_key(tier, key, value);
}

std::string ConfigOutcome::message() const {
    if (ok()) return "OK";
    if (line > 0) return file + ":" + std::to_string(line) + ": " + reason;
    return file + ": " + reason;
}

ConfigOutcome parse_gateway_config(std::string_view text, const std::string& file) {
    ConfigOutcome out;
    out.file = file;
    GatewayConfig config;
    TierOverride* section = nullptr;
    std::set<std::string> seen;  // "key" or "pool/key"
    std::string section_pool;
    int number = 0;
    auto fail = [&](std::string reason) {
        out.line = number;
        out.reason = std::move(reason);
        return out;
    };
    while (!text.empty()) {
        ++number;
        const auto nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const std::string_view line = trim(strip_comment(raw));
        if (line.empty()) continue;
        if (line.front() == '[') {
            if (line.back() != ']') return fail("section header without ']'");
            const std::string_view inner = trim(line.substr(1, line.size() - 2));
            if (inner.substr(0, 5) != "tier " && inner.substr(0, 5) != "tier\t")
                return fail("unknown section '[" + std::string(inner) +
                            "]' (expected [tier POOL])");
            const std::string pool(trim(inner.substr(5)));
            if (pool.empty() || pool.find_first_of(" \t") != std::string::npos)
                return fail("[tier POOL] needs exactly one pool name");
            if (config.tiers.count(pool)) return fail("duplicate section [tier " + pool + "]");
            section = &config.tiers[pool];
            section_pool = pool;
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) return fail("expected 'key = value'");
        const std::string_view key = trim(line.substr(0, eq));
        const std::string_view value = trim(line.substr(eq + 1));
        if (key.empty()) return fail("missing key before '='");
        const std::string id = section ? section_pool + "/" + std::string(key) : std::string(key);
        if (!seen.insert(id).second) return fail("duplicate key '" + std::string(key) + "'");
        std::string reason =
            section ? tier_key(*section, key, value) : gateway_key(config, key, value);
        if (!reason.empty())
            return fail(reason.rfind("unknown", 0) == 0 ? reason
                                                        : std::string(key) + ": " + reason);
    }
    out.config = std::move(config);
    return out;
}

ConfigOutcome load_gateway_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ConfigOutcome out;
        out.file = path;
        out.reason = std::string("cannot read: ") + std::strerror(errno);
        return out;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_gateway_config(text.str(), path);
}

}  // namespace rbdtier
