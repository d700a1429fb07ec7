// parse_replay_config_json: the replay's tier/config JSON. Every bad file is a
// std::invalid_argument naming the JSON path; numbers are range-checked before they become
// integers.
#include "cli/replay_config_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

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

TEST(ReplayConfigJson, NumbersTooLargeForTheirSettingAreRefusedWithThePath) {
    EXPECT_NE(refusal(R"({"tiers":[{"name":"a","capacity_bytes":1e300}]})")
                  .find("$.tiers[0].capacity_bytes: must be below"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"tiers":[{"name":"a","capacity_gib":1e300}]})")
                  .find("$.tiers[0].capacity_gib: must be below"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"max_concurrent": 1e10})").find("$.max_concurrent: must be below"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"round_s": 1e300})").find("$.round_s: must be below"), std::string::npos);
    EXPECT_NE(refusal(R"({"horizon_s": 1e300})").find("$.horizon_s: must be below"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"extent_mib": 1e300})").find("$.extent_mib: must be below"),
              std::string::npos);
    EXPECT_NE(
        refusal(R"({"tenants":[{"luns":[1e20]}]})").find("$.tenants[0].luns[0]: must be below"),
        std::string::npos);
    EXPECT_NE(refusal(R"({"tenants":[{"quota_gib":{"hdd-a":1e300}}]})")
                  .find("$.tenants[0].quota_gib.hdd-a: must be below"),
              std::string::npos);
}

TEST(ReplayConfigJson, AHugeBandwidthSaturatesTheBurstInsteadOfOverflowing) {
    const ReplayConfigFile f = parse_replay_config_json(R"({"bandwidth_mib_s": 1e300})");
    EXPECT_EQ(f.config.bucket_bytes(), std::numeric_limits<std::uint64_t>::max());
}

}  // namespace
}  // namespace rbdtier::cli
