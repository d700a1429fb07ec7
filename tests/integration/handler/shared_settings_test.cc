// Tiering settings kept in the cluster reach the LUNs of the real handler_rbdtier.so (loaded by
// the harness, on the local cluster), written with the real `rbdtier config` CLI: two opens of
// one LUN with different rbdtier.conf and cfgstrings (two gateways, one after the other, as at a
// failover) run it with the same settings; a running gateway follows a change within a deadline;
// a bad value put in RADOS behind the CLI's back is logged and falls back. Changes made with
// Ceph's own `rbd` and `rados` binaries, or with `rbdtier config`, reach a gateway whose rounds
// are far apart: at once when notified (`rbdtier config` notifies, `rados notify`), within the
// period otherwise.
#include "handler/shared_settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/settings_store.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using namespace std::chrono_literals;

constexpr std::uint64_t kSize = 8 * kExtent;
// The pool of this test's cluster-wide object (its LUN's tenant_pool=): not hdd-a, where the
// other tests' LUNs would read it.
constexpr const char* kSettingsPool = "nvme-b";

class SharedSettingsTest : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        name_ = "shared-set-" + std::to_string(::getpid());
        ASSERT_TRUE(ceph::create_image(*hdd_a_, name_, kSize).is_ok());
        names_.push_back(name_);
        auto io = ceph::IoContext::open(*cluster_, kSettingsPool);
        ASSERT_TRUE(io.is_ok()) << io.status().message();
        settings_io_.emplace(std::move(io).value());
        clear_cluster_object();
    }
    void TearDown() override {
        if (!cluster_ || name_.empty()) return;
        clear_cluster_object();
        for (const std::string& name : names_) {
            (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", name, {"nvme-a"});
            (void)ceph::remove_image(*hdd_a_, name);
        }
    }
    // The names of `count` LUN images: this test's own, then images made now (removed at the
    // end of the test).
    std::vector<std::string> images(std::size_t count) {
        while (names_.size() < count) {
            names_.push_back(name_ + "-" + std::to_string(names_.size()));
            EXPECT_TRUE(ceph::create_image(*hdd_a_, names_.back(), kSize).is_ok());
        }
        return {names_.begin(), names_.begin() + static_cast<std::ptrdiff_t>(count)};
    }
    // The cfgstring of the LUN of image `name`.
    static std::string cfg_of(const std::string& name, const std::string& options) {
        return "hdd-a/" + name + ";conf=" + ceph_conf() +
               ";tiers=hdd-a+nvme-a;tenant_pool=" + kSettingsPool + options;
    }
    void clear_cluster_object() {
        if (!settings_io_) return;
        auto all = ceph::object_settings(*settings_io_, "rbdtier.config");
        if (!all) return;
        for (const auto& [k, v] : *all)
            (void)ceph::remove_object_setting(*settings_io_, "rbdtier.config", k);
    }
    std::string spec() const { return "hdd-a/" + name_; }
    std::string cfg(const std::string& options) const { return cfg_of(name_, options); }
    // `rbdtier config ARGS` against the test cluster.
    CliRun config(const std::string& args) const {
        return run_command(std::string(RBDTIER_CLI_PATH) + " config " + args + " --pool " +
                           kSettingsPool + " --ceph-conf " + ceph_conf());
    }
    // The LUN's settings as `rbdtier lun show` reports them: name -> "value (source)".
    static std::map<std::string, std::string> settings(const json& show) {
        std::map<std::string, std::string> out;
        if (!show.contains("settings")) return out;
        for (const auto& [name, s] : show["settings"].items())
            out[name] = s["value"].get<std::string>() + " (" + s["source"].get<std::string>() + ")";
        return out;
    }

    std::string name_;
    std::vector<std::string> names_;  // name_ first, then images()'s
    std::optional<ceph::IoContext> settings_io_;
};

