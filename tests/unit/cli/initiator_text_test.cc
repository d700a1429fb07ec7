// The initiators in the text forms of `rbdtier lun show` and `rbdtier heat`, from replies shaped
// as the gateway gives them (handler/admin_commands.cc initiators_json).
#include "cli/initiator_text.h"

#include <gtest/gtest.h>

#include <sstream>

namespace rbdtier::cli {
namespace {

using nlohmann::json;

const char* kAlpha = "iqn.2026-12.test:alpha";
const char* kBeta = "iqn.2026-12.test:beta";

json activity_entry(std::uint64_t id, json name, std::uint64_t commands, json extents) {
    return {{"initiator", id},         {"initiator_name", std::move(name)},
            {"commands", commands},    {"read_bytes", 4u << 20},
            {"write_bytes", 1u << 20}, {"extents", std::move(extents)}};
}

// Two initiators on different regions, as under the real target with configfs attribution.
json configfs_initiators() {
    return {{"source", "configfs"},
            {"attribution", "apportioned"},
            {"problem", nullptr},
            {"backstore", "core/user_1/lun0"},
            {"samples", 12},
            {"configfs", json::array({{{"initiator", 1},
                                       {"name", kAlpha},
                                       {"num_cmds", 300},
                                       {"read_mib", 4},
                                       {"write_mib", 1},
                                       {"cmds_last_interval", 30},
                                       {"share", 0.75}},
                                      {{"initiator", 2},
                                       {"name", kBeta},
                                       {"num_cmds", 100},
                                       {"read_mib", 0},
                                       {"write_mib", 2},
                                       {"cmds_last_interval", 10},
                                       {"share", 0.25}}})},
            {"activity", json::array({activity_entry(1, kAlpha, 300, json::array({{0, 3}, {8, 8}})),
                                      activity_entry(2, kBeta, 100, json::array({{3, 5}}))})},
            {"untracked_commands", 0},
            {"extent_bytes", 4u << 20}};
}

std::string rendered(const json& initiators) {
    std::ostringstream out;
    render_initiators(initiators, out);
    return out.str();
}

TEST(InitiatorText, ExtentRunsAreCompact) {
    EXPECT_EQ(extent_runs(json::array({{0, 3}, {8, 8}, {12, 15}})), "0-3 8 12-15");
    EXPECT_EQ(extent_runs(json::array()), "-");
    EXPECT_EQ(extent_runs(json()), "-");
    // Malformed runs are skipped, not fatal.
    EXPECT_EQ(extent_runs(json::array({{5, 2}, {"a", 1}, 7, {4, 4}})), "4");
}

TEST(InitiatorText, LunShowNamesEachInitiatorWithItsCountersAndExtents) {
    const std::string text = rendered(configfs_initiators());
    EXPECT_NE(text.find("attributed from the target's configfs counters (apportioned, 12 samples "
                        "of core/user_1/lun0)"),
              std::string::npos)
        << text;
    // The configfs counters per ACL.
    EXPECT_NE(text.find("ACL"), std::string::npos) << text;
    EXPECT_NE(text.find("75.0%"), std::string::npos) << text;
    // The activity: one row per initiator, its name, commands, bytes and extents.
    EXPECT_NE(text.find("INITIATOR"), std::string::npos) << text;
    std::istringstream lines(text);
    bool alpha = false, beta = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(kAlpha, 0) == 0 && line.find("0-3 8") != std::string::npos &&
            line.find("300") != std::string::npos && line.find("4.0 MiB") != std::string::npos)
            alpha = true;
        if (line.rfind(kBeta, 0) == 0 && line.find("3-5") != std::string::npos &&
            line.find("100") != std::string::npos)
            beta = true;
    }
    EXPECT_TRUE(alpha) << text;
    EXPECT_TRUE(beta) << text;
}

