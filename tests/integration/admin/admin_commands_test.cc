// The `rbdtier` CLI against a Gateway serving a tiered LUN on the local cluster: every admin
// verb with --format json, checked against what the LUN's LunTiering and placement map say;
// bad input (unknown LUN, unknown verb, open socket permissions, malformed JSON, bad config on
// reload) gets a clear message and a failing exit code while the LUN keeps serving I/O.
// heat, forecast accuracy, alerts, pin/unpin and the migration queue: their JSON against what
// the LunTiering and its policy hold; bad ranges, unknown tiers/LUNs refused with the reason.
#include "handler/admin_commands.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "../tiering/live_tiers.h"
#include "../tiering/tiered_storage_fixture.h"
#include "ceph/lun_tiering.h"
#include "engine/policy/policy_registry.h"
#include "handler/gateway.h"
#include "handler/metrics_server.h"
#include "tests/support/shell_command.h"

namespace rbdtier::test {
namespace {

using nlohmann::json;
constexpr std::uint64_t kExtent = 4 << 20;
constexpr std::uint64_t kExtents = 8;

using CliRun = test_support::SplitRun;
using test_support::read_file;

// The CLI with stdout and stderr apart.
CliRun run_cli(const std::string& args) {
    return test_support::run_split(std::string(RBDTIER_CLI_PATH) + " " + args,
                                   ::testing::TempDir());
}

json run_json(const std::string& args) {
    const CliRun r = run_cli(args + " --format json");
    EXPECT_EQ(r.code, 0) << args << ": " << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
}

// `lun` (the image `pool/image`) as the gateway serves it, named "lun0"; no tiering rounds.
GatewayLun served_as_lun0(const std::string& pool, const std::string& image, TieredStorage& lun) {
    GatewayLun g;
    g.name = "lun0";
    g.pool = pool;
    g.image = image;
    g.size_bytes = kExtents * kExtent;
    g.images = &lun.images();
    g.map = &lun.map();
    g.migrator = &lun.migrator();
    return g;
}

class CliGateway : public ::testing::Test {
protected:
    void SetUp() override {
        name_ = unique_name("adm");
        lun_ = TieredStorage::create("hdd-a", name_, kExtents * kExtent);
        lun_->write(0, std::vector<char>(kExtents * kExtent, 'a'));
        socket_ = ::testing::TempDir() + "/rbdtier-admin." + std::to_string(::getpid()) + ".asok";
        config_path_ =
            ::testing::TempDir() + "/rbdtier-admin." + std::to_string(::getpid()) + ".conf";
        std::ofstream(config_path_) << "site = site-a\nadmin_socket = " << socket_
                                    << "\nmetrics_port = 0\nmigration_bandwidth_mib_s = 64\n";
        const ConfigOutcome config = load_gateway_config(config_path_);
        ASSERT_TRUE(config.ok()) << config.message();
        std::string error;
        gateway_ = Gateway::load(config_path_, error);
        ASSERT_TRUE(gateway_) << error;
        start_tiering("reactive");
        GatewayLun g = lun0();
        g.io_metrics = &io_metrics_;
        registration_ = gateway_->add_lun(g, error);
        ASSERT_TRUE(registration_.registered()) << error;
        ASSERT_TRUE(gateway_->start_services(error)) << error;
        EXPECT_EQ(gateway_->metrics_port(), 0);  // metrics_port = 0: disabled
    }
    void TearDown() override {
        if (gateway_) gateway_->stop_services();
        registration_.reset();
        tiering_.reset();
        std::remove(config_path_.c_str());
    }

    // tiering_: the built-in `policy` on the LUN, over live_tier_config(3)'s tiers, drawing from
    // the gateway's migration executor and budget.
    void start_tiering(const std::string& policy) {
        const StorageModel rc = live_tier_config(/*nvme_a_extents=*/3);
        LunRoundsOptions options;
        options.round_us = rc.round_us;
        options.executor = gateway_->migration_executor();
        tiering_ = std::make_unique<ceph::LunTiering>(
            lun_->images(), lun_->gate(), lun_->migrator(), tier_specs(rc),
            builtin_policy_registry().create(policy, {rc, {}}), options);
    }

