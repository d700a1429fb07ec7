// Gateway health: the rules that turn what the gateway knows about its LUNs into a verdict
// shaped like Ceph's own health (`ceph health detail`): HEALTH_OK, HEALTH_WARN or HEALTH_ERR,
// and one check per kind of problem, each with a code, a summary and one detail line per LUN
// (or pool) concerned. The verdict is the most severe check's, HEALTH_OK when there is none.
//
// evaluate_health() is pure: it reads the facts (gathered by the Gateway, handler/gateway.h)
// and nothing else. Checks and their severity:
//   ENGINE_PAUSED           WARN  an admin paused migrations (rbdtier pause)
//   TENANT_QUOTA_EXCEEDED   WARN  a tenant holds its quota of a pool or more (nothing more moves
//                                 there for it)
//   TIER_POOL_FULL          WARN  a pool of a LUN is full at its full ratio (by default Ceph's
//                                 nearfull ratio, which Ceph itself only warns about): nothing
//                                 more moves into a full tier pool; a full home pool is named
//                                 as such (extents moving home are refused)
//   TIER_POOL_UNREACHABLE   WARN  the resource monitor cannot sample a pool (the last error)
//   TIERING_NOT_OWNED       WARN  the gateway can neither own nor follow the LUN's tiering
//   FOLLOWER_BEHIND         WARN  the placement routing is suspended (commands park while the
//                                 map is reloaded); ERR when parked commands are refused (BUSY)
//   LOCK_LOST               ERR   this gateway's client is blocklisted (fenced)
//   MIGRATIONS_FAILING      WARN  migrations failed (copy or commit failed, gave up) among the
//                                 last kRecentMigrations; ERR when every one of at least
//                                 kAllFailingMin recent migrations failed
//   SCRUB_DAMAGE            ERR   the last scrub of a LUN found checksum mismatches
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rbdtier {

enum class HealthLevel { kOk = 0, kWarn = 1, kErr = 2 };

// "HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"; parse_health_level is its inverse (false: none).
const char* to_string(HealthLevel level);
bool parse_health_level(const std::string& text, HealthLevel& out);

struct HealthCheck {
    std::string code;  // e.g. "ENGINE_PAUSED"
    HealthLevel severity = HealthLevel::kWarn;
    std::string summary;              // one line
    std::vector<std::string> detail;  // one line per LUN or pool concerned
};

struct HealthReport {
    HealthLevel status = HealthLevel::kOk;
    std::vector<HealthCheck> checks;  // most severe first, then by code

    bool has(const std::string& code) const;
    // `ceph health detail`'s form: "HEALTH_WARN <summary>; <summary>" then, per check,
    // "[WRN] CODE: summary" and its detail lines indented by four spaces.
    std::string text() const;
    // {"status": "HEALTH_WARN", "checks": {CODE: {"severity", "summary": {"message", "count"},
    //  "detail": [{"message"}]}}}, as `ceph health detail -f json`.
    nlohmann::json to_json() const;
    // The codes of the checks, comma-separated ("" when none).
    std::string codes() const;
    // Back from to_json(); false when `j` is not of that form.
    static bool from_json(const nlohmann::json& j, HealthReport& out);
};

// What one pool of a LUN is like, as the LUN's resource monitor last sampled it.
struct PoolHealthFacts {
    std::string pool;
    bool home = false;
    bool full = false;
    // The tenant's quota of the pool and what its LUNs hold there; quota 0 = no quota.
    std::uint64_t tenant_quota_bytes = 0;
    std::uint64_t tenant_held_bytes = 0;
};

struct LunHealthFacts {
    std::string lun;
    std::string tenant;
    bool tiered = false;
    std::vector<PoolHealthFacts> pools;
    std::string resource_problem;         // the last sampling error of pools or tenant ("" = none)
    std::string tiering_problem;          // why it can neither own nor follow tiering ("" = fine)
    std::string routing;                  // PlacementWatch::routing(), "" without a watch
    std::uint64_t recent_migrations = 0;  // among the last kRecentMigrations
    std::uint64_t recent_failures = 0;
    std::uint64_t scrub_mismatches = 0;  // of the last scrub (0: clean or none)
};

struct GatewayHealthFacts {
    bool paused = false;
    std::vector<LunHealthFacts> luns;
};

inline constexpr std::size_t kRecentMigrations = 16;
inline constexpr std::uint64_t kAllFailingMin = 4;

HealthReport evaluate_health(const GatewayHealthFacts& facts);

}  // namespace rbdtier