TEST_F(SharedSettingsTest, GatewaysWithDifferentConfsAgreeAndFollowChanges) {
    // What every gateway must agree on, set once in the cluster with the CLI.
    for (const std::string& args : std::vector<std::string>{
             "set horizon_s 90", "set round_s 0.5", "set migration_bandwidth_mib_s 40",
             "set --lun " + spec() + " policy reactive", "set --lun " + spec() + " horizon 30",
             "set --lun " + spec() + " quota nvme-a=64M"}) {
        const CliRun r = config(args);
        ASSERT_EQ(r.code, 0) << args << ": " << r.out;
    }
    const CliRun get = config("get --lun " + spec() + " rbdtier.horizon");
    EXPECT_EQ(get.code, 0);
    EXPECT_EQ(get.out, "30\n");

    // Gateway A, and later gateway B, with their own rbdtier.conf and cfgstring.
    GatewayConf gw(
        "metrics_port = 0\nhorizon_s = 10\nround_s = 0.25\n"
        "migration_bandwidth_mib_s = 10\n");
    harness::Harness h(HANDLER_SO);
    auto open = [&](const std::string& options) {
        harness::DeviceConfig dc{cfg(options), kSize};
        dc.implicit_failover = true;
        return h.open(dc);
    };
    auto dev = open(";policy=none");
    ASSERT_TRUE(dev);
    const json a = cli_json("lun show " + spec(), gw.socket());
    const json status_a = cli_json("status", gw.socket());
    const std::map<std::string, std::string> expected = {
        {"policy", "reactive (image)"},       {"horizon_s", "30 (image)"},
        {"round_s", "0.5 (cluster)"},         {"migration_bandwidth_mib_s", "40 (cluster)"},
        {"quota", "nvme-a=67108864 (image)"}, {"tenant", " (cfgstring)"}};
    EXPECT_EQ(settings(a), expected) << a.dump();
    dev.reset();

    gw.rewrite("metrics_port = 0\nhorizon_s = 600\nround_s = 3\nmigration_bandwidth_mib_s = 900\n");
    dev = open(";policy=predictive;horizon=5");
    ASSERT_TRUE(dev);
    const json b = cli_json("lun show " + spec(), gw.socket());
    EXPECT_EQ(settings(b), settings(a)) << "gateway B runs the LUN as gateway A did: " << b.dump();
    const json status_b = cli_json("status", gw.socket());
    for (const char* key : {"horizon_s", "round_s", "migration_bandwidth_mib_s"})
        EXPECT_EQ(status_b["luns"][0][key], status_a["luns"][0][key]) << key;
    EXPECT_EQ(status_b["luns"][0]["migration_bandwidth_mib_s"], 40) << status_b.dump();

    // A change while the LUN is open is followed within a deadline.
    ASSERT_EQ(config("set --lun " + spec() + " policy predictive").code, 0);
    ASSERT_EQ(config("set --lun " + spec() + " horizon 60").code, 0);
    ASSERT_EQ(config("set migration_bandwidth_mib_s 20").code, 0);
    std::map<std::string, std::string> now;
    EXPECT_TRUE(wait_for(
        [&] {
            now = settings(cli_json("lun show " + spec(), gw.socket()));
            return now["policy"] == "predictive (image)" && now["horizon_s"] == "60 (image)" &&
                   now["migration_bandwidth_mib_s"] == "20 (cluster)";
        },
        20s))
        << now["policy"] << ", " << now["horizon_s"] << ", " << now["migration_bandwidth_mib_s"];
    EXPECT_TRUE(wait_for(
        [&] {
            return cli_json("status", gw.socket())["luns"][0]["migration_bandwidth_mib_s"] == 20;
        },
        20s))
        << "the gateway's budget follows the cluster's";

    // The CLI refuses a bad value before writing it, with the cfgstring parser's reason.
    const CliRun bad = config("set --lun " + spec() + " horizon soon");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("horizon='soon'"), std::string::npos) << bad.out;
    EXPECT_NE(config("set metrics_port 1").out.find("unknown cluster setting"), std::string::npos);

    // Written behind its back (as `rbd image-meta set` could): logged, and the setting falls back
    // to the cfgstring's horizon=5; the LUN keeps serving.
    harness::LogCapture log;
    {
        auto image = ceph::Image::open(*hdd_a_, name_);
        ASSERT_TRUE(image.is_ok()) << image.status().message();
        ASSERT_TRUE(image->metadata_set("rbdtier.horizon", "soon").is_ok());
    }
    json show;
    EXPECT_TRUE(wait_for(
        [&] {
            show = cli_json("lun show " + spec(), gw.socket());
            return settings(show)["horizon_s"] == "5 (cfgstring)";
        },
        20s))
        << show.dump();
    ASSERT_TRUE(show.contains("settings_problems"));
    ASSERT_EQ(show["settings_problems"].size(), 1u) << show.dump();
    const std::string problem = show["settings_problems"][0];
    EXPECT_NE(problem.find("image metadata rbdtier.horizon='soon'"), std::string::npos) << problem;
    EXPECT_NE(problem.find("using 5 (cfgstring)"), std::string::npos) << problem;
    const auto lines = log.lines();
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
        return l.rfind("warn", 0) == 0 && l.find("rbdtier.horizon='soon'") != std::string::npos;
    })) << "the problem is logged as a warning";
    std::vector<char> block(4096, 's');
    EXPECT_TRUE(dev->write(0, block.data(), block.size()).ok());

    const CliRun list = config("list --lun " + spec());
    EXPECT_EQ(list.code, 0);
    EXPECT_NE(list.out.find("rbdtier.horizon"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("not a whole number"), std::string::npos) << list.out;
    EXPECT_EQ(config("rm --lun " + spec() + " horizon").code, 0);
    EXPECT_EQ(config("get --lun " + spec() + " horizon").code, 1);
}

