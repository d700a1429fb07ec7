#include "handler/admin_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace rbdtier {
namespace {

using nlohmann::json;

json req(const std::string& command, json extra = json::object()) {
    extra["version"] = 1;
    extra["command"] = command;
    return extra;
}

TEST(AdminCommands, UnknownCommandListsTheKnownOnes) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    const json reply = commands.handle(req("frobnicate"));
    EXPECT_EQ(reply["error"], "unknown command 'frobnicate'");
    EXPECT_EQ(reply["known"].size(), AdminCommands::known().size());
    EXPECT_NE(std::find(reply["known"].begin(), reply["known"].end(), "status"),
              reply["known"].end());
}

TEST(AdminCommands, VersionAndCommandAreRequired) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    EXPECT_EQ(commands.handle(json{{"command", "status"}})["error"],
              "malformed request: missing integer 'version'");
    EXPECT_NE(commands.handle(json{{"version", 2}, {"command", "status"}})["error"]
                  .get<std::string>()
                  .find("unsupported protocol version 2"),
              std::string::npos);
    EXPECT_EQ(commands.handle(json{{"version", 1}, {"command", 3}})["error"],
              "malformed request: missing string 'command'");
}

TEST(AdminCommands, LunCommandsNeedAKnownLun) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    EXPECT_EQ(commands.handle(req("lun show"))["error"], "missing argument 'lun'");
    EXPECT_EQ(commands.handle(req("lun show", {{"lun", "nope"}}))["error"], "unknown LUN 'nope'");
    EXPECT_EQ(commands.handle(req("scrub", {{"lun", "nope"}}))["error"], "unknown LUN 'nope'");
    EXPECT_EQ(commands.handle(req("migrations", {{"limit", -1}}))["error"],
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

    json status = commands.handle(req("status"));
    ASSERT_TRUE(status.contains("result")) << status.dump();
    EXPECT_EQ(status["version"], 1);
    EXPECT_EQ(status["result"]["site"], "site-b");
    EXPECT_EQ(status["result"]["paused"], false);
    ASSERT_EQ(status["result"]["luns"].size(), 1u);
    EXPECT_EQ(status["result"]["luns"][0]["name"], "lun0");
    EXPECT_TRUE(status["result"]["luns"][0]["engine"].is_null());

    const json list = commands.handle(req("lun list"));
    ASSERT_EQ(list["result"]["luns"].size(), 1u);
    EXPECT_EQ(list["result"]["luns"][0]["size_bytes"], 1u << 30);
    EXPECT_EQ(list["result"]["luns"][0]["tiered"], false);
    EXPECT_EQ(commands.handle(req("map", {{"lun", "lun0"}}))["error"], "LUN 'lun0' is not tiered");

    registration.reset();
    EXPECT_EQ(commands.handle(req("lun list"))["result"]["luns"].size(), 0u);
}

TEST(AdminCommands, PauseAndResume) {
    Gateway gateway({}, "/nonexistent.conf");
    AdminCommands commands(gateway);
    EXPECT_EQ(commands.handle(req("pause"))["result"]["paused"], true);
    EXPECT_TRUE(gateway.paused());
    EXPECT_EQ(commands.handle(req("status"))["result"]["paused"], true);
    EXPECT_EQ(commands.handle(req("resume"))["result"]["paused"], false);
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
    const json refused = commands.handle(req("reload"));
    EXPECT_EQ(refused["error"], "config refused, previous one kept: " + path +
                                    ":2: horizon_s: 'later' is not a number");
    EXPECT_EQ(gateway.config().site, "site-a");
    EXPECT_DOUBLE_EQ(gateway.config().horizon_s, 10);

    std::ofstream(path) << "site = site-b\nhorizon_s = 20\n";
    EXPECT_EQ(commands.handle(req("reload"))["result"]["reloaded"], true);
    EXPECT_EQ(gateway.config().site, "site-b");
    EXPECT_DOUBLE_EQ(gateway.config().horizon_s, 20);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace rbdtier
