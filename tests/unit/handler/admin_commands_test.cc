#include "handler/admin_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/log.h"

namespace rbdtier {
namespace {

using nlohmann::json;

json req(const std::string& command, json extra = json::object()) {
    extra["prefix"] = command;
    return extra;
}

// The reply as the CLI sees it: {"result": ...}, or {"error": "<message>", "errno": N}.
json handle(AdminCommands& commands, const json& request) {
    const AdminReply r = commands.handle(request);
    if (r.error != 0) return {{"error", r.message}, {"errno", r.error}};
    return {{"result", r.result}};
}

TEST(AdminCommands, UnknownCommandIsEinvalAndHelpListsEveryCommand) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    const json reply = handle(commands, req("frobnicate"));
    EXPECT_EQ(reply["error"], "unknown command prefix frobnicate ('help' lists the commands)");
    EXPECT_EQ(reply["errno"], EINVAL);
    EXPECT_EQ(handle(commands, json{{"command", "status"}})["error"],
              "invalid request: no string \"prefix\"");

    const json help = handle(commands, req("help"))["result"];
    EXPECT_EQ(help.size(), AdminCommands::known().size());
    for (const std::string& name : AdminCommands::known()) {
        ASSERT_TRUE(help.contains(name)) << name;
        EXPECT_FALSE(help[name].get<std::string>().empty()) << name;
    }
    for (const char* name : {"status", "lun show", "pin", "reload", "help", "version"})
        EXPECT_TRUE(help.contains(name)) << name;
    EXPECT_EQ(handle(commands, req("version"))["result"]["version"], RBDTIER_VERSION);
}

// What `ceph daemon` reads before it sends a command: each command's signature, in the form of
// Ceph's dump_cmd_to_json(), which its argparse validates the command line against.
TEST(AdminCommands, CommandDescriptionsAreCephSignatures) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    const json d = handle(commands, req("get_command_descriptions"))["result"];
    ASSERT_EQ(d.size(), AdminCommands::known().size());
    EXPECT_EQ(d["cmd000"]["sig"], json::array({"status"}));
    bool found_pin = false;
    for (const auto& [section, c] : d.items()) {
        EXPECT_TRUE(c["help"].is_string()) << section;
        if (c["sig"][0] != "pin") continue;
        found_pin = true;
        EXPECT_EQ(c["sig"], json::parse(R"(["pin",
            {"name":"lun","type":"CephString"},
            {"name":"range","type":"CephString"},
            {"name":"tier","type":"CephString"}])"));
    }
    EXPECT_TRUE(found_pin);
    bool found_heat = false;
    for (const auto& [section, c] : d.items()) {
        if (c["sig"][0] != "heat") continue;
        found_heat = true;
        EXPECT_EQ(c["sig"][2], json::parse(R"({"name":"first","type":"CephInt","range":"0",
            "req":"false"})"));
    }
    EXPECT_TRUE(found_heat);
}

TEST(AdminCommands, LunCommandsNeedAKnownLun) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    EXPECT_EQ(handle(commands, req("lun show"))["error"], "missing argument 'lun'");
    EXPECT_EQ(handle(commands, req("lun show", {{"lun", "nope"}}))["error"], "unknown LUN 'nope'");
    EXPECT_EQ(handle(commands, req("lun show", {{"lun", "nope"}}))["errno"], ENOENT);
    EXPECT_EQ(handle(commands, req("scrub", {{"lun", "nope"}}))["error"], "unknown LUN 'nope'");
    EXPECT_EQ(handle(commands, req("migrations", {{"limit", -1}}))["error"],
              "'limit' must be a non-negative integer");
}

