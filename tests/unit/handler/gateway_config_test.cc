#include "handler/gateway_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace rbdtier {
namespace {

TEST(GatewayConfig, EmptyFileGivesTheDefaults) {
    const ConfigOutcome out = parse_gateway_config("", "rbdtier.conf");
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(*out.config, GatewayConfig{});
}

// The engine's own default is the gateway's: a conf that does not set the limit changes nothing.
TEST(GatewayConfig, TheLimitOfTrackedExtentsDefaultsToTheEngines) {
    EXPECT_EQ(GatewayConfig{}.max_tracked_extents, EngineConfig{}.max_tracked_extents);
}

TEST(GatewayConfig, HandlerSubtypeIsRbdtierOrRbd) {
    EXPECT_EQ(GatewayConfig{}.handler_subtype, HandlerSubtype::kRbdtier);
    ConfigOutcome out = parse_gateway_config("handler_subtype = rbd\n", "rbdtier.conf");
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(out.config->handler_subtype, HandlerSubtype::kRbd);
    EXPECT_STREQ(to_string(out.config->handler_subtype), "rbd");
    out = parse_gateway_config("handler_subtype = rbdtier\n", "rbdtier.conf");
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(out.config->handler_subtype, HandlerSubtype::kRbdtier);
    out = parse_gateway_config("\nhandler_subtype = glfs\n", "rbdtier.conf");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.message(),
              "rbdtier.conf:2: handler_subtype: 'glfs' is not a handler subtype (rbdtier, or rbd "
              "to serve user:rbd in place of handler_rbd)");
}

TEST(GatewayConfig, ReadsEverySettingCommentsAndTierSections) {
    const char* text =
        "# gateway\n"
        "site = site-b   # where this gateway runs\n"
        "admin_socket=/run/rbdtier/gw.asok\n"
        "admin_max_request_bytes = 4096\n"
        "admin_read_timeout_ms = 250\n"
        "\n"
        "metrics_address = 0.0.0.0\n"
        "metrics_port = 9000\n"
        "migration_bandwidth_mib_s = 50.5\n"
        "horizon_s = 60\n"
        "round_s = 0.5\n"
        "max_tracked_extents = 20000000\n"
        "tenant_pool = hdd-a\n"
        "; another comment style\n"
        "[tier nvme-a]\n"
        "device_class = nvme\n"
        "site = site-a\n"
        "latency_ms = 0.3\n"
        "capacity_bytes = 1073741824\n"
        "[ tier hdd-b ]\n"
        "cost_per_gib = 0.02\n";
    const ConfigOutcome out = parse_gateway_config(text, "rbdtier.conf");
    ASSERT_TRUE(out.ok()) << out.message();
    const GatewayConfig& c = *out.config;
    EXPECT_EQ(c.site, "site-b");
    EXPECT_EQ(c.admin_socket, "/run/rbdtier/gw.asok");
    EXPECT_EQ(c.admin_max_request_bytes, 4096u);
    EXPECT_EQ(c.admin_read_timeout_ms, 250u);
    EXPECT_EQ(c.metrics_address, "0.0.0.0");
    EXPECT_EQ(c.metrics_port, 9000);
    EXPECT_DOUBLE_EQ(c.migration_bandwidth_mib_s, 50.5);
    EXPECT_DOUBLE_EQ(c.horizon_s, 60);
    EXPECT_DOUBLE_EQ(c.round_s, 0.5);
    EXPECT_EQ(c.max_tracked_extents, 20'000'000u);
    EXPECT_EQ(c.tenant_pool, "hdd-a");
    ASSERT_EQ(c.tiers.size(), 2u);
    const TierOverride& nvme = c.tiers.at("nvme-a");
    EXPECT_EQ(nvme.device_class, "nvme");
    EXPECT_EQ(nvme.site, "site-a");
    EXPECT_DOUBLE_EQ(*nvme.latency_ms, 0.3);
    EXPECT_EQ(nvme.capacity_bytes, 1073741824u);
    EXPECT_FALSE(nvme.cost_per_gib);
    EXPECT_DOUBLE_EQ(*c.tiers.at("hdd-b").cost_per_gib, 0.02);
    EXPECT_FALSE(c.tiers.at("hdd-b").site);
}

