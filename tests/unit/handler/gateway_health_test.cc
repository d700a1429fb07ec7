// The health rules (handler/gateway_health.h): each problem gives its check at its severity,
// the verdict is the worst check's, the text and JSON have `ceph health detail`'s form, and the
// `health` admin command answers from the gateway's own state (the admin pause).
#include "handler/gateway_health.h"

#include <gtest/gtest.h>

#include "handler/admin_commands.h"

namespace rbdtier {
namespace {

LunHealthFacts tiered_lun(const std::string& name) {
    LunHealthFacts f;
    f.lun = name;
    f.tenant = "t1";
    f.tiered = true;
    f.routing = "valid";
    f.pools = {{"hdd-a", true, false, 0, 0}, {"nvme-a", false, false, 0, 0}};
    return f;
}

HealthReport one(const LunHealthFacts& lun, bool paused = false) {
    GatewayHealthFacts g;
    g.paused = paused;
    g.luns.push_back(lun);
    return evaluate_health(g);
}

const HealthCheck& check(const HealthReport& r, const std::string& code) {
    for (const HealthCheck& c : r.checks)
        if (c.code == code) return c;
    throw std::runtime_error("no check " + code);
}

TEST(GatewayHealth, NothingWrongIsOk) {
    EXPECT_EQ(evaluate_health({}).status, HealthLevel::kOk);
    const HealthReport r = one(tiered_lun("hdd-a/a"));
    EXPECT_EQ(r.status, HealthLevel::kOk);
    EXPECT_TRUE(r.checks.empty());
    EXPECT_EQ(r.text(), "HEALTH_OK\n");
    EXPECT_EQ(r.to_json(), nlohmann::json::parse(R"({"status":"HEALTH_OK","checks":{}})"));
}

TEST(GatewayHealth, AnAdminPauseWarns) {
    const HealthReport r = one(tiered_lun("hdd-a/a"), true);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    ASSERT_TRUE(r.has("ENGINE_PAUSED"));
    EXPECT_EQ(r.text(),
              "HEALTH_WARN migrations paused by an admin\n"
              "[WRN] ENGINE_PAUSED: migrations paused by an admin\n"
              "    no extent of 1 tiered LUN moves until `rbdtier resume`\n");
}

TEST(GatewayHealth, TenantQuotaReachedOrExceededWarnsOncePerTenantAndPool) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.pools[1].tenant_quota_bytes = 64 << 20;
    a.pools[1].tenant_held_bytes = 63 << 20;
    EXPECT_EQ(one(a).status, HealthLevel::kOk) << "below the quota";
    a.pools[1].tenant_held_bytes = 64 << 20;
    LunHealthFacts b = a;
    b.lun = "hdd-a/b";
    GatewayHealthFacts g;
    g.luns = {a, b};
    const HealthReport r = evaluate_health(g);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    const HealthCheck& c = check(r, "TENANT_QUOTA_EXCEEDED");
    EXPECT_EQ(c.summary, "1 tenant quota reached");
    ASSERT_EQ(c.detail.size(), 1u);
    EXPECT_EQ(c.detail[0], "tenant t1 holds 64 MiB of its 64 MiB quota in pool nvme-a");
}

TEST(GatewayHealth, AFullPoolWarnsAndSaysWhetherItIsAHomePool) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.pools[1].full = true;
    HealthReport r = one(a);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    EXPECT_EQ(check(r, "TIER_POOL_FULL").detail[0],
              "pool nvme-a is full: no extent of hdd-a/a moves there");
    a.pools[0].full = true;
    r = one(a);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    EXPECT_EQ(check(r, "TIER_POOL_FULL").summary, "2 pools full");
    EXPECT_EQ(check(r, "TIER_POOL_FULL").detail[0],
              "pool hdd-a is full: it is the home pool of hdd-a/a");
}

TEST(GatewayHealth, AnUnreachablePoolWarnsWithTheMonitorsError) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.resource_problem = "pool nvme-a: ceph df: Connection timed out";
    const HealthReport r = one(a);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    EXPECT_EQ(check(r, "TIER_POOL_UNREACHABLE").detail[0],
              "hdd-a/a: pool nvme-a: ceph df: Connection timed out");
}