TEST(InitiatorText, LunShowSaysSharedHostNamedAndNothingYet) {
    json shared = {
        {"source", "host"},
        {"activity", json::array({activity_entry(0, "shared", 5, json::array({{0, 0}}))})},
        {"untracked_commands", 7}};
    std::string text = rendered(shared);
    EXPECT_NE(text.find("named by the host"), std::string::npos) << text;
    EXPECT_NE(text.find("\nshared "), std::string::npos) << text;
    EXPECT_NE(text.find("7 commands of initiators beyond the tracked ones"), std::string::npos)
        << text;

    text = rendered({{"source", "none"}, {"activity", json::array()}});
    EXPECT_NE(text.find("not attributed"), std::string::npos) << text;
    EXPECT_NE(text.find("no command attributed yet"), std::string::npos) << text;

    json problem = configfs_initiators();
    problem["attribution"] = "shared";
    problem["problem"] = "no ACL maps this backstore";
    text = rendered(problem);
    EXPECT_NE(text.find("(shared, "), std::string::npos) << text;
    EXPECT_NE(text.find("problem: no ACL maps this backstore"), std::string::npos) << text;
}

TEST(InitiatorText, OlderOrOddRepliesPrintNothingOrSkipTheOddParts) {
    EXPECT_EQ(rendered(json()), "");
    EXPECT_EQ(rendered(json::array()), "");
    // Wrong types inside: no throw, the rest printed.
    json odd = {{"source", 5}, {"configfs", "x"}, {"activity", json::array({7, {{"extents", 3}}})}};
    EXPECT_NO_THROW((void)rendered(odd));
    EXPECT_TRUE(initiator_map(json(), 0, 10).by_extent.empty());
    EXPECT_EQ(initiator_map(odd, 0, 10).legend, "");
}

TEST(InitiatorText, HeatMapMarksEachExtentWithItsInitiator) {
    const InitiatorMap map = initiator_map(configfs_initiators(), 0, 16);
    EXPECT_EQ(map.legend, std::string("who: a=") + kAlpha + " b=" + kBeta + " +=several");
    std::string row;
    for (std::uint64_t x = 0; x < 10; ++x) {
        const auto it = map.by_extent.find(x);
        row += it == map.by_extent.end() ? ' ' : it->second;
    }
    EXPECT_EQ(row, "aaa+bb  a ");
}

TEST(InitiatorText, HeatMapKeepsToTheExtentsShown) {
    // Extents 4..7 shown: alpha's 0-3 is outside, so only beta (4, 5) is named.
    const InitiatorMap map = initiator_map(configfs_initiators(), 4, 4);
    EXPECT_EQ(map.legend, std::string("who: b=") + kBeta);
    EXPECT_EQ(map.by_extent.size(), 2u);
    EXPECT_EQ(map.by_extent.at(4), 'b');
    // The shared initiator is '~'; nothing shown when no extent is in the window.
    json shared = {
        {"activity", json::array({activity_entry(0, "shared", 1, json::array({{2, 2}}))})}};
    EXPECT_EQ(initiator_map(shared, 0, 4).legend, "who: ~=shared");
    EXPECT_EQ(initiator_map(shared, 0, 4).by_extent.at(2), '~');
    EXPECT_EQ(initiator_map(shared, 3, 4).legend, "");
    EXPECT_EQ(initiator_map(shared, 0, 0).legend, "");
    // A run reaching the last extent of a huge LUN costs only the window.
    json huge = {{"activity",
                  json::array({activity_entry(1, kAlpha, 1, json::array({{0, UINT64_MAX - 1}}))})}};
    EXPECT_EQ(initiator_map(huge, UINT64_MAX - 8, 4).by_extent.size(), 4u);
    json top = {{"activity", json::array({activity_entry(
                                 1, kAlpha, 1, json::array({{UINT64_MAX - 1, UINT64_MAX}}))})}};
    EXPECT_EQ(initiator_map(top, UINT64_MAX - 2, 100).by_extent.size(), 2u);
}

}  // namespace
}  // namespace rbdtier::cli