TEST(AdminCommands, StatusAndLunListSeeRegisteredLuns) {
    GatewayConfig config;
    config.site = "site-b";
    Gateway gateway(config, "/nonexistent.conf");
    AdminCommands commands(gateway);
    std::string error;
    GatewayLun lun;
    lun.name = "lun0";
    lun.pool = "hdd-a";
    lun.image = "img0";
    lun.size_bytes = 1 << 30;
    auto registration = gateway.add_lun(lun, error);
    ASSERT_TRUE(registration.registered()) << error;
    EXPECT_FALSE(gateway.add_lun(lun, error).registered());
    EXPECT_EQ(error, "LUN 'lun0' is already registered");

    json status = handle(commands, req("status"));
    ASSERT_TRUE(status.contains("result")) << status.dump();
    EXPECT_EQ(status["result"]["site"], "site-b");
    EXPECT_EQ(status["result"]["paused"], false);
    ASSERT_EQ(status["result"]["luns"].size(), 1u);
    EXPECT_EQ(status["result"]["luns"][0]["name"], "lun0");
    EXPECT_TRUE(status["result"]["luns"][0]["engine"].is_null());

    const json list = handle(commands, req("lun list"));
    ASSERT_EQ(list["result"]["luns"].size(), 1u);
    EXPECT_EQ(list["result"]["luns"][0]["size_bytes"], 1u << 30);
    EXPECT_EQ(list["result"]["luns"][0]["tiered"], false);
    EXPECT_EQ(handle(commands, req("map", {{"lun", "lun0"}}))["error"], "LUN 'lun0' is not tiered");

    registration.reset();
    EXPECT_EQ(handle(commands, req("lun list"))["result"]["luns"].size(), 0u);
}

TEST(AdminCommands, PauseAndResume) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    EXPECT_EQ(handle(commands, req("pause"))["result"]["paused"], true);
    EXPECT_TRUE(gateway.paused());
    EXPECT_EQ(handle(commands, req("status"))["result"]["paused"], true);
    EXPECT_EQ(handle(commands, req("resume"))["result"]["paused"], false);
    EXPECT_FALSE(gateway.paused());
}

TEST(AdminCommands, ReloadKeepsTheLastGoodConfig) {
    const std::string path =
        ::testing::TempDir() + "/admin_reload." + std::to_string(::getpid()) + ".conf";
    std::ofstream(path) << "site = site-a\nhorizon_s = 10\n";
    const ConfigOutcome first = load_gateway_config(path);
    ASSERT_TRUE(first.ok()) << first.message();
    Gateway gateway(*first.config, path);
    AdminCommands commands(gateway);

    std::ofstream(path) << "site = site-b\nhorizon_s = later\n";
    const json refused = handle(commands, req("reload"));
    EXPECT_EQ(refused["error"],
              "config refused, previous one kept: " + path +
                  ":2: horizon_s: 'later' is not a number (must be greater than 0 "
                  "and at most 86400)");
    EXPECT_EQ(gateway.config().site, "site-a");
    EXPECT_DOUBLE_EQ(gateway.config().horizon_s, 10);

    std::ofstream(path) << "site = site-b\nhorizon_s = 20\n";
    EXPECT_EQ(handle(commands, req("reload"))["result"]["reloaded"], true);
    EXPECT_EQ(gateway.config().site, "site-b");
    EXPECT_DOUBLE_EQ(gateway.config().horizon_s, 20);
    std::remove(path.c_str());
}