// A gateway whose rounds are 10 minutes apart (so nothing a round does can be what applies a
// change) follows settings changes: `rbdtier config set/rm`, per LUN (a notify of the LUN's map
// object) and cluster-wide, and `rados setomapval` + `rados notify` on the cluster object apply
// within a few seconds; what notifies nobody within the period: `rbd image-meta set/remove` on
// the home image (librbd notifies only its header, which the gateway does not watch),
// `rados setomapval` alone on the cluster object or on the image's header. A malformed value
// written by hand is refused with a log line and the next source down is used. Prints how long
// each change took to show in `rbdtier lun show`.
TEST_F(SharedSettingsTest, SettingChangesApplyWithoutARound) {
    GatewayConf gw("metrics_port = 0\nhorizon_s = 10\nround_s = 600\n");
    harness::Harness h(HANDLER_SO);
    harness::DeviceConfig dc{cfg(";policy=none"), kSize};
    auto dev = h.open(dc);
    ASSERT_TRUE(dev);
    const std::string rbd = "rbd -c " + ceph_conf() + " ";
    const std::string rados = "rados -c " + ceph_conf() + " -p " + kSettingsPool + " ";
    auto shell = [](const std::string& command) {
        const CliRun r = run_command(command);
        EXPECT_EQ(r.code, 0) << command << ": " << r.out;
    };
    std::map<std::string, std::string> now;
    json show;
    // Waits until `setting` shows `expected` in `lun show`; prints and returns how long it took.
    auto applied_within = [&](const std::string& what, const std::string& setting,
                              const std::string& expected, std::chrono::seconds deadline) {
        const auto start = std::chrono::steady_clock::now();
        const bool ok = wait_for(
            [&] {
                show = cli_json("lun show " + spec(), gw.socket());
                now = settings(show);
                return now[setting] == expected;
            },
            deadline);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        std::cout << what << ": " << setting << " = " << expected << " shown after " << ms << " ms"
                  << (ok ? "" : " (not in time)") << "\n";
        EXPECT_TRUE(ok) << what << ": " << setting << " is '" << now[setting] << "', not '"
                        << expected << "' after " << deadline.count() << " s: " << show.dump();
        return ok;
    };
    constexpr auto kNotified = 2s;     // notified: at once (tens of ms here), not on a poll
    constexpr auto kUnnotified = 20s;  // the period (kSharedSettingsPeriod, 10 s) and a margin

    ASSERT_EQ(config("set --lun " + spec() + " policy reactive").code, 0);
    applied_within("rbdtier config set --lun", "policy", "reactive (image)", kNotified);
    ASSERT_EQ(config("rm --lun " + spec() + " policy").code, 0);
    applied_within("rbdtier config rm --lun", "policy", "none (cfgstring)", kNotified);
    shell(rbd + "image-meta set " + spec() + " rbdtier.policy reactive");
    applied_within("rbd image-meta set", "policy", "reactive (image)", kUnnotified);
    shell(rbd + "image-meta remove " + spec() + " rbdtier.policy");
    applied_within("rbd image-meta remove", "policy", "none (cfgstring)", kUnnotified);

    shell(rados + "setomapval rbdtier.config horizon_s 45");
    shell(rados + "notify rbdtier.config settings");
    applied_within("rados setomapval + notify", "horizon_s", "45 (cluster)", kNotified);

    ASSERT_EQ(config("set round_s 0.5").code, 0);
    applied_within("rbdtier config set", "round_s", "0.5 (cluster)", kNotified);

    // Malformed, by hand: refused with a log line; rbdtier.conf's round_s is used.
    harness::LogCapture log;
    shell(rados + "setomapval rbdtier.config round_s fast");
    shell(rados + "notify rbdtier.config settings");
    applied_within("malformed round_s", "round_s", "600 (rbdtier.conf)", kNotified);
    ASSERT_TRUE(show.contains("settings_problems")) << show.dump();
    const std::string problems = show["settings_problems"].dump();
    EXPECT_NE(problems.find("round_s='fast'"), std::string::npos) << problems;
    EXPECT_TRUE(wait_for(
        [&] {
            const auto lines = log.lines();
            return std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
                return l.rfind("warn", 0) == 0 && l.find("round_s='fast'") != std::string::npos;
            });
        },
        kNotified))
        << "the refused value is logged as a warning";

    // Not notified: found by the periodic re-read.
    shell(rados + "setomapval rbdtier.config horizon_s 50");
    applied_within("rados setomapval alone", "horizon_s", "50 (cluster)", kUnnotified);
    // The image's own, written into its header by hand as librbd keeps image-meta (omap key
    // metadata_<key>): notifies nobody, found by the LUN's backstop (the header's version moved).
    const CliRun info = run_command(rbd + "info --format json " + spec());
    ASSERT_EQ(info.code, 0) << info.out;
    const std::string header = "rbd_header." + json::parse(info.out)["id"].get<std::string>();
    shell("rados -c " + ceph_conf() + " -p hdd-a setomapval " + header +
          " metadata_rbdtier.policy reactive");
    applied_within("rados setomapval on the image's header alone", "policy", "reactive (image)",
                   kUnnotified);

    // The watched object removed (the watch breaks): the gateway watches it again, and a later
    // notified change applies at once again.
    shell(rados + "rm rbdtier.config");
    ASSERT_TRUE(wait_for([&] { return run_command(rados + "stat rbdtier.config").code == 0; }, 10s))
        << "the gateway makes the object again to watch it";
    shell(rados + "setomapval rbdtier.config horizon_s 55");
    shell(rados + "notify rbdtier.config settings");
    applied_within("after the object was removed", "horizon_s", "55 (cluster)", kNotified);

    std::vector<char> block(4096, 'w');
    EXPECT_TRUE(dev->write(0, block.data(), block.size()).ok()) << "the LUN kept serving";
    dev.reset();
}