TEST(GatewayHealth, FollowerBehindWarnsRefusedOrFencedIsAnError) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.routing = "suspended";
    EXPECT_EQ(one(a).status, HealthLevel::kWarn);
    EXPECT_TRUE(one(a).has("FOLLOWER_BEHIND"));
    a.routing = "refused";
    EXPECT_EQ(one(a).status, HealthLevel::kErr);
    EXPECT_TRUE(one(a).has("FOLLOWER_BEHIND"));
    a.routing = "fenced";
    EXPECT_EQ(one(a).status, HealthLevel::kErr);
    EXPECT_TRUE(one(a).has("LOCK_LOST"));
    EXPECT_FALSE(one(a).has("FOLLOWER_BEHIND"));
    a.routing = "";
    a.tiering_problem = "cannot take the placement map: Permission denied";
    EXPECT_EQ(one(a).status, HealthLevel::kWarn);
    EXPECT_TRUE(one(a).has("TIERING_NOT_OWNED"));
}

TEST(GatewayHealth, FailingMigrationsWarnAndAllFailingIsAnError) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.recent_migrations = 16;
    a.recent_failures = 3;
    HealthReport r = one(a);
    EXPECT_EQ(r.status, HealthLevel::kWarn);
    EXPECT_EQ(check(r, "MIGRATIONS_FAILING").detail[0],
              "hdd-a/a: 3 of the last 16 migrations failed");
    a.recent_failures = 16;
    EXPECT_EQ(one(a).status, HealthLevel::kErr);
    a.recent_migrations = a.recent_failures = kAllFailingMin - 1;  // too few to judge
    EXPECT_EQ(one(a).status, HealthLevel::kWarn);
}

TEST(GatewayHealth, ScrubDamageIsAnErrorAndTheWorstCheckComesFirst) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.scrub_mismatches = 2;
    const HealthReport r = one(a, true);
    EXPECT_EQ(r.status, HealthLevel::kErr);
    ASSERT_EQ(r.checks.size(), 2u);
    EXPECT_EQ(r.checks[0].code, "SCRUB_DAMAGE");
    EXPECT_EQ(r.checks[1].code, "ENGINE_PAUSED");
    EXPECT_EQ(r.codes(), "SCRUB_DAMAGE,ENGINE_PAUSED");
    EXPECT_EQ(r.text(),
              "HEALTH_ERR 1 LUN with damaged extents; migrations paused by an admin\n"
              "[ERR] SCRUB_DAMAGE: 1 LUN with damaged extents\n"
              "    hdd-a/a: the last scrub found 2 checksum mismatches\n"
              "[WRN] ENGINE_PAUSED: migrations paused by an admin\n"
              "    no extent of 1 tiered LUN moves until `rbdtier resume`\n");
}

TEST(GatewayHealth, JsonHasCephsFormAndReadsBack) {
    LunHealthFacts a = tiered_lun("hdd-a/a");
    a.scrub_mismatches = 1;
    a.routing = "suspended";
    const HealthReport r = one(a);
    const nlohmann::json j = r.to_json();
    EXPECT_EQ(j["status"], "HEALTH_ERR");
    EXPECT_EQ(j["checks"]["SCRUB_DAMAGE"]["severity"], "HEALTH_ERR");
    EXPECT_EQ(j["checks"]["SCRUB_DAMAGE"]["summary"]["count"], 1);
    EXPECT_EQ(j["checks"]["FOLLOWER_BEHIND"]["detail"][0]["message"],
              "hdd-a/a: routing suspended, commands park while the placement map is reloaded");
    HealthReport back;
    ASSERT_TRUE(HealthReport::from_json(j, back));
    EXPECT_EQ(back.text(), r.text());
    for (const char* bad : {R"([])", R"({"status":"HEALTH_MAYBE"})",
                            R"({"status":"HEALTH_OK","checks":{"X":{"severity":1}}})"}) {
        EXPECT_FALSE(HealthReport::from_json(nlohmann::json::parse(bad), back)) << bad;
    }
}

TEST(GatewayHealth, TheHealthCommandFollowsTheAdminPause) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    auto health = [&] { return commands.handle({{"prefix", "health"}}); };
    AdminReply r = health();
    ASSERT_EQ(r.error, 0) << r.message;
    EXPECT_EQ(r.result["status"], "HEALTH_OK");
    ASSERT_EQ(commands.handle({{"prefix", "pause"}}).error, 0);
    r = health();
    EXPECT_EQ(r.result["status"], "HEALTH_WARN");
    EXPECT_TRUE(r.result["checks"].contains("ENGINE_PAUSED")) << r.result.dump();
    ASSERT_EQ(commands.handle({{"prefix", "resume"}}).error, 0);
    EXPECT_EQ(health().result["status"], "HEALTH_OK");
}

}  // namespace
}  // namespace rbdtier