// Commands that change the gateway's state are logged once each, with their arguments and
// outcome (info) or the reason they were refused (warning); queries are not logged.
TEST(AdminCommands, StateChangesAreLoggedOnceAndQueriesNot) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    using log::Level;
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    std::string error;
    GatewayLun lun;
    lun.name = "hdd-a/img0";
    lun.pool = "hdd-a";
    lun.image = "img0";
    auto registration = gateway.add_lun(lun, error);
    ASSERT_TRUE(registration.registered()) << error;
    capture.clear();

    for (const char* query : {"status", "lun list", "tier list", "migrations", "alerts",
                              "forecast accuracy", "help", "version", "get_command_descriptions"})
        (void)handle(commands, req(query));
    (void)handle(commands, req("lun show", {{"lun", "hdd-a/img0"}}));
    (void)handle(commands, req("map", {{"lun", "hdd-a/img0"}}));   // refused: not tiered
    (void)handle(commands, req("heat", {{"lun", "hdd-a/img0"}}));  // refused: not tiered
    (void)handle(commands, req("frobnicate"));
    EXPECT_TRUE(capture.records().empty()) << capture.records()[0].render();

    ASSERT_EQ(handle(commands, req("pause"))["result"]["paused"], true);
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].level, Level::kInfo);
    EXPECT_EQ(capture.records()[0].render(),
              "admin pause: migrations paused on every LUN of the gateway");
    capture.clear();
    ASSERT_EQ(handle(commands, req("resume"))["result"]["paused"], false);
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].render(),
              "admin resume: migrations resumed on every LUN of the gateway");
    capture.clear();

    // Refused: the LUN, the command and its arguments, and why.
    (void)handle(commands, req("pin", {{"lun", "hdd-a/img0"}, {"range", "0-3"}, {"tier", "n"}}));
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].level, Level::kWarning);
    EXPECT_EQ(capture.records()[0].render(),
              "hdd-a/img0: admin pin range=0-3 tier=n refused: LUN 'hdd-a/img0' is not tiered");
    capture.clear();
    (void)handle(commands, req("scrub", {{"lun", "nope"}}));
    (void)handle(commands, req("unpin", {{"range", "all"}}));
    (void)handle(commands, req("lun evacuate", {{"lun", "hdd-a/img0"}}));
    const auto refused = capture.records();
    ASSERT_EQ(refused.size(), 3u);
    EXPECT_EQ(refused[0].render(), "nope: admin scrub refused: unknown LUN 'nope'");
    EXPECT_EQ(refused[1].render(), "admin unpin range=all refused: missing argument 'lun'");
    EXPECT_EQ(refused[2].render(),
              "hdd-a/img0: admin lun evacuate refused: LUN 'hdd-a/img0' is not tiered");
    for (const log::Record& r : refused) EXPECT_EQ(r.level, Level::kWarning) << r.text;

    // A long argument is cut: the line stays short whatever the request holds.
    capture.clear();
    (void)handle(commands, req("pin", {{"lun", "hdd-a/img0"}, {"range", std::string(10000, '9')}}));
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_LT(capture.records()[0].text.size(), 400u) << capture.records()[0].text;
}

TEST(AdminCommands, ReloadIsLoggedWithTheSettingsInForceOrWhyItWasRefused) {
    const std::string path =
        ::testing::TempDir() + "/admin_reload_log." + std::to_string(::getpid()) + ".conf";
    std::ofstream(path) << "site = site-a\n";
    Gateway gateway(*load_gateway_config(path).config, path);
    AdminCommands commands(gateway);
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);

    std::ofstream(path) << "site = site-b\nmigration_bandwidth_mib_s = 50\n";
    EXPECT_EQ(handle(commands, req("reload"))["result"]["reloaded"], true);
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].level, log::Level::kInfo);
    EXPECT_EQ(capture.records()[0].render(),
              "admin reload: " + path +
                  " in force: site site-b, migration bandwidth 50 MiB/s, horizon 120 s, round 1 s");
    capture.clear();

    std::ofstream(path) << "site = site-c\nhorizon_s = later\n";
    EXPECT_EQ(handle(commands, req("reload"))["errno"], EINVAL);
    ASSERT_EQ(capture.records().size(), 1u);
    EXPECT_EQ(capture.records()[0].level, log::Level::kWarning);
    EXPECT_EQ(
        capture.records()[0].render(),
        "admin reload refused: config refused, previous one kept: " + path +
            ":2: horizon_s: 'later' is not a number (must be greater than 0 and at most 86400)");
    std::remove(path.c_str());
}

TEST(AdminCommands, ScrubOfAnUntieredOrUnknownLunIsRefused) {
    Gateway gateway({}, "/nonexistent.conf");
    GatewayLun lun;
    lun.name = "hdd-a/img0";
    lun.pool = "hdd-a";
    lun.image = "img0";
    lun.size_bytes = 1 << 30;
    std::string error;
    auto registration = gateway.add_lun(lun, error);
    ASSERT_TRUE(registration.registered()) << error;
    AdminCommands commands(gateway);
    EXPECT_EQ(handle(commands, req("scrub", {{"lun", "hdd-a/img0"}}))["error"],
              "LUN 'hdd-a/img0' is not tiered");
    const json none = handle(commands, req("scrub status", {{"lun", "hdd-a/img0"}}));
    EXPECT_EQ(none["errno"], ENOENT);
    EXPECT_EQ(none["error"], "no scrub of hdd-a/img0 since it opened");
    const json unknown = handle(commands, req("scrub status", {{"lun", "nope"}}));
    EXPECT_EQ(unknown["errno"], ENOENT);
    EXPECT_EQ(unknown["error"], "unknown LUN 'nope'");
}

}  // namespace
}  // namespace rbdtier