// With several idle tiered LUNs open on one gateway, the cluster object costs one look at its
// version a period for all of them (the settings object's backstop), and nobody re-reads it while
// it does not change; a change that notifies nobody (`rados setomapval` alone) is found by that
// look within the period and reaches every LUN, read from RADOS once for all of them (the
// gateway's copy, counted in `status`). Between two such changes more than two periods apart,
// each LUN looked at the object once (for the second change), not once a period.
TEST_F(SharedSettingsTest, IdleLunsOfAGatewayLookAtTheClusterObjectOnlyWhenItChanged) {
    constexpr std::size_t kLuns = 4;
    const std::vector<std::string> names = images(kLuns);

    GatewayConf gw("metrics_port = 0\nhorizon_s = 10\nround_s = 0.25\n");
    harness::Harness h(HANDLER_SO);
    std::vector<std::unique_ptr<harness::Device>> devs;
    for (const std::string& name : names) {
        harness::DeviceConfig dc{cfg_of(name, ";policy=none"), kSize};
        devs.push_back(h.open(dc));
        ASSERT_TRUE(devs.back()) << name;
    }
    const std::string rados = "rados -c " + ceph_conf() + " -p " + kSettingsPool + " ";

    json counters;
    auto lookups_and_reads = [&](std::uint64_t& lookups, std::uint64_t& reads) {
        const json status = cli_json("status", gw.socket());
        counters = status.value("cluster_settings", json());
        lookups = reads = 0;
        if (!counters.is_array()) return false;
        for (const auto& c : counters) {
            if (c.value("pool", "") != kSettingsPool) continue;
            lookups = c.value("lookups", 0u);
            reads = c.value("reads", 0u);
            return true;
        }
        return false;
    };
    // Written by hand, notifying nobody; waits until every LUN shows it.
    auto unnotified_change = [&](const std::string& round_s, double shown) {
        const CliRun set = run_command(rados + "setomapval rbdtier.config round_s " + round_s);
        ASSERT_EQ(set.code, 0) << set.out;
        json luns;
        EXPECT_TRUE(wait_for(
            [&] {
                luns = cli_json("status", gw.socket())["luns"];
                return luns.size() == kLuns &&
                       std::all_of(luns.begin(), luns.end(),
                                   [&](const json& l) { return l["round_s"] == shown; });
            },
            20s))  // the period (kSharedSettingsPeriod, 10 s) and a margin
            << luns.dump();
    };
    std::uint64_t lookups = 0, reads = 0;
    unnotified_change("0.5", 0.5);
    ASSERT_TRUE(lookups_and_reads(lookups, reads)) << counters.dump();
    const std::uint64_t lookups_before = lookups, reads_before = reads;

    // Idle for more than two periods, then another change nobody notifies.
    std::this_thread::sleep_for(2 * kSharedSettingsPeriod + 5s);
    unnotified_change("0.75", 0.75);
    ASSERT_TRUE(lookups_and_reads(lookups, reads)) << counters.dump();
    std::cout << kLuns << " idle LUNs looked " << lookups - lookups_before
              << " times at the cluster object, which was read " << reads - reads_before
              << " times, between two changes " << (2 * kSharedSettingsPeriod + 5s).count()
              << " s apart\n";
    EXPECT_LT(lookups - lookups_before, 2 * kLuns)
        << "one look by each LUN for the second change, none by the idle periods: "
        << counters.dump();
    EXPECT_LE(reads - reads_before, 2u)
        << "the change read once for all " << kLuns << " LUNs: " << counters.dump();
    devs.clear();
}