struct Bad {
    const char* text;
    int line;
    const char* reason;  // a part of the reason
};

void PrintTo(const Bad& bad, std::ostream* os) {
    *os << "line " << bad.line << ": " << bad.reason;
}

class GatewayConfigBad : public ::testing::TestWithParam<Bad> {};

TEST_P(GatewayConfigBad, IsRefusedWithLineAndReason) {
    const Bad& bad = GetParam();
    const ConfigOutcome out = parse_gateway_config(bad.text, "/etc/ceph/rbdtier.conf");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.line, bad.line) << out.message();
    EXPECT_NE(out.reason.find(bad.reason), std::string::npos) << out.message();
    EXPECT_EQ(out.message().rfind("/etc/ceph/rbdtier.conf:" + std::to_string(bad.line) + ": ", 0),
              0u)
        << out.message();
}

INSTANTIATE_TEST_SUITE_P(
    Lines, GatewayConfigBad,
    ::testing::Values(
        Bad{"site = a\nsitee = b\n", 2, "unknown key 'sitee'"},
        Bad{"# c\n\nhorizon_s = soon\n", 3, "'soon' is not a number"},
        Bad{"horizon_s = 0\n", 1, "must be greater than 0"},
        Bad{"round_s = -1\n", 1, "must be greater than 0"},
        Bad{"metrics_port = 70000\n", 1,
            "metrics_port: '70000' is out of range: must be from 0 to 65535"},
        Bad{"admin_max_sessions = 0\n", 1,
            "admin_max_sessions: '0' is out of range: must be from 1 to 4096"},
        Bad{"metrics_max_sessions = 5000\n", 1, "must be from 1 to 4096"},
        Bad{"metrics_port = 12x\n", 1, "not a non-negative integer"},
        Bad{"site = a\nsite = b\n", 2, "duplicate key 'site'"},
        Bad{"just words\n", 1, "expected 'key = value'"}, Bad{"= value\n", 1, "missing key"},
        Bad{"[pool nvme-a]\n", 1, "unknown section"}, Bad{"[tier nvme-a\n", 1, "without ']'"},
        Bad{"[tier]\n", 1, "unknown section"}, Bad{"[tier a]\n[tier a]\n", 2, "duplicate section"},
        Bad{"[tier a]\nspeed = 3\n", 2, "unknown tier key 'speed'"},
        Bad{"[tier a]\nlatency_ms = -2\n", 2, "at least 0"},
        Bad{"admin_socket = relative.asok\n", 1, "absolute path"},
        Bad{"admin_max_request_bytes = 10\n", 1, "must be from 1024 to 16777216"},
        Bad{"site = two words\n", 1, "whitespace"}));

// Every numeric setting at and around the ends of its range, and values no range holds: each
// is accepted inside the range, else refused naming the key and the range.
struct NumericKey {
    const char* key;
    bool in_tier;  // a [tier POOL] key
    bool whole;    // an integer; else a real number
    double min;
    bool min_exclusive;
    double max;
    const char* range;  // as the error gives it
};

std::string number_text(double d) {
    std::ostringstream out;
    out.precision(17);
    out << d;
    return out.str();
}