    // The LUN as the gateway serves it: "lun0", run by tiering_.
    GatewayLun lun0() {
        GatewayLun g = served_as_lun0("hdd-a", name_, *lun_);
        g.cluster = &lun_->cluster();  // pins are kept in RADOS
        g.tiering = tiering_.get();
        return g;
    }

    // Reads extents 0..2 until the policy has moved some of them (bounded number of rounds).
    void promote_hot_extents() {
        for (int round = 0; round < 50 && tiering_->stats().moved < 2; ++round) {
            for (std::uint64_t e = 0; e < 3; ++e) {
                IoEvent ev;
                ev.time_us = tiering_->now_us();
                ev.offset = e * kExtent;
                ev.length = 4096;
                ev.op = IoOp::kRead;
                tiering_->record(ev);
                (void)lun_->read(e * kExtent, 4096);
            }
            round_and_settle();
        }
        ASSERT_GE(tiering_->stats().moved, 1u);
    }
    std::string sock() const { return " --socket " + socket_; }

    // One planning round; the gateway's executor then carries its orders out on its own
    // workers: waits (at most 30 s) until none of the LUN's orders waits or runs.
    void round_and_settle() {
        tiering_->run_round();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!tiering_->queue().empty()) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline)
                << "the executor did not carry out the round's " << tiering_->queue().size()
                << " orders";
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    std::string name_, socket_, config_path_;
    std::unique_ptr<TieredStorage> lun_;
    std::unique_ptr<ceph::LunTiering> tiering_;
    std::unique_ptr<Gateway> gateway_;
    LunIoMetrics io_metrics_;
    Gateway::Registration registration_;
};

TEST_F(CliGateway, EveryVerbReportsWhatTheLunHolds) {
    promote_hot_extents();
    const auto stats = tiering_->stats();
    const auto entries = lun_->map().entries();

    const json status = run_json("status" + sock());
    EXPECT_EQ(status["site"], "site-a");
    EXPECT_EQ(status["paused"], false);
    EXPECT_EQ(status["admin_socket"], socket_);
    ASSERT_EQ(status["luns"].size(), 1u);
    EXPECT_EQ(status["luns"][0]["name"], "lun0");
    EXPECT_TRUE(status["luns"][0]["lock_owner"].is_boolean()) << status.dump();
    EXPECT_EQ(status["luns"][0]["engine"]["moved"], stats.moved);

    const json list = run_json("lun list" + sock());
    ASSERT_EQ(list["luns"].size(), 1u);
    EXPECT_EQ(list["luns"][0]["image"], name_);
    std::uint64_t total = 0, on_nvme = 0;
    for (const auto& t : list["luns"][0]["tiers"]) {
        total += t["extents"].get<std::uint64_t>();
        if (t["pool"] == "nvme-a") on_nvme = t["extents"];
    }
    EXPECT_EQ(total, kExtents);
    std::uint64_t mapped_nvme = 0;
    for (const auto& [e, entry] : entries) mapped_nvme += entry.pool == "nvme-a";
    EXPECT_EQ(on_nvme, mapped_nvme);
    EXPECT_GE(on_nvme, 1u);

    const json show = run_json("lun show lun0" + sock());
    EXPECT_EQ(show["size_bytes"], kExtents * kExtent);
    EXPECT_EQ(show["extent_bytes"], kExtent);
    EXPECT_EQ(show["engine"]["bytes_moved"], stats.bytes_moved);

    const json tiers = run_json("tier list" + sock());
    bool saw_nvme = false;
    for (const auto& t : tiers["tiers"]) {
        if (t["pool"] != "nvme-a") continue;
        saw_nvme = true;
        EXPECT_EQ(t["device_class"], "nvme");
        EXPECT_EQ(t["local"], true);
        EXPECT_EQ(t["used_bytes"], mapped_nvme * kExtent);
        EXPECT_EQ(t["capacity_bytes"], 3 * kExtent);
        EXPECT_DOUBLE_EQ(t["latency_ms"].get<double>(), 0.2);
    }
    EXPECT_TRUE(saw_nvme) << tiers.dump();

    const json migrations = run_json("migrations --lun lun0" + sock());
    const auto history = tiering_->history();
    EXPECT_EQ(migrations["total"], history.size());
    std::uint64_t moved = 0;
    for (const auto& m : migrations["history"]) {
        if (m["outcome"] != "moved") continue;
        ++moved;
        EXPECT_EQ(m["bytes"], kExtent);
        const auto it = entries.find(m["extent"].get<std::uint64_t>());
        if (it != entries.end() && it->second.pool == m["to"]) {  // still where this move put it
            EXPECT_EQ(m["crc32c"], it->second.crc);
        }
    }
    EXPECT_EQ(moved, stats.moved);

    const json map = run_json("map lun0" + sock());
    EXPECT_EQ(map["away"].size(), entries.size());
    const CliRun map_table = run_cli("map lun0" + sock());
    EXPECT_EQ(map_table.code, 0);
    EXPECT_NE(map_table.out.find("legend: . = hdd-a (home)"), std::string::npos) << map_table.out;

    const json scrub = run_json("scrub lun0" + sock());
    EXPECT_EQ(scrub["crc_mismatch"], 0);
    EXPECT_EQ(scrub["extents_checked"].get<std::uint64_t>() > 0, true) << scrub.dump();

    // Human tables work too.
    for (const char* verb : {"status", "lun list", "lun show lun0", "tier list", "migrations"}) {
        const CliRun r = run_cli(std::string(verb) + sock());
        EXPECT_EQ(r.code, 0) << verb << ": " << r.err;
        EXPECT_FALSE(r.out.empty()) << verb;
    }
}

TEST_F(CliGateway, PauseStopsMigrationsAndResumeRestartsThem) {
    EXPECT_EQ(run_json("pause" + sock())["paused"], true);
    EXPECT_EQ(run_json("status" + sock())["paused"], true);
    EXPECT_EQ(run_json("lun show lun0" + sock())["engine"]["paused"], true);
    EXPECT_EQ(run_json("resume" + sock())["paused"], false);
    EXPECT_EQ(run_json("status" + sock())["paused"], false);
}

TEST_F(CliGateway, BadInputGetsAClearMessageAndIoGoesOn) {
    CliRun r = run_cli("lun show nope" + sock());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("unknown LUN 'nope'"), std::string::npos) << r.err;
    r = run_cli("lun show nope --format json" + sock());
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(json::parse(r.out)["error"], "unknown LUN 'nope'");