// The LUNs of one gateway share one watch of the cluster object (one watcher in RADOS, not one
// per LUN), and each of them still follows it: a notify reaches both LUNs; the object removed
// (the watch breaks) has both re-read once it is watched again, well within the period; the LUN
// whose client held the watch closes and the other one's client watches it, and follows the
// next notify. Rounds are 10 minutes apart, so no round applies a change. Prints how long each
// change took to show.
TEST_F(SharedSettingsTest, OneWatchOfTheClusterObjectServesEveryLunOfAGateway) {
    const std::vector<std::string> names = images(2);
    GatewayConf gw("metrics_port = 0\nhorizon_s = 10\nround_s = 600\n");
    harness::Harness h(HANDLER_SO);
    std::vector<std::unique_ptr<harness::Device>> devs;
    for (const std::string& name : names) {
        devs.push_back(h.open(harness::DeviceConfig{cfg_of(name, ";policy=none"), kSize}));
        ASSERT_TRUE(devs.back()) << name;
    }
    const std::string rados = "rados -c " + ceph_conf() + " -p " + kSettingsPool + " ";
    // The watchers of the cluster object, one line each ("watcher=ADDR client.ID cookie=N").
    auto watchers = [&] {
        const CliRun r = run_command(rados + "listwatchers rbdtier.config");
        std::vector<std::string> out;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("watcher=", 0) == 0) out.push_back(line);
        return out;
    };
    // Waits until every LUN in `luns` shows horizon_s = `expected`; prints how long it took.
    auto shown_by = [&](const std::vector<std::string>& luns, const std::string& what,
                        const std::string& expected, std::chrono::seconds deadline) {
        const auto start = std::chrono::steady_clock::now();
        std::string seen;
        const bool ok = wait_for(
            [&] {
                for (const std::string& name : luns) {
                    seen = settings(cli_json("lun show hdd-a/" + name, gw.socket()))["horizon_s"];
                    if (seen != expected) return false;
                }
                return true;
            },
            deadline);
        std::cout << what << ": horizon_s = " << expected << " shown by " << luns.size()
                  << " LUN(s) after "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count()
                  << " ms\n";
        EXPECT_TRUE(ok) << what << ": a LUN shows horizon_s '" << seen << "', not '" << expected
                        << "', after " << deadline.count() << " s";
    };
    constexpr auto kNotified = 2s;   // at once when notified (tens of ms here)
    constexpr auto kRewatched = 5s;  // the error, a re-watch (backoff from 100 ms), the re-reads
    static_assert(kRewatched < kSharedSettingsPeriod, "within the period, not by the backstop");

    ASSERT_EQ(config("set horizon_s 45").code, 0);
    shown_by(names, "rbdtier config set, both LUNs", "45 (cluster)", kNotified);
    std::vector<std::string> before = watchers();
    EXPECT_EQ(before.size(), 1u) << "one watch for the gateway's two LUNs: "
                                 << ::testing::PrintToString(before);

    // The watch breaks: both LUNs re-read once it is made again (the object is made empty again).
    ASSERT_EQ(run_command(rados + "rm rbdtier.config").code, 0);
    shown_by(names, "object removed, both LUNs", "10 (rbdtier.conf)", kRewatched);
    ASSERT_TRUE(wait_for([&] { return watchers().size() == 1; }, 10s))
        << ::testing::PrintToString(watchers());
    before = watchers();

    // The LUN whose client holds the watch closes: the one whose client (client.GID) also
    // watches its image's header (`rbd status`).
    const std::string gid = before.front().substr(before.front().find(" client.") + 1);
    const std::string holder_client = gid.substr(0, gid.find(' '));
    std::size_t holder = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
        const CliRun status = run_command("rbd -c " + ceph_conf() + " status hdd-a/" + names[i]);
        if (status.out.find(holder_client + " ") != std::string::npos) holder = i;
    }
    ASSERT_LT(holder, names.size()) << holder_client << " watches no LUN's image";
    devs[holder].reset();
    const std::string stays = names[1 - holder];
    std::vector<std::string> after;
    EXPECT_TRUE(wait_for(
        [&] {
            after = watchers();
            return after.size() == 1 && after != before;
        },
        10s))
        << "the LUN that stays watches the object with its own client: before "
        << ::testing::PrintToString(before) << ", after " << ::testing::PrintToString(after);
    ASSERT_EQ(config("set horizon_s 50").code, 0);
    shown_by({stays}, "rbdtier config set after a close", "50 (cluster)", kNotified);
    devs.clear();
}