TEST(GatewayConfig, EveryNumericSettingIsBoundedAndNamesItsRange) {
    const NumericKey keys[] = {
        {"admin_max_request_bytes", false, true, 1024, false, 16 << 20, "from 1024 to 16777216"},
        {"admin_read_timeout_ms", false, true, 1, false, 3'600'000, "from 1 to 3600000"},
        {"admin_max_sessions", false, true, 1, false, 4096, "from 1 to 4096"},
        {"metrics_max_sessions", false, true, 1, false, 4096, "from 1 to 4096"},
        {"metrics_port", false, true, 0, false, 65535, "from 0 to 65535"},
        {"migration_bandwidth_mib_s", false, false, 0, true, 1 << 20,
         "greater than 0 and at most 1048576"},
        {"horizon_s", false, false, 0, true, 86400, "greater than 0 and at most 86400"},
        {"round_s", false, false, 0, true, 3600, "greater than 0 and at most 3600"},
        {"max_tracked_extents", false, true, 1024, false, 4294967296.0, "from 1024 to 4294967296"},
        {"latency_ms", true, false, 0, false, 3'600'000, "at least 0 and at most 3600000"},
        {"capacity_bytes", true, true, 0, false, 4611686018427387904.0,
         "from 0 to 4611686018427387904"},
        {"cost_per_gib", true, false, 0, false, 1e9, "at least 0 and at most 1000000000"},
    };
    for (const NumericKey& k : keys) {
        std::vector<std::pair<std::string, bool>> values;  // value, accepted
        if (k.whole) {
            const auto min = static_cast<std::uint64_t>(k.min);
            const auto max = static_cast<std::uint64_t>(k.max);
            if (min > 0) values.push_back({std::to_string(min - 1), false});
            values.push_back({std::to_string(min), true});
            values.push_back({std::to_string(max), true});
            values.push_back({std::to_string(max + 1), false});
            values.push_back({"0", min == 0});
            values.push_back({"99999999999999999999999", false});
        } else {
            values.push_back({number_text(k.min), !k.min_exclusive});
            values.push_back({number_text(k.min + 0.001), true});
            values.push_back({number_text(k.max), true});
            values.push_back({number_text(k.max * 1.001), false});
            values.push_back({"0", !k.min_exclusive});
            values.push_back({"1e308", false});
            values.push_back({"1e999", false});
            values.push_back({"nan", false});
            values.push_back({"inf", false});
            values.push_back({"-inf", false});
        }
        values.push_back({"-1", false});
        for (const auto& [value, accepted] : values) {
            SCOPED_TRACE(std::string(k.key) + " = " + value);
            const std::string text =
                std::string(k.in_tier ? "[tier nvme-a]\n" : "") + k.key + " = " + value + "\n";
            const ConfigOutcome out = parse_gateway_config(text, "rbdtier.conf");
            EXPECT_EQ(out.ok(), accepted) << out.message();
            if (out.ok()) continue;
            EXPECT_NE(out.reason.find(std::string(k.key) + ": '" + value + "'"), std::string::npos)
                << out.message();
            EXPECT_NE(out.reason.find(k.range), std::string::npos) << out.message();
        }
    }
}

TEST(GatewayConfig, MissingFileIsRefusedWithTheFileName) {
    const ConfigOutcome out = load_gateway_config("/nonexistent/rbdtier.conf");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.line, 0);
    EXPECT_NE(out.message().find("/nonexistent/rbdtier.conf: cannot read"), std::string::npos);
}

TEST(GatewayConfig, LoadsAFile) {
    const std::string path = ::testing::TempDir() + "/gateway_config_test.conf";
    { std::ofstream(path) << "site = site-b\n[tier nvme-b]\nsite = site-b\n"; }
    const ConfigOutcome out = load_gateway_config(path);
    std::remove(path.c_str());
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(out.config->site, "site-b");
    EXPECT_EQ(out.config->tiers.at("nvme-b").site, "site-b");
}

// Every key of the shipped file is at its default but tenant_pool, which names the pool
// `rbdtier tenant create` uses out of the box (the default, empty, asks for --pool).
TEST(GatewayConfig, TheShippedExampleParsesToTheDefaults) {
    const ConfigOutcome out = load_gateway_config(RBDTIER_EXAMPLE_CONF);
    ASSERT_TRUE(out.ok()) << out.message();
    GatewayConfig expected;
    expected.tenant_pool = "rbd";
    EXPECT_EQ(*out.config, expected);
}

}  // namespace
}  // namespace rbdtier
