#include "handler/gateway_health.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

namespace rbdtier {

namespace {

const char* short_name(HealthLevel level) {
    switch (level) {
        case HealthLevel::kOk:
            return "OK";
        case HealthLevel::kWarn:
            return "WRN";
        case HealthLevel::kErr:
            return "ERR";
    }
    return "?";
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The summary line of check `code`, which `count` LUNs or pools raised.
std::string summary(const std::string& code, std::size_t count) {
    if (code == "ENGINE_PAUSED") return "migrations paused by an admin";
    if (code == "TENANT_QUOTA_EXCEEDED")
        return plural(count, "tenant quota", "tenant quotas") + " reached";
    if (code == "TIER_POOL_FULL") return plural(count, "pool", "pools") + " full";
    if (code == "TIER_POOL_UNREACHABLE")
        return plural(count, "LUN", "LUNs") + " cannot sample their pools";
    if (code == "TIERING_NOT_OWNED")
        return plural(count, "LUN", "LUNs") + " neither owning nor following tiering";
    if (code == "FOLLOWER_BEHIND")
        return plural(count, "LUN", "LUNs") + " behind the owner's placement";
    if (code == "LOCK_LOST") return plural(count, "LUN", "LUNs") + " fenced";
    if (code == "MIGRATIONS_FAILING")
        return plural(count, "LUN", "LUNs") + " with failing migrations";
    if (code == "SCRUB_DAMAGE") return plural(count, "LUN", "LUNs") + " with damaged extents";
    return code;
}

std::string mib(std::uint64_t bytes) {
    std::ostringstream out;
    out << (bytes >> 20) << " MiB";
    return out.str();
}

// Collects the detail lines of each check, the severity of each the highest of its lines.
class Collector {
public:
    void add(const std::string& code, HealthLevel severity, std::string line) {
        Entry& e = entries_[code];
        e.severity = std::max(e.severity, severity);
        if (std::find(e.lines.begin(), e.lines.end(), line) == e.lines.end())
            e.lines.push_back(std::move(line));
    }
    // The checks collected (none: nothing allocated), each with its summary().
    HealthReport report() const {
        HealthReport r;
        for (const auto& [code, e] : entries_) {
            HealthCheck c;
            c.code = code;
            c.severity = e.severity;
            c.summary = summary(code, e.lines.size());
            c.detail = e.lines;
            r.status = std::max(r.status, c.severity);
            r.checks.push_back(std::move(c));
        }
        std::stable_sort(
            r.checks.begin(), r.checks.end(),
            [](const HealthCheck& a, const HealthCheck& b) { return a.severity > b.severity; });
        return r;
    }

private:
    struct Entry {
        HealthLevel severity = HealthLevel::kWarn;
        std::vector<std::string> lines;
    };
    std::map<std::string, Entry> entries_;  // by code
};

}  // namespace

const char* to_string(HealthLevel level) {
    switch (level) {
        case HealthLevel::kOk:
            return "HEALTH_OK";
        case HealthLevel::kWarn:
            return "HEALTH_WARN";
        case HealthLevel::kErr:
            return "HEALTH_ERR";
    }
    return "HEALTH_UNKNOWN";
}

bool parse_health_level(const std::string& text, HealthLevel& out) {
    for (HealthLevel l : {HealthLevel::kOk, HealthLevel::kWarn, HealthLevel::kErr}) {
        if (text == to_string(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

bool HealthReport::from_json(const nlohmann::json& j, HealthReport& out) {
    if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) return false;
    HealthReport r;
    if (!parse_health_level(j["status"].get<std::string>(), r.status)) return false;
    if (j.contains("checks")) {
        if (!j["checks"].is_object()) return false;
        for (const auto& [code, c] : j["checks"].items()) {
            HealthCheck check;
            check.code = code;
            if (!c.is_object() || !c.contains("severity") || !c["severity"].is_string() ||
                !parse_health_level(c["severity"].get<std::string>(), check.severity))
                return false;
            if (c.contains("summary") && c["summary"].is_object())
                check.summary = c["summary"].value("message", "");
            if (c.contains("detail") && c["detail"].is_array())
                for (const auto& d : c["detail"])
                    if (d.is_object()) check.detail.push_back(d.value("message", ""));
            r.checks.push_back(std::move(check));
        }
    }
    std::stable_sort(
        r.checks.begin(), r.checks.end(),
        [](const HealthCheck& a, const HealthCheck& b) { return a.severity > b.severity; });
    out = std::move(r);
    return true;
}

bool HealthReport::has(const std::string& code) const {
    return std::any_of(checks.begin(), checks.end(),
                       [&](const HealthCheck& c) { return c.code == code; });
}

std::string HealthReport::text() const {
    std::string out = to_string(status);
    for (std::size_t i = 0; i < checks.size(); ++i)
        out += (i == 0 ? " " : "; ") + checks[i].summary;
    out += "\n";
    for (const HealthCheck& c : checks) {
        out += "[" + std::string(short_name(c.severity)) + "] " + c.code + ": " + c.summary + "\n";
        for (const std::string& line : c.detail) out += "    " + line + "\n";
    }
    return out;
}

nlohmann::json HealthReport::to_json() const {
    nlohmann::json out_checks = nlohmann::json::object();
    for (const HealthCheck& c : checks) {
        nlohmann::json detail = nlohmann::json::array();
        for (const std::string& line : c.detail) detail.push_back({{"message", line}});
        out_checks[c.code] = {{"severity", to_string(c.severity)},
                              {"summary", {{"message", c.summary}, {"count", c.detail.size()}}},
                              {"detail", std::move(detail)}};
    }
    return {{"status", to_string(status)}, {"checks", std::move(out_checks)}};
}

std::string HealthReport::codes() const {
    std::string out;
    for (const HealthCheck& c : checks) out += (out.empty() ? "" : ",") + c.code;
    return out;
}

HealthReport evaluate_health(const GatewayHealthFacts& facts) {
    Collector c;
    std::size_t tiered = 0;
    for (const LunHealthFacts& lun : facts.luns) {
        if (lun.tiered) ++tiered;
        for (const PoolHealthFacts& pool : lun.pools) {
            if (pool.full) {
                if (pool.home) {
                    c.add("TIER_POOL_FULL", HealthLevel::kWarn,
                          "pool " + pool.pool + " is full: it is the home pool of " + lun.lun);
                } else {
                    c.add(
                        "TIER_POOL_FULL", HealthLevel::kWarn,
                        "pool " + pool.pool + " is full: no extent of " + lun.lun + " moves there");
                }
            }
            if (pool.tenant_quota_bytes != 0 && pool.tenant_held_bytes >= pool.tenant_quota_bytes) {
                c.add("TENANT_QUOTA_EXCEEDED", HealthLevel::kWarn,
                      "tenant " + lun.tenant + " holds " + mib(pool.tenant_held_bytes) +
                          " of its " + mib(pool.tenant_quota_bytes) + " quota in pool " +
                          pool.pool);
            }
        }
        if (!lun.resource_problem.empty())
            c.add("TIER_POOL_UNREACHABLE", HealthLevel::kWarn,
                  lun.lun + ": " + lun.resource_problem);
        if (!lun.tiering_problem.empty())
            c.add("TIERING_NOT_OWNED", HealthLevel::kWarn, lun.lun + ": " + lun.tiering_problem);
        if (lun.routing == "suspended") {
            c.add("FOLLOWER_BEHIND", HealthLevel::kWarn,
                  lun.lun +
                      ": routing suspended, commands park while the placement map is "
                      "reloaded");
        } else if (lun.routing == "refused") {
            c.add("FOLLOWER_BEHIND", HealthLevel::kErr,
                  lun.lun + ": placement map not reloaded in time, commands are answered BUSY");
        } else if (lun.routing == "fenced") {
            c.add("LOCK_LOST", HealthLevel::kErr,
                  lun.lun + ": this gateway's client is blocklisted (it lost the lock)");
        }
        if (lun.recent_failures > 0) {
            const bool all = lun.recent_failures == lun.recent_migrations &&
                             lun.recent_migrations >= kAllFailingMin;
            c.add("MIGRATIONS_FAILING", all ? HealthLevel::kErr : HealthLevel::kWarn,
                  lun.lun + ": " + std::to_string(lun.recent_failures) + " of the last " +
                      std::to_string(lun.recent_migrations) + " migrations failed");
        }
        if (lun.scrub_mismatches > 0)
            c.add("SCRUB_DAMAGE", HealthLevel::kErr,
                  lun.lun + ": the last scrub found " + std::to_string(lun.scrub_mismatches) +
                      " checksum mismatches");
    }
    if (facts.paused)
        c.add("ENGINE_PAUSED", HealthLevel::kWarn,
              "no extent of " + plural(tiered, "tiered LUN", "tiered LUNs") +
                  " moves until `rbdtier resume`");
    return c.report();
}

}  // namespace rbdtier