// `rbdtier status` shows the policy, horizon and round a LUN runs with now, after a change with
// `rbdtier config set`, not those it opened with.
TEST_F(SharedSettingsTest, StatusShowsThePolicyHorizonAndRoundInForceNow) {
    GatewayConf gw("metrics_port = 0\nhorizon_s = 10\nround_s = 0.25\n");
    harness::Harness h(HANDLER_SO);
    harness::DeviceConfig dc{cfg(";policy=none"), kSize};
    auto dev = h.open(dc);
    ASSERT_TRUE(dev);
    json lun = cli_json("status", gw.socket())["luns"][0];
    EXPECT_EQ(lun["horizon_s"], 10) << lun.dump();
    EXPECT_EQ(lun["round_s"], 0.25) << lun.dump();

    ASSERT_EQ(config("set horizon_s 40").code, 0);
    ASSERT_EQ(config("set round_s 0.5").code, 0);
    ASSERT_EQ(config("set --lun " + spec() + " policy reactive").code, 0);
    EXPECT_TRUE(wait_for(
        [&] {
            lun = cli_json("status", gw.socket())["luns"][0];
            return lun["horizon_s"] == 40 && lun["round_s"] == 0.5 && lun["policy"] == "reactive";
        },
        30s))
        << lun.dump();
    const CliRun text =
        run_command(std::string(RBDTIER_CLI_PATH) + " status --socket " + gw.socket());
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("reactive  40.0 s   0.5 s"), std::string::npos) << text.out;
    dev.reset();
}

}  // namespace
}  // namespace rbdtier
