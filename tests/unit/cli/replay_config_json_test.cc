// parse_replay_config_json: the replay's tier/config JSON. Every bad file is a
// std::invalid_argument naming the JSON path; numbers are range-checked before they become
// integers.
#include "cli/replay_config_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rbdtier::cli {
namespace {

// The message of the std::invalid_argument that parsing `text` throws ("" if it parses).
std::string refusal(const std::string& text) {
    try {
        (void)parse_replay_config_json(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

TEST(ReplayConfigJson, ParsesTiersTenantsAndSettings) {
    const ReplayConfigFile f = parse_replay_config_json(
        R"({"tiers":[{"name":"nvme-a","capacity_gib":2},{"name":"hdd-a"}],"home":"hdd-a",
            "tenants":[{"name":"t0","luns":[0,1],"quota_bytes":{"nvme-a":4096}}],
            "extent_mib":4,"max_concurrent":8,"round_s":0.5,"horizon_s":60})");
    ASSERT_EQ(f.config.tiers.size(), 2u);
    EXPECT_EQ(f.config.tiers[0].spec.capacity_bytes, 2ull << 30);
    EXPECT_EQ(f.config.default_home, 1u);
    EXPECT_EQ(f.config.max_concurrent, 8u);
    EXPECT_EQ(f.config.round_us, 500'000u);
    EXPECT_EQ(f.config.horizon_us, 60'000'000u);
    ASSERT_EQ(f.config.tenants.size(), 1u);
    EXPECT_EQ(f.config.tenants[0].quota_bytes.at(0), 4096u);
}

TEST(ReplayConfigJson, ANumberTooLargeForJsonIsRefusedAsBadJson) {
    EXPECT_NE(refusal(R"({"round_s": 1e999})").find("not valid JSON"), std::string::npos);
}

// Every numeric setting at and around the ends of its range, and values no range holds: inside
// it the file parses, outside it the refusal names the JSON path and the range.
TEST(ReplayConfigJson, EveryNumberIsBoundedAndTheRefusalNamesThePathAndTheRange) {
    const struct {
        const char* path;  // as the refusal names it
        const char* before;
        const char* after;  // the JSON around the value
        double min;
        bool min_exclusive;
        double max;
        const char* range;
    } keys[] = {
        {"$.tiers[0].read_latency_us", R"({"tiers":[{"name":"a","read_latency_us":)", "}]}", 0,
         false, 3.6e9, "at least 0 and at most 3600000000"},
        {"$.tiers[0].write_us_per_kib", R"({"tiers":[{"name":"a","write_us_per_kib":)", "}]}", 0,
         false, 1e6, "at least 0 and at most 1000000"},
        {"$.tiers[0].capacity_bytes", R"({"tiers":[{"name":"a","capacity_bytes":)", "}]}", 0, false,
         4611686018427387904.0, "at least 0 and at most 4611686018427387904"},
        {"$.tiers[0].capacity_gib", R"({"tiers":[{"name":"a","capacity_gib":)", "}]}", 0, false,
         4294967296.0, "at least 0 and at most 4294967296"},
        {"$.tiers[0].capacity_fraction", R"({"tiers":[{"name":"a","capacity_fraction":)", "}]}", 0,
         true, 1, "greater than 0 and at most 1"},
        {"$.tiers[0].cost_per_gib", R"({"tiers":[{"name":"a","cost_per_gib":)", "}]}", 0, false,
         1e9, "at least 0 and at most 1000000000"},
        {"$.extent_mib", R"({"extent_mib":)", "}", 0.004, false, 1024,
         "at least 0.004 and at most 1024"},
        {"$.bandwidth_mib_s", R"({"bandwidth_mib_s":)", "}", 1e-6, false, 1 << 20,
         "at least 1e-06 and at most 1048576"},
        {"$.max_concurrent", R"({"max_concurrent":)", "}", 1, false, 65536,
         "at least 1 and at most 65536"},
        {"$.round_s", R"({"round_s":)", "}", 0.001, false, 3600, "at least 0.001 and at most 3600"},
        {"$.horizon_s", R"({"horizon_s":)", "}", 0, false, 86400, "at least 0 and at most 86400"},
        {"$.tenants[0].luns[0]", R"({"tenants":[{"luns":[)", "]}]}", 0, false, 16777215,
         "at least 0 and at most 16777215"},
        {"$.tenants[0].quota_bytes.hdd-a", R"({"tenants":[{"quota_bytes":{"hdd-a":)", "}}]}", 0,
         false, 4611686018427387904.0, "at least 0 and at most 4611686018427387904"},
        {"$.tenants[0].quota_gib.hdd-a", R"({"tenants":[{"quota_gib":{"hdd-a":)", "}}]}", 0, false,
         4294967296.0, "at least 0 and at most 4294967296"},
        {"$.tenants[0].priority", R"({"tenants":[{"priority":)", "}]}", 0, true, 1e6,
         "greater than 0 and at most 1000000"},
    };
    const auto text = [](double v) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string(buf);
    };
    for (const auto& k : keys) {
        const bool whole = k.min == std::floor(k.min) && k.max == std::floor(k.max) &&
                           std::string(k.path).find("luns") != std::string::npos;
        const std::vector<std::pair<std::string, bool>> values = {
            {text(k.min), !k.min_exclusive},
            {text(k.min + (whole ? 1 : k.max * 1e-6)), true},
            {text(k.max), true},
            {text(k.max * 1.01 + 1), false},
            {text(k.min - 1), false},
            {"-1", false},
            {"0", k.min == 0 && !k.min_exclusive},
            {"1e300", false},
            {"-1e300", false},
        };
        for (const auto& [value, accepted] : values) {
            SCOPED_TRACE(std::string(k.path) + " = " + value);
            const std::string why = refusal(k.before + value + k.after);
            EXPECT_EQ(why.empty(), accepted) << why;
            if (accepted) continue;
            EXPECT_EQ(why.rfind(std::string(k.path) + ": ", 0), 0u) << why;
            EXPECT_NE(why.find(k.range), std::string::npos) << why;
        }
    }
}

TEST(ReplayConfigJson, NonNumbersAreRefusedWithThePath) {
    EXPECT_EQ(refusal(R"({"horizon_s": "soon"})"), "$.horizon_s: expected a number");
    EXPECT_EQ(refusal(R"({"horizon_s": null})"), "$.horizon_s: expected a number");
}

TEST(ReplayConfigJson, TheLargestBandwidthFitsTheBurst) {
    const ReplayConfigFile f =
        parse_replay_config_json(R"({"bandwidth_mib_s": 1048576, "round_s": 3600})");
    EXPECT_EQ(f.config.bucket_bytes(), 1ull << 40);  // one second of it, whatever the round
}

}  // namespace
}  // namespace rbdtier::cli
