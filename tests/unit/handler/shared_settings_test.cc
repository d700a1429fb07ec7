// Settings kept in the cluster: image metadata > cfgstring > cluster object > rbdtier.conf >
// default; a bad value in RADOS is reported and falls back; the values are checked by the
// cfgstring's and rbdtier.conf's own parsers (same messages, same ranges).
#include "handler/shared_settings.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "handler/tiering_settings.h"

namespace rbdtier {
namespace {

LunConfig cfgstring(const std::string& options = "") {
    auto parsed = parse_lun_config("hdd-a/img;tiers=hdd-a+nvme-a" + options);
    EXPECT_TRUE(parsed.config) << parsed.error;
    return parsed.config.value_or(LunConfig{});
}

std::string value_of(const SharedSettings& s, const std::string& name) {
    for (const auto& e : s.report)
        if (e.name == name) return e.value;
    return "<absent>";
}

SettingSource source_of(const SharedSettings& s, const std::string& name) {
    for (const auto& e : s.report)
        if (e.name == name) return e.source;
    ADD_FAILURE() << name << " not reported";
    return SettingSource::kGateway;
}

TEST(SharedSettings, NothingInTheClusterLeavesCfgstringAndConf) {
    GatewayConfig conf;
    conf.horizon_s = 30;
    const SharedSettings s = apply_shared_settings(cfgstring(";policy=reactive"), conf, {}, {});
    EXPECT_TRUE(s.problems.empty());
    EXPECT_EQ(s.lun.policy, TierPolicy::kReactive);
    EXPECT_EQ(s.gateway, conf);
    EXPECT_EQ(value_of(s, "policy"), "reactive");
    EXPECT_EQ(source_of(s, "policy"), SettingSource::kCfgstring);
    EXPECT_EQ(value_of(s, "horizon_s"), "30");
    EXPECT_EQ(source_of(s, "horizon_s"), SettingSource::kGateway);
}

TEST(SharedSettings, ImageMetadataBeatsCfgstringBeatsClusterBeatsConf) {
    GatewayConfig conf;
    conf.horizon_s = 30;
    conf.round_s = 2;
    conf.migration_bandwidth_mib_s = 50;
    const std::map<std::string, std::string> cluster = {
        {"horizon_s", "90"}, {"round_s", "0.5"}, {"migration_bandwidth_mib_s", "400"}};

    SharedSettings s = apply_shared_settings(cfgstring(), conf, {}, cluster);
    EXPECT_TRUE(s.problems.empty()) << s.problems.front();
    EXPECT_DOUBLE_EQ(s.gateway.horizon_s, 90);
    EXPECT_DOUBLE_EQ(s.gateway.round_s, 0.5);
    EXPECT_DOUBLE_EQ(s.gateway.migration_bandwidth_mib_s, 400);
    EXPECT_EQ(source_of(s, "horizon_s"), SettingSource::kCluster);
    EXPECT_EQ(resolve_tiering_settings(s.lun, s.gateway).horizon_s, 90);

    s = apply_shared_settings(cfgstring(";horizon=40;policy=reactive"), conf, {}, cluster);
    EXPECT_EQ(resolve_tiering_settings(s.lun, s.gateway).horizon_s, 40) << "cfgstring wins";
    EXPECT_EQ(source_of(s, "horizon_s"), SettingSource::kCfgstring);

    s = apply_shared_settings(cfgstring(";horizon=40;policy=reactive"), conf,
                              {{"rbdtier.horizon", "20"}, {"rbdtier.policy", "predictive"}},
                              cluster);
    EXPECT_TRUE(s.problems.empty());
    EXPECT_EQ(resolve_tiering_settings(s.lun, s.gateway).horizon_s, 20) << "the image wins";
    EXPECT_EQ(s.lun.policy, TierPolicy::kPredictive);
    EXPECT_EQ(source_of(s, "horizon_s"), SettingSource::kImage);
    EXPECT_EQ(value_of(s, "horizon_s"), "20");
    EXPECT_EQ(source_of(s, "policy"), SettingSource::kImage);
}

TEST(SharedSettings, TwoGatewaysWithDifferentConfsAgreeOnWhatTheClusterSays) {
    GatewayConfig a;
    a.horizon_s = 10;
    a.migration_bandwidth_mib_s = 10;
    a.round_s = 0.5;
    GatewayConfig b;
    b.horizon_s = 600;
    b.migration_bandwidth_mib_s = 900;
    b.round_s = 3;
    const std::map<std::string, std::string> meta = {{"rbdtier.policy", "reactive"},
                                                     {"rbdtier.quota", "nvme-a=64M"}};
    const std::map<std::string, std::string> cluster = {
        {"horizon_s", "120"}, {"round_s", "1"}, {"migration_bandwidth_mib_s", "200"}};
    const SharedSettings sa = apply_shared_settings(cfgstring(), a, meta, cluster);
    const SharedSettings sb = apply_shared_settings(cfgstring(";policy=none"), b, meta, cluster);
    EXPECT_EQ(resolve_tiering_settings(sa.lun, sa.gateway),
              resolve_tiering_settings(sb.lun, sb.gateway));
    EXPECT_EQ(sa.lun.policy, sb.lun.policy);
    EXPECT_EQ(sa.lun.quota, sb.lun.quota);
    EXPECT_EQ(sa.lun.quota.at("nvme-a"), 64u << 20);
    EXPECT_EQ(sa.report, sb.report);
}

TEST(SharedSettings, BadValuesInRadosAreReportedAndFallBack) {
    GatewayConfig conf;
    conf.horizon_s = 30;
    const SharedSettings s = apply_shared_settings(
        cfgstring(";policy=reactive;horizon=45"), conf,
        {{"rbdtier.policy", "sometimes"},
         {"rbdtier.horizon", "1e9"},
         {"rbdtier.quota", "hdd-b=1G"},  // not a tier of this LUN
         {"rbdtier.horizn", "5"},
         {"rbdtier.pin", "home"},  // the home pin: not a setting, not reported
         {"other", "x"}},
        {{"round_s", "-1"}, {"migration_bandwidth_mib_s", "nan"}, {"site", "b"}});
    EXPECT_EQ(s.lun.policy, TierPolicy::kReactive);
    EXPECT_EQ(s.lun.horizon_s, 45u);
    EXPECT_TRUE(s.lun.quota.empty());
    EXPECT_DOUBLE_EQ(s.gateway.round_s, conf.round_s);
    EXPECT_DOUBLE_EQ(s.gateway.migration_bandwidth_mib_s, conf.migration_bandwidth_mib_s);
    EXPECT_EQ(s.gateway.site, conf.site) << "site is per gateway";
    ASSERT_EQ(s.problems.size(), 7u);
    auto has = [&](const std::string& needle) {
        return std::any_of(s.problems.begin(), s.problems.end(), [&](const std::string& p) {
            return p.find(needle) != std::string::npos;
        });
    };
    EXPECT_TRUE(has("image metadata rbdtier.policy='sometimes'")) << s.problems[0];
    LunConfig scratch;
    EXPECT_TRUE(
        has(apply_lun_option("policy", "sometimes", scratch) + "; using reactive (cfgstring)"))
        << "the cfgstring parser's reason, then the fallback";
    EXPECT_TRUE(has("rbdtier.horizon='1e9'"));
    EXPECT_TRUE(has("not in tiers="));
    EXPECT_TRUE(has("unknown setting rbdtier.horizn"));
    EXPECT_TRUE(has("rbdtier.config round_s='-1'"));
    EXPECT_TRUE(has("greater than 0 and at most 3600"));
    EXPECT_TRUE(has("unknown cluster setting 'site'"));
}

TEST(SharedSettings, TierOverridesFromTheClusterObject) {
    GatewayConfig conf;
    conf.tiers["nvme-a"].latency_ms = 5;
    conf.tiers["nvme-a"].site = "site-a";
    const SharedSettings s = apply_shared_settings(cfgstring(), conf, {},
                                                   {{"tier.nvme-a.latency_ms", "0.3"},
                                                    {"tier.nvme-a.capacity_bytes", "1073741824"},
                                                    {"tier.hdd-b.cost_per_gib", "x"},
                                                    {"tier.nvme-a", "1"}});
    EXPECT_EQ(s.gateway.tiers.at("nvme-a").latency_ms, 0.3);
    EXPECT_EQ(s.gateway.tiers.at("nvme-a").capacity_bytes, 1u << 30);
    EXPECT_EQ(s.gateway.tiers.at("nvme-a").site, "site-a") << "the conf's other keys stay";
    EXPECT_EQ(s.gateway.tiers.count("hdd-b"), 0u);
    EXPECT_EQ(s.problems.size(), 2u);
}

TEST(SharedSettings, ValuesAreCheckedByTheParsersOfTheCfgstringAndTheConf) {
    EXPECT_EQ(lun_setting_problem("policy", "predictive"), "");
    LunConfig scratch;
    EXPECT_EQ(lun_setting_problem("policy", "fast"), apply_lun_option("policy", "fast", scratch));
    EXPECT_NE(lun_setting_problem("horizon", "0").find("from 1 to 86400"), std::string::npos);
    EXPECT_EQ(lun_setting_problem("quota", "nvme-a=1G", {"hdd-a", "nvme-a"}), "");
    EXPECT_NE(lun_setting_problem("quota", "nvme-b=1G", {"hdd-a", "nvme-a"}).find("not in tiers="),
              std::string::npos);
    EXPECT_EQ(lun_setting_problem("tiers", "a+b"), "");  // read at open (image_tiers)
    EXPECT_NE(lun_setting_problem("pin", "home").find("unknown setting"), std::string::npos);
    EXPECT_EQ(cluster_setting_problem("horizon_s", "120"), "");
    EXPECT_NE(cluster_setting_problem("horizon_s", "86401").find("at most 86400"),
              std::string::npos);
    EXPECT_NE(cluster_setting_problem("metrics_port", "1").find("unknown cluster setting"),
              std::string::npos);
    EXPECT_EQ(cluster_setting_problem("tier.nvme-a.device_class", "nvme"), "");
    EXPECT_NE(cluster_setting_problem("tier.nvme-a.colour", "red").find("unknown tier key"),
              std::string::npos);
    EXPECT_NE(cluster_setting_problem("tier..latency_ms", "1").find("tier.POOL.KEY"),
              std::string::npos);
}

TEST(SharedSettings, LocalTieringKeysAreThoseAConfChangedFromTheDefault) {
    GatewayConfig conf;
    EXPECT_TRUE(local_tiering_keys(conf).empty());
    conf.horizon_s = 60;
    conf.tiers["nvme-a"].latency_ms = 1;
    EXPECT_EQ(local_tiering_keys(conf), (std::vector<std::string>{"horizon_s", "[tier nvme-a]"}));
}

// rbdtier.tiers on the image tiers a LUN whose cfgstring names no tiers (a user:rbd LUN).
TEST(SharedSettings, ImageTiersTierALunWhoseCfgstringHasNone) {
    std::string problem = "stale";
    EXPECT_TRUE(image_tiers({}, problem).empty());
    EXPECT_TRUE(problem.empty());
    EXPECT_TRUE(image_tiers({{"rbdtier.policy", "reactive"}}, problem).empty());

    const std::map<std::string, std::string> meta = {{"rbdtier.tiers", "nvme-a+hdd-b"},
                                                     {"rbdtier.policy", "reactive"}};
    EXPECT_EQ(image_tiers(meta, problem), (std::vector<std::string>{"nvme-a", "hdd-b"}));
    EXPECT_TRUE(problem.empty()) << problem;

    auto rbd = parse_rbd_cfgstring("hdd-a/img;osd_op_timeout=30");
    ASSERT_TRUE(rbd.config) << rbd.error;
    LunConfig cfg = *rbd.config;
    cfg.tiers = image_tiers(meta, problem);
    const SharedSettings s =
        apply_shared_settings(cfg, GatewayConfig{}, meta, {{"rbdtier.quota", "nvme-a=1G"}});
    EXPECT_EQ(s.lun.tiers, (std::vector<std::string>{"nvme-a", "hdd-b"}));
    EXPECT_EQ(s.lun.policy, TierPolicy::kReactive);
    EXPECT_EQ(source_of(s, "policy"), SettingSource::kImage);
}

// A quota in the metadata is checked against the tiers the metadata gives, not the cfgstring's.
TEST(SharedSettings, ImageQuotaIsCheckedAgainstTheImageTiers) {
    auto rbd = parse_rbd_cfgstring("hdd-a/img");
    ASSERT_TRUE(rbd.config) << rbd.error;
    const std::map<std::string, std::string> meta = {{"rbdtier.tiers", "nvme-a"},
                                                     {"rbdtier.quota", "nvme-a=1G"}};
    SharedSettings s = apply_shared_settings(*rbd.config, GatewayConfig{}, meta, {});
    EXPECT_TRUE(s.problems.empty()) << s.problems.front();
    EXPECT_EQ(s.lun.quota.at("nvme-a"), std::uint64_t{1} << 30);

    s = apply_shared_settings(*rbd.config, GatewayConfig{},
                              {{"rbdtier.tiers", "nvme-a"}, {"rbdtier.quota", "ssd-x=1G"}}, {});
    ASSERT_EQ(s.problems.size(), 1u);
    EXPECT_NE(s.problems[0].find("not in tiers="), std::string::npos) << s.problems[0];
}

TEST(SharedSettings, RefusedImageTiersSayWhy) {
    std::string problem;
    EXPECT_TRUE(image_tiers({{"rbdtier.tiers", "nvme-a+nvme-a"}}, problem).empty());
    EXPECT_NE(problem.find("rbdtier.tiers='nvme-a+nvme-a'"), std::string::npos) << problem;
    EXPECT_NE(problem.find("twice"), std::string::npos) << problem;
    EXPECT_TRUE(image_tiers({{"rbdtier.tiers", ""}}, problem).empty());
    EXPECT_NE(problem.find("no value"), std::string::npos) << problem;
    EXPECT_EQ(lun_setting_problem("tiers", "a/b").find("a pool in tiers="), 0u);
    EXPECT_TRUE(lun_setting_problem("tiers", "nvme-a+hdd-b").empty());
}

// Whatever bytes sit in RADOS: no crash, and every refused value is a problem line.
TEST(SharedSettings, ArbitraryBytesNeverCrash) {
    const std::string junk[] = {"",   " ",   std::string("\0\xff", 2), "=", "nvme-a=", "+", "1e999",
                                "-0", "inf", std::string(5000, '9')};
    for (const std::string& v : junk) {
        std::map<std::string, std::string> meta, cluster;
        for (const auto& n : lun_setting_names()) meta["rbdtier." + n] = v;
        for (const auto& n : cluster_setting_names()) cluster[n] = v;
        cluster["tier.nvme-a.latency_ms"] = v;
        const SharedSettings s = apply_shared_settings(cfgstring(), GatewayConfig{}, meta, cluster);
        EXPECT_FALSE(s.problems.empty()) << "value '" << v << "'";
    }
}

}  // namespace
}  // namespace rbdtier