    r = run_cli("frobnicate" + sock());
    EXPECT_EQ(r.code, 2);
    r = run_cli("migrations --limit -3" + sock());
    EXPECT_EQ(r.code, 2);

    // Malformed JSON and a huge request straight on the socket.
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        const std::string junk = "{not json\n" + std::string(200'000, 'x');
        (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
        ::close(fd);
    }
    lun_->write(5 * kExtent, std::vector<char>(4096, 'z'));
    EXPECT_EQ(lun_->read(5 * kExtent, 4096), std::vector<char>(4096, 'z'));
    EXPECT_EQ(run_json("status" + sock())["luns"].size(), 1u);

    // A socket others can reach is refused by the CLI.
    ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
    r = run_cli("status" + sock());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("mode 0666"), std::string::npos) << r.err;
    ASSERT_EQ(::chmod(socket_.c_str(), 0600), 0);

    // A bad config on reload: refused with the line, the running config stays.
    std::ofstream(config_path_) << "site = site-b\nround_s = never\n";
    r = run_cli("reload" + sock());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(config_path_ + ":2: round_s: 'never' is not a number"), std::string::npos)
        << r.err;
    json status = run_json("status" + sock());
    EXPECT_EQ(status["site"], "site-a");
    EXPECT_EQ(status["luns"][0]["migration_bandwidth_mib_s"], 64);
    // The CLI finds the socket through --config as well. The new budget reaches the LUN at once.
    std::ofstream(config_path_) << "site = site-b\nadmin_socket = " << socket_
                                << "\nmigration_bandwidth_mib_s = 32\n";
    EXPECT_EQ(run_json("reload --config " + config_path_)["reloaded"], true);
    status = run_json("status --config " + config_path_);
    EXPECT_EQ(status["site"], "site-b");
    EXPECT_EQ(status["luns"][0]["migration_bandwidth_mib_s"], 32);
    EXPECT_DOUBLE_EQ(tiering_->bandwidth(), 32.0 * (1 << 20));
}

// migrations --follow prints each record once, as JSON lines, and ends (exit 1) when the
// gateway goes away.
TEST_F(CliGateway, MigrationsFollowStreamsRecordsUntilTheGatewayStops) {
    promote_hot_extents();
    const std::size_t records = tiering_->history().size();
    const std::string cmd = std::string(RBDTIER_CLI_PATH) + " migrations --follow --format json" +
                            sock() + " 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::set<std::pair<std::uint64_t, std::uint64_t>> got;
    char line[8192];
    for (std::size_t i = 0; i < records && std::fgets(line, sizeof(line), p); ++i) {
        const json m = json::parse(line);
        EXPECT_EQ(m["lun"], "lun0");
        EXPECT_TRUE(got.emplace(m["start_unix_ms"], m["extent"]).second)
            << "printed twice: " << line;
    }
    EXPECT_EQ(got.size(), records);
    gateway_->stop_services();
    while (std::fgets(line, sizeof(line), p)) {
        const json m = json::parse(line, nullptr, false);
        if (m.is_discarded() || !m.contains("lun")) continue;  // e.g. the final error object
        EXPECT_TRUE(got.emplace(m["start_unix_ms"], m["extent"]).second)
            << "printed twice: " << line;
    }
    const int status = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
}

// The Prometheus endpoint shows the LUN's placement, engine counters and I/O histograms.
TEST_F(CliGateway, MetricsShowPlacementEngineAndIo) {
    promote_hot_extents();
    io_metrics_.record(1, LunIoMetrics::kRead, 4096, 300);
    io_metrics_.record(1, LunIoMetrics::kRead, 4096, 20'000);
    io_metrics_.record(0, LunIoMetrics::kWrite, 8192, 9000);
    ASSERT_TRUE(tiering_->pin(5, 2, 3).is_ok());
    std::string error;
    auto server = MetricsServer::start(
        "127.0.0.1", 0, [this] { return render_metrics(*gateway_); }, error);
    ASSERT_TRUE(server) << error;
    const test_support::ShellRun curl = test_support::run_shell(
        "python3 -c \"import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
        "'http://127.0.0.1:" +
        std::to_string(server->port()) + "/metrics').read().decode())\"");
    ASSERT_EQ(curl.code, 0);
    const std::string& text = curl.out;
    std::uint64_t mapped_nvme = 0;
    for (const auto& [e, entry] : lun_->map().entries()) mapped_nvme += entry.pool == "nvme-a";
    EXPECT_NE(text.find("rbdtier_lun_tier_bytes{lun=\"lun0\",tier=\"nvme-a\"} " +
                        std::to_string(mapped_nvme * kExtent) + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_engine_migrations_total{lun=\"lun0\",outcome=\"moved\"} " +
                        std::to_string(tiering_->stats().moved) + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            "rbdtier_lun_io_latency_seconds_count{lun=\"lun0\",tier=\"nvme-a\",op=\"read\"} 2\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_lun_io_latency_seconds_bucket{lun=\"lun0\",tier=\"nvme-a\",op="
                        "\"read\",le=\"0.01\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find("rbdtier_lun_io_bytes_total{lun=\"lun0\",tier=\"hdd-a\",op=\"write\"} 8192\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_engine_pinned_extents{lun=\"lun0\"} 2\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_engine_queue_length{lun=\"lun0\"} " +
                        std::to_string(tiering_->queue().size()) + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_engine_alerts{lun=\"lun0\"} 0\n"), std::string::npos) << text;
    // The only tiered LUN has the whole budget of rbdtier.conf (64 MiB/s); what it moved in the
    // last 10 s is a share of it.
    EXPECT_NE(
        text.find("rbdtier_engine_bandwidth_budget_bytes_per_second{lun=\"lun0\"} 67108864\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("rbdtier_engine_budget_use_ratio{lun=\"lun0\"} "), std::string::npos)
        << text;
    EXPECT_GT(tiering_->budget_use(), 0) << "extents were just promoted";
    EXPECT_LE(tiering_->budget_use(), 1.0 + 1.0 / 10) << "at most the budget (+ 1 s of burst)";
    EXPECT_NE(text.find("rbdtier_lun_read_hit_ratio{lun=\"lun0\",tier=\"nvme-a\"} 1\n"),
              std::string::npos)
        << "both reads recorded were served by nvme-a\n"
        << text;
    EXPECT_EQ(text.find("rbdtier_forecast_precision_ratio{lun=\"lun0\""), std::string::npos)
        << "reactive makes no forecasts to judge";
    EXPECT_NE(text.find("# TYPE rbdtier_forecast_precision_ratio gauge"), std::string::npos);
}

// heat, pin/unpin (extent and byte ranges), the queue, and refusals, with the reactive policy.
TEST_F(CliGateway, HeatPinUnpinAndQueue) {
    promote_hot_extents();
    const auto entries = lun_->map().entries();

    json heat = run_json("heat lun0" + sock());
    EXPECT_EQ(heat["lun"], "lun0");
    EXPECT_EQ(heat["policy"], "reactive");
    EXPECT_EQ(heat["forecasts"], false) << "reactive makes no forecasts";
    EXPECT_EQ(heat["extents"], kExtents);
    EXPECT_EQ(heat["home"], "hdd-a");
    ASSERT_EQ(heat["heat"].size(), kExtents);
    for (std::uint64_t e = 0; e < kExtents; ++e) {
        const auto it = entries.find(e);
        const std::string where = it == entries.end() ? "hdd-a" : it->second.pool;
        EXPECT_EQ(heat["heat"][e]["extent"], e);
        EXPECT_EQ(heat["heat"][e]["tier"], where) << "extent " << e;
        EXPECT_TRUE(heat["heat"][e]["pinned"].is_null());
    }
    EXPECT_EQ(heat["truncated"], false);
    const json window = run_json("heat lun0 --first 2 --count 3" + sock());
    EXPECT_EQ(window["first"], 2);
    EXPECT_EQ(window["count"], 3);
    EXPECT_EQ(window["truncated"], true);
    ASSERT_EQ(window["heat"].size(), 3u);
    EXPECT_EQ(window["heat"][0]["extent"], 2);
    EXPECT_EQ(window["heat"][2]["tier"], heat["heat"][4]["tier"]);
    EXPECT_EQ(run_json("heat lun0 --first 5 --count 100" + sock())["count"], 3)
        << "a window ends at the LUN's end";
    CliRun table = run_cli("heat lun0" + sock());
    EXPECT_EQ(table.code, 0) << table.err;
    EXPECT_NE(table.out.find("tier |"), std::string::npos) << table.out;

    // Pin extents 4-5 to nvme-b (extents) and 24M-32M (= extents 6-7) to hdd-b (bytes).
    json pinned = run_json("pin lun0 4-5 nvme-b" + sock());
    EXPECT_EQ(pinned["first_extent"], 4);
    EXPECT_EQ(pinned["count"], 2);
    EXPECT_EQ(pinned["tier"], "nvme-b");
    pinned = run_json("pin lun0 24M-32M hdd-b" + sock());
    EXPECT_EQ(pinned["first_extent"], 6);
    EXPECT_EQ(pinned["count"], 2);
    ASSERT_EQ(pinned["pins"].size(), 2u) << pinned.dump();
    EXPECT_EQ(pinned["pins"][0],
              json({{"first_extent", 4}, {"last_extent", 5}, {"count", 2}, {"tier", "nvme-b"}}));
    EXPECT_EQ(pinned["pins"][1],
              json({{"first_extent", 6}, {"last_extent", 7}, {"count", 2}, {"tier", "hdd-b"}}));
    const auto pins = tiering_->pins();
    ASSERT_EQ(pins.size(), 2u);
    EXPECT_EQ(pins[0].tier, *lun_->images().index_of("nvme-b"));
    // Rounds carry the pins out (bounded): the map then has them where they are pinned.
    for (int round = 0; round < 40; ++round) {
        const auto map = lun_->map().entries();
        auto at = [&](std::uint64_t e) {
            auto it = map.find(e);
            return it == map.end() ? std::string("hdd-a") : it->second.pool;
        };
        if (at(4) == "nvme-b" && at(5) == "nvme-b" && at(6) == "hdd-b" && at(7) == "hdd-b") break;
        round_and_settle();
    }
    heat = run_json("heat lun0" + sock());
    for (std::uint64_t e : {4, 5}) {
        EXPECT_EQ(heat["heat"][e]["tier"], "nvme-b") << heat.dump();
        EXPECT_EQ(heat["heat"][e]["pinned"], "nvme-b");
    }
    for (std::uint64_t e : {6, 7}) EXPECT_EQ(heat["heat"][e]["tier"], "hdd-b") << heat.dump();

    const json unpinned = run_json("unpin lun0 5-6" + sock());
    ASSERT_EQ(unpinned["pins"].size(), 2u) << unpinned.dump();
    EXPECT_EQ(unpinned["pins"][0]["last_extent"], 4);
    EXPECT_EQ(unpinned["pins"][1]["first_extent"], 7);
    EXPECT_EQ(run_json("unpin lun0 0-7" + sock())["pins"].size(), 0u);
    EXPECT_TRUE(tiering_->pins().empty());

    // The queue sits beside the history; each order names its reason.
    const json migrations = run_json("migrations" + sock());
    ASSERT_TRUE(migrations["queue"].is_array()) << migrations.dump();
    EXPECT_EQ(migrations["queue"].size(), tiering_->queue().size());
    for (const auto& o : migrations["queue"]) {
        EXPECT_TRUE(o["net_benefit"].is_number());
        EXPECT_FALSE(o["reason"].get<std::string>().empty());
    }
    table = run_cli("migrations" + sock());
    EXPECT_NE(table.out.find("queue ("), std::string::npos) << table.out;

    // Refusals, each with its reason and exit code 1, and the gateway still serves.
    struct Bad {
        std::string args, message;
    };
    const std::vector<Bad> bad = {
        {"pin lun0 9-3 nvme-a", "range '9-3' ends before it starts"},
        {"pin lun0 0-8 nvme-a", "range '0-8' goes past the LUN's end (8 extents of 4 MiB: 0-7)"},
        {"pin lun0 abc nvme-a", "range 'abc' is not FIRST-LAST"},
        {"pin lun0 0M-4 nvme-a", "mixes extents and bytes"},
        {"pin lun0 8M-8M nvme-a", "is empty"},
        {"pin lun0 0-1 ssd-z",
         "unknown tier 'ssd-z' for LUN 'lun0' (its tiers: hdd-a, nvme-a, nvme-b, hdd-b)"},
        {"pin nope 0-1 nvme-a", "unknown LUN 'nope'"},
        {"heat nope", "unknown LUN 'nope'"},
        {"heat lun0 --first 8", "'first' 8 is past the LUN's end (8 extents)"},
        {"unpin lun0 -3", "range '-3' is not FIRST-LAST"},
    };
    for (const Bad& b : bad) {
        const CliRun r = run_cli(b.args + sock());
        EXPECT_EQ(r.code, 1) << b.args << ": " << r.err;
        EXPECT_NE(r.err.find(b.message), std::string::npos) << b.args << ": " << r.err;
    }
    EXPECT_EQ(run_cli("pin lun0 0-1" + sock()).code, 2) << "TIER is required";
    EXPECT_TRUE(tiering_->pins().empty());
    lun_->write(3 * kExtent, std::vector<char>(4096, 'h'));
    EXPECT_EQ(lun_->read(3 * kExtent, 4096), std::vector<char>(4096, 'h'));
}

// forecast accuracy, alerts and heat with the predictive policy: numbers from its engine.
TEST_F(CliGateway, ForecastAccuracyAlertsAndHeatFromThePredictiveEngine) {
    registration_.reset();
    tiering_.reset();
    start_tiering("predictive");
    std::string error;
    registration_ = gateway_->add_lun(lun0(), error);
    ASSERT_TRUE(registration_.registered()) << error;

    // Extents 0 and 1 read often, extent 2 a little, the rest never.
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 20; ++i) {
            IoEvent ev;
            ev.time_us = tiering_->now_us();
            ev.offset = (i % 10 == 0 ? 2 : i % 2) * kExtent;
            ev.length = 4096;
            ev.op = IoOp::kRead;
            tiering_->record(ev);
        }
        round_and_settle();
    }
    const json heat = run_json("heat lun0" + sock());
    EXPECT_EQ(heat["policy"], "predictive");
    EXPECT_EQ(heat["forecasts"], true);
    ASSERT_EQ(heat["heat"].size(), kExtents);
    const double h0 = heat["heat"][0]["heat"].get<double>();
    const double h2 = heat["heat"][2]["heat"].get<double>();
    EXPECT_GT(h0, h2) << heat.dump();
    EXPECT_GT(h2, 0) << heat.dump();
    EXPECT_EQ(heat["heat"][5]["heat"], 0) << "never accessed";
    EXPECT_TRUE(heat["heat"][5]["p_access"].is_null());
    EXPECT_TRUE(heat["heat"][0]["p_access"].is_number());
    EXPECT_GE(heat["heat"][0]["forecast_accesses"].get<double>(),
              heat["heat"][2]["forecast_accesses"].get<double>());

    const json accuracy = run_json("forecast accuracy --lun lun0" + sock());
    ASSERT_EQ(accuracy["luns"].size(), 1u);
    const json& a = accuracy["luns"][0];
    EXPECT_EQ(a["policy"], "predictive");
    EXPECT_EQ(a["available"], true);
    std::set<std::string> models;
    std::uint64_t promotions = 0;
    for (const auto& m : a["models"]) {
        models.insert(m["name"].get<std::string>());
        promotions += m["promotions"].get<std::uint64_t>();
        EXPECT_GE(m["precision"].get<double>(), 0.0);
        EXPECT_LE(m["precision"].get<double>(), 1.0);
        EXPECT_EQ(m["hits"].get<std::uint64_t>() + m["wasted"].get<std::uint64_t>(),
                  m["promotions"].get<std::uint64_t>());
    }
    EXPECT_EQ(models, (std::set<std::string>{"ewma", "recurrence", "scan", "coaccess", "drift"}));
    EXPECT_EQ(a["total"]["promotions"], promotions) << "the models' promotions add up";
    ASSERT_EQ(a["tenants"].size(), 1u);
    EXPECT_EQ(a["tenants"][0]["name"], "default");
    EXPECT_EQ(a["tenants"][0]["promotions"], a["total"]["promotions"]);
    const std::string metrics = render_metrics(*gateway_);
    for (const auto& m : a["models"])
        EXPECT_NE(
            metrics.find("rbdtier_forecast_promotions_total{lun=\"lun0\",model=\"" +
                         m["name"].get<std::string>() + "\"} " + m["promotions"].dump() + "\n"),
            std::string::npos)
            << metrics;
    const CliRun table = run_cli("forecast accuracy" + sock());
    EXPECT_EQ(table.code, 0) << table.err;
    EXPECT_NE(table.out.find("PRECISION"), std::string::npos) << table.out;

    const json alerts = run_json("alerts" + sock());
    ASSERT_TRUE(alerts["alerts"].is_array());
    EXPECT_EQ(alerts["alerts"].size(), 0u) << "reads of three extents are no anomaly";
    EXPECT_EQ(run_cli("alerts" + sock()).code, 0);
    EXPECT_EQ(run_cli("forecast accuracy --lun nope" + sock()).code, 1);
    EXPECT_EQ(run_cli("forecast" + sock()).code, 2) << "forecast needs its subcommand";
}

// report: a self-contained HTML file with the heat, placement and latency pictures.
TEST_F(CliGateway, ReportWritesHeatPlacementAndLatencyPictures) {
    promote_hot_extents();
    io_metrics_.record(0, LunIoMetrics::kRead, 4096, 9000);
    const std::string out =
        ::testing::TempDir() + "/report." + std::to_string(::getpid()) + ".html";
    const json r = run_json("report lun0 --out " + out + " --seconds 0.6 --interval 0.2" + sock());
    const std::size_t samples = r["samples"].get<std::size_t>();
    EXPECT_GE(samples, 2u);
    EXPECT_EQ(r["extents"], kExtents);
    const std::string html = read_file(out);
    auto count = [&](const std::string& needle) {
        std::size_t n = 0;
        for (auto at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count("<svg"), 3u);
    EXPECT_EQ(count("</svg>"), 3u);
    EXPECT_EQ(count("class='placement'"), samples * kExtents) << "one cell per extent and sample";
    EXPECT_NE(html.find("nvme-a"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos) << "self-contained, nothing to run";
    EXPECT_EQ(html.find(" src="), std::string::npos) << "nothing fetched from elsewhere";
    std::remove(out.c_str());

    CliRun bad = run_cli("report nope --out " + out + " --seconds 0" + sock());
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("unknown LUN 'nope'"), std::string::npos) << bad.err;
    bad = run_cli("report lun0 --out /nonexistent-dir/r.html --seconds 0" + sock());
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("cannot write /nonexistent-dir/r.html"), std::string::npos) << bad.err;
}

// replay --plot: the policies' results as a self-contained HTML file (no gateway needed).
TEST(ReplayPlot, WritesLatencyShareAndMigrationPictures) {
    const std::string base = ::testing::TempDir() + "/replay-plot." + std::to_string(::getpid());
    ASSERT_EQ(run_cli("replay --generate periodic --duration 300 --out " + base + ".csv").code, 0);
    const CliRun r =
        run_cli("replay " + base + ".csv --policy none,reactive --plot " + base + ".html --json");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(json::parse(r.out, nullptr, false).is_discarded()) << r.out;
    const std::string html = read_file(base + ".html");
    EXPECT_NE(html.find("<h1>rbdtier replay</h1>"), std::string::npos);
    std::size_t bars = 0, shares = 0;
    for (auto at = html.find("class='bar'"); at != std::string::npos;
         at = html.find("class='bar'", at + 1))
        ++bars;
    for (auto at = html.find("class='share'"); at != std::string::npos;
         at = html.find("class='share'", at + 1))
        ++shares;
    EXPECT_EQ(bars, 4u) << "mean and p99 for each of the two policies";
    EXPECT_GE(shares, 2u);
    EXPECT_NE(html.find("<td>reactive</td>"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_NE(r.out.find("\"reactive\""), std::string::npos) << "the JSON is printed as well";
    const CliRun bad =
        run_cli("replay " + base + ".csv --policy none --plot /nonexistent-dir/p.html");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("cannot write /nonexistent-dir/p.html"), std::string::npos) << bad.err;
    std::remove((base + ".csv").c_str());
    std::remove((base + ".html").c_str());
}

// A LUN whose home image keeps its data in another pool (header nvme-a, data hdd-a): the
// gateway names its home tier, and counts its extents, by the data pool.
TEST(GatewayDataPool, TiersAreNamedByThePoolTheirDataLivesIn) {
    const std::string name = unique_name("adm-datapool");
    auto lun = TieredStorage::create("nvme-a", name, kExtents * kExtent, "hdd-a");
    const GatewayLun g = served_as_lun0("nvme-a", name, *lun);
    EXPECT_EQ(home_tier_pool(g), "hdd-a");
    const auto nvme_b = lun->images().index_of("nvme-b");
    ASSERT_TRUE(nvme_b);
    MigrationRecord record;
    ASSERT_TRUE(lun->migrator().migrate(0, *nvme_b, record).is_ok()) << record.outcome;
    const std::map<std::string, std::uint64_t> expected = {
        {"hdd-a", kExtents - 1}, {"nvme-b", 1}, {"hdd-b", 0}};
    EXPECT_EQ(extents_per_pool(g), expected);
}

}  // namespace
}  // namespace rbdtier::test
