#include "handler/admin_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "ceph/extent_pins.h"
#include "ceph/io_context.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/settings_store.h"
#include "common/log.h"
#include "handler/admin_range.h"
#include "handler/lock_probe.h"
#include "handler/shared_settings.h"

namespace rbdtier {
namespace {

using nlohmann::json;

// A request the gateway refuses; becomes the reply's error, with `error` as its errno.
struct CommandError : std::runtime_error {
    explicit CommandError(const std::string& message, int error = EINVAL)
        : std::runtime_error(message), error(error) {}
    int error;
};

// Every command: its prefix (common/admin_protocol.h), its arguments in Ceph's
// command-description syntax (one "name=...,type=..." word per argument) and its help line. What
// `help` and `get_command_descriptions` list, and what `ceph daemon` validates a command line
// against.
struct CommandSpec {
    const char* prefix;
    const char* arguments;
    const char* help;

    std::string description() const {
        return *arguments ? std::string(prefix) + " " + arguments : std::string(prefix);
    }
};
constexpr CommandSpec kCommands[] = {
    {kCommandStatus, "",
     "gateway, site, pause state; per LUN lock ownership, engine and placement"},
    {kCommandHealth, "",
     "HEALTH_OK, HEALTH_WARN or HEALTH_ERR, with each problem and what it concerns"},
    {kCommandLunList, "", "LUNs: size, tenant, extents and bytes per tier, engine counters"},
    {kCommandLunShow, "name=lun,type=CephString",
     "one LUN: tiers, engine, lock owner, I/O per tier"},
    {kCommandLunEvacuate, "name=lun,type=CephString",
     "bring every extent home and keep it there (the home image alone is then the LUN)"},
    {kCommandTierList, "", "pools in use: device class, site, latency, capacity, used"},
    {kCommandMigrations,
     "name=lun,type=CephString,req=false name=limit,type=CephInt,range=0,req=false",
     "migration queue, history (newest last, at most limit, default 50) and counters"},
    {kCommandMap, "name=lun,type=CephString", "placement of every extent away from home"},
    {kCommandHeat,
     "name=lun,type=CephString name=first,type=CephInt,range=0,req=false "
     "name=count,type=CephInt,range=0,req=false",
     "per extent: tier, heat, forecast, wanted tier, pin (at most 16384 extents from first)"},
    {kCommandForecastAccuracy, "name=lun,type=CephString,req=false",
     "precision, recall and wasted bytes per forecast model and per tenant"},
    {kCommandAlerts, "name=lun,type=CephString,req=false", "anomalies the engine noticed"},
    {kCommandPin, "name=lun,type=CephString name=range,type=CephString name=tier,type=CephString",
     "keep extents in a tier (range: 0-15 extents, 0M-64M bytes or all)"},
    {kCommandUnpin, "name=lun,type=CephString name=range,type=CephString",
     "hand pinned extents back to the policy"},
    {kCommandPause, "", "stop migrations on every LUN of the gateway"},
    {kCommandResume, "", "restart migrations on every LUN of the gateway"},
    {kCommandScrub, "name=lun,type=CephString",
     "start a scrub of a LUN: remove stray data, verify migrated extents' crc32c "
     "(scrub status follows it)"},
    {kCommandScrubStatus, "name=lun,type=CephString",
     "the LUN's scrub: running (with its progress) or how it ended, and its report"},
    {kCommandReload, "", "re-read rbdtier.conf (a bad file is refused, the last good one kept)"},
    {kCommandVersion, "", "get rbdtier version"},
    {kCommandHelp, "", "list available commands"},
    {kCommandDescriptions, "", "list available commands"},
};

// A description as Ceph's dump_cmd_to_json() gives it: a word per prefix word, an object of
// key/value strings per argument.
json signature_of(std::string_view desc) {
    json sig = json::array();
    while (!desc.empty()) {
        const std::size_t end = std::min(desc.find(' '), desc.size());
        std::string_view word = desc.substr(0, end);
        desc.remove_prefix(std::min(end + 1, desc.size()));
        if (word.find_first_of(",=") == std::string_view::npos) {
            sig.push_back(std::string(word));
            continue;
        }
        json arg = json::object();
        while (!word.empty()) {
            const std::size_t comma = std::min(word.find(','), word.size());
            const std::string_view kv = word.substr(0, comma);
            const std::size_t eq = std::min(kv.find('='), kv.size());
            arg[std::string(kv.substr(0, eq))] =
                std::string(kv.substr(std::min(eq + 1, kv.size())));
            word.remove_prefix(std::min(comma + 1, word.size()));
        }
        sig.push_back(std::move(arg));
    }
    return sig;
}

std::string hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
    return name;
}

const GatewayLun& need_lun(const Gateway& gateway, const json& request) {
    auto it = request.find(kAdminLunKey);
    if (it == request.end() || !it->is_string()) throw CommandError("missing argument 'lun'");
    const GatewayLun* lun = gateway.find_lun(it->get<std::string>());
    if (!lun) throw CommandError("unknown LUN '" + it->get<std::string>() + "'", ENOENT);
    return *lun;
}

const TierSpec* spec_of(const GatewayLun& lun, const std::string& pool) {
    if (!lun.tiering) return nullptr;
    for (const auto& s : lun.tiering->tiers())
        if (s.name == pool) return &s;
    return nullptr;
}

json engine_json(const GatewayLun& lun, bool paused) {
    if (!lun.tiering) return nullptr;
    const auto s = lun.tiering->stats();
    return {{"paused", paused},
            {"rounds", s.rounds},
            {"events", s.events},
            {"dropped_events", s.dropped_events},
            {"orders", s.orders},
            {"moved", s.moved},
            {"failed", s.failed},
            {"refused_capacity", s.refused_capacity},
            {"deferred_bandwidth", s.deferred_bandwidth},
            {"bytes_moved", s.bytes_moved}};
}

// Whether the LUN's extents move, and if not why, from its last round (null: not tiered). The
// one place that words a LUN's standstill for `lun show`.
json movement_json(const GatewayLun& lun, bool paused) {
    if (!lun.tiering) return nullptr;
    const RoundOutcome last = lun.tiering->stats().last_round;
    const std::string problem = lun.tiering_problem ? lun.tiering_problem() : std::string();
    std::string reason;
    switch (last) {
        case RoundOutcome::kMoved:
            break;
        case RoundOutcome::kNoRound:
            reason = "no tiering round has run yet";
            break;
        case RoundOutcome::kPaused:
            reason = "paused: the gateway's migrations are paused (`rbdtier resume` restarts them)";
            break;
        case RoundOutcome::kNotOwner:
            reason = !problem.empty()
                         ? "this gateway may not move the LUN's extents: " + problem
                         : "this gateway does not hold the LUN's lock (no ALUA: the lock follows "
                           "the first write to a home extent; whoever holds it moves the LUN)";
            break;
        case RoundOutcome::kBudget:
            reason =
                "budget exhausted: the gateway's migration budget, shared by its tiered "
                "LUNs, had no room for this LUN's moves before the next round";
            break;
        case RoundOutcome::kRefused:
            reason =
                "every move was refused: a tier's capacity, a full pool or the tenant's "
                "quota (engine: refused_*)";
            break;
        case RoundOutcome::kFailed:
            reason = "every migration tried failed (`rbdtier migrations` has the records)";
            break;
        case RoundOutcome::kNothingToMove:
            if (lun.tiering->home_pinned())
                reason = "home pin: the LUN is pinned home and every extent is there";
            else if (tiering_in_force(lun).policy == "none")
                reason = "policy none: only pins move extents, and no pin asks for a move";
            else
                reason = "nothing to move: the policy asks for no move now";
            break;
    }
    if (paused && last != RoundOutcome::kPaused) {
        reason = "paused: the gateway's migrations are paused (`rbdtier resume` restarts them)";
    }
    return {{"moving", reason.empty()},
            {"last_round", to_string(last)},
            {"reason", reason.empty() ? json(nullptr) : json(reason)}};
}

json lock_json(const GatewayLun& lun) {
    const ceph::Image* image = lun.home_image ? lun.home_image
                               : lun.images   ? lun.images->opened(0)
                                              : nullptr;
    if (!image) return nullptr;
    const int held = holds_exclusive_lock(*image);
    if (held < 0)
        return json{
            {"error", "check lock owner of image " + image->spec() + ": " + std::strerror(-held)}};
    return held == 1;
}

// Where the LUN's placement lives and whether this gateway's view of it can be trusted: owner
// (holds the map's fence), the gateways that did not acknowledge the last move, the watch.
json placement_json(const GatewayLun& lun) {
    if (!lun.map || !lun.migrator || !lun.images) return nullptr;
    json silent = json::array();
    for (std::uint64_t id : lun.map->last_notify().silent_notifiers) {
        silent.push_back(id == 0 ? std::string("unknown") : "client." + std::to_string(id));
    }
    json out = {{"format", ceph::kPlacementMapFormat},
                {"lun_id", lun.images->lun().key()},
                {"map_object", lun.map->object_name()},
                {"tier_image", lun.images->lun().tier_image_name()},
                {"owner", lun.migrator->owner()},
                {"intents", lun.map->intents().size()},
                {"unacknowledged_by", std::move(silent)}};
    if (lun.watch) {
        out["watch_error"] = lun.watch->last_error();
        out["rewatches"] = lun.watch->rewatches();
        out["routing"] = lun.watch->routing();
    }
    out["problem"] = lun.tiering_problem ? lun.tiering_problem() : std::string();
    return out;
}

// Extents outside the home image, from the map (what a tool reading the home image misses).
std::uint64_t extents_away(const GatewayLun& lun) {
    return lun.map ? lun.map->entries().size() : 0;
}

json summary(const GatewayLun& lun, bool paused) {
    json tiers = json::array();
    const std::uint64_t eb = extent_bytes(lun);
    for (const auto& [pool, extents] : extents_per_pool(lun)) {
        json t = {{"pool", pool},
                  {"extents", extents},
                  {"bytes", extents * eb},
                  {"home", pool == home_tier_pool(lun)}};
        if (const TierSpec* s = spec_of(lun, pool)) {
            t["device_class"] = s->device_class;
            t["site"] = s->site;
        }
        tiers.push_back(std::move(t));
    }
    return {{"name", lun.name},
            {"pool", lun.pool},
            {"image", lun.image},
            {"size_bytes", lun.size_bytes},
            {"tenant", lun.tenant},
            {"tiered", lun.images != nullptr},
            {"extent_bytes", eb},
            {"extents", extent_count(lun)},
            {"tiers", std::move(tiers)},
            {"extents_away", extents_away(lun)},
            {"home_pinned", lun.tiering ? json(lun.tiering->home_pinned()) : json(nullptr)},
            {"engine", engine_json(lun, paused)},
            {"placement", placement_json(lun)}};
}

std::string pool_of(const GatewayLun& lun, TierId tier) {
    if (lun.images && tier < lun.images->count()) return lun.images->data_pool(tier);
    return "tier " + std::to_string(tier);
}

const ceph::LunTiering& need_tiering(const GatewayLun& lun) {
    if (!lun.tiering) throw CommandError("LUN '" + lun.name + "' is not tiered");
    return *lun.tiering;
}

// The LUN the request names, or every tiered LUN.
std::vector<const GatewayLun*> chosen_luns(const Gateway& gateway, const json& request) {
    std::vector<const GatewayLun*> out;
    if (request.contains("lun")) {
        const GatewayLun& l = need_lun(gateway, request);
        need_tiering(l);
        out.push_back(&l);
        return out;
    }
    for (const auto& l : gateway.luns())
        if (l.tiering) out.push_back(&l);
    return out;
}

std::string need_string(const json& request, const char* key) {
    auto it = request.find(key);
    if (it == request.end() || !it->is_string())
        throw CommandError(std::string("missing argument '") + key + "'");
    return it->get<std::string>();
}

// Whether the LUN's policy has been told of any I/O (before it, a policy may not have built what
// makes its forecasts: every extent is cold and nothing is judged).
bool io_seen(const ceph::LunTiering& tiering) {
    const LunRoundsStats stats = tiering.stats();
    return stats.events + stats.dropped_events > 0;
}

json accuracy_json(const AccuracyCounters& c) {
    return {{"name", c.name},
            {"promotions", c.promotions},
            {"hits", c.hits},
            {"wasted", c.wasted},
            {"wasted_bytes", c.wasted_bytes},
            {"precision", c.precision},
            {"recall", c.recall},
            {"latency_saved_ms", c.latency_saved_us / 1000.0}};
}

json pins_json(const GatewayLun& lun) {
    json out = json::array();
    for (const auto& p : lun.tiering->pins())
        out.push_back({{"first_extent", p.first},
                       {"last_extent", p.first + p.count - 1},
                       {"count", p.count},
                       {"tier", pool_of(lun, p.tier)}});
    return out;
}

json record_json(const std::string& lun, const MigrationRecord& r) {
    return {{"lun", lun},
            {"extent", r.extent},
            {"from", r.from},
            {"to", r.to},
            {"bytes", r.bytes},
            {"start_unix_ms", r.start_unix_ms},
            {"duration_us", r.duration_us},
            {"crc32c", r.crc},
            {"generation", r.generation},
            {"copies", r.copies},
            {"outcome", r.outcome},
            {"reason", r.reason}};
}

}  // namespace

const std::vector<std::string>& AdminCommands::known() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const CommandSpec& c : kCommands) out.push_back(c.prefix);
        return out;
    }();
    return names;
}

json AdminCommands::help() {
    json out = json::object();
    for (const CommandSpec& c : kCommands) out[c.prefix] = c.help;
    return out;
}

json AdminCommands::command_descriptions() {
    json out = json::object();
    int n = 0;
    for (const CommandSpec& c : kCommands) {
        char section[16];
        std::snprintf(section, sizeof(section), "cmd%03d", n++);
        out[section] = {{"sig", signature_of(c.description())}, {"help", c.help}};
    }
    return out;
}

namespace {

// The commands that change what the gateway does; handle() logs each of them once.
bool changes_state(const std::string& name) {
    for (const char* c : {kCommandLunEvacuate, kCommandPin, kCommandUnpin, kCommandPause,
                          kCommandResume, kCommandScrub, kCommandReload})
        if (name == c) return true;
    return false;
}

// " range=0-3 tier=nvme-a": the request's arguments but its prefix, LUN and output format, each
// value cut at kMaxLoggedValue characters (a request may be large; a log line stays short).
void append_arguments(log::Emitter& line, const json& request) {
    constexpr std::size_t kMaxLoggedValue = 80;
    if (!request.is_object()) return;
    for (const auto& [key, value] : request.items()) {
        if (key == kAdminPrefixKey || key == kAdminLunKey || key == kAdminFormatKey) continue;
        std::string text = value.is_string()
                               ? value.get<std::string>()
                               : value.dump(-1, ' ', false, json::error_handler_t::replace);
        if (text.size() > kMaxLoggedValue) text = text.substr(0, kMaxLoggedValue) + "...";
        line << ' ' << key.substr(0, kMaxLoggedValue) << '=' << text;
    }
}

// The LUN a request names, as it names it ("" for none).
std::string lun_named(const json& request) {
    auto it = request.find(kAdminLunKey);
    return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

AdminReply AdminCommands::handle(const json& request) {
    if (auto problem = admin_request_problem(request)) return AdminReply::failure(EINVAL, *problem);
    const std::string name = request[kAdminPrefixKey].get<std::string>();
    Outcome done;
    const auto arguments = [&request](log::Emitter& line) { append_arguments(line, request); };
    try {
        json result;
        if (name == kCommandHelp) {
            result = help();
        } else if (name == kCommandDescriptions) {
            result = command_descriptions();
        } else if (name == kCommandVersion) {
            result = {{"version", RBDTIER_VERSION}};
        } else if (name == kCommandReload) {
            result = reload(done);
        } else if (name == kCommandHealth) {
            result = gateway_.health().to_json();  // takes the LUN list itself
        } else if (name == kCommandPause || name == kCommandResume) {
            gateway_.set_paused(name == kCommandPause);
            result = {{"paused", gateway_.paused()}};
            done.text = std::string("migrations ") +
                        (name == kCommandPause ? "paused" : "resumed") +
                        " on every LUN of the gateway";
        } else {
            auto lock = gateway_.lock_luns();
            if (name == kCommandStatus)
                result = status();
            else if (name == kCommandLunList)
                result = lun_list();
            else if (name == kCommandLunShow)
                result = lun_show(need_lun(gateway_, request));
            else if (name == kCommandLunEvacuate)
                result = evacuate(need_lun(gateway_, request), done);
            else if (name == kCommandTierList)
                result = tier_list();
            else if (name == kCommandMigrations)
                result = migrations(request);
            else if (name == kCommandMap)
                result = map(need_lun(gateway_, request));
            else if (name == kCommandScrub)
                result = scrub(need_lun(gateway_, request), done);
            else if (name == kCommandScrubStatus)
                result = scrub_status(need_lun(gateway_, request));
            else if (name == kCommandHeat)
                result = heat(need_lun(gateway_, request), request);
            else if (name == kCommandForecastAccuracy)
                result = forecast_accuracy(request);
            else if (name == kCommandAlerts)
                result = alerts(request);
            else if (name == kCommandPin || name == kCommandUnpin)
                result = pin(need_lun(gateway_, request), request, name == kCommandPin, done);
            else
                return AdminReply::failure(
                    EINVAL, "unknown command prefix " + name + " ('help' lists the commands)");
        }
        if (changes_state(name) && !done.logged_later)
            RBDTIER_LOG(done.level, lun_named(request),
                        "admin " << name << arguments << ": " << done.text);
        return AdminReply::ok(std::move(result));
    } catch (const CommandError& e) {
        if (changes_state(name))
            RBDTIER_LOG_WARNING(lun_named(request),
                                "admin " << name << arguments
                                         << (e.error == EIO ? " failed: " : " refused: ")
                                         << e.what());
        return AdminReply::failure(e.error, e.what());
    }
}

namespace {
// The gateway's migration budget: its bandwidth and concurrency, what is in flight and waiting,
// and what each tenant was granted.
json budget_json(const GatewayBudget& budget) {
    const GatewayBudgetStats s = budget.stats();
    json tenants = json::array();
    for (const TenantBudgetStats& t : s.tenants)
        tenants.push_back({{"tenant", t.tenant},
                           {"weight", t.weight},
                           {"grants", t.grants},
                           {"granted_bytes", t.granted_bytes},
                           {"waiting", t.waiting}});
    return {{"bandwidth_mib_s", s.bandwidth_bytes_per_s / (1 << 20)},
            {"max_concurrent", s.max_concurrent},
            {"in_flight", s.in_flight},
            {"waiting", s.waiting},
            {"grants", s.grants},
            {"granted_bytes", s.granted_bytes},
            {"tenants", std::move(tenants)}};
}
}  // namespace

json AdminCommands::status() const {
    const GatewayConfig c = gateway_.config_in_effect();
    const bool paused = gateway_.paused();
    json luns = json::array();
    for (const auto& l : gateway_.luns()) {
        const TieringInForce now = tiering_in_force(l);
        luns.push_back({{"name", l.name},
                        {"lock_owner", lock_json(l)},
                        {"policy", now.policy},
                        {"horizon_s", now.horizon_s > 0 ? json(now.horizon_s) : json(nullptr)},
                        {"round_s", now.round_s > 0 ? json(now.round_s) : json(nullptr)},
                        {"migration_bandwidth_mib_s",
                         l.tiering ? json(l.tiering->bandwidth() / (1 << 20)) : json(nullptr)},
                        {"engine", engine_json(l, paused)},
                        {"placement", placement_json(l)}});
    }
    json cluster_settings = json::array();
    for (const auto& c : gateway_.cluster_settings_object()->counters())
        cluster_settings.push_back(
            {{"pool", c.pool}, {"object", c.oid}, {"lookups", c.lookups}, {"reads", c.reads}});
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - gateway_.started());
    return {
        {"gateway", hostname()},
        {"pid", ::getpid()},
        {"site", c.site},
        {"config", gateway_.config_path()},
        {"admin_socket", c.admin_socket},
        {"metrics", c.metrics_port ? json(c.metrics_address + ":" + std::to_string(c.metrics_port))
                                   : json(nullptr)},
        {"uptime_s", uptime.count()},
        {"paused", paused},
        {"migration_bandwidth_mib_s", c.migration_bandwidth_mib_s},
        {"migration_budget", budget_json(*gateway_.migration_budget())},
        {"horizon_s", c.horizon_s},
        {"round_s", c.round_s},
        {"service", gateway_.service_json()},
        {"cluster_settings", std::move(cluster_settings)},
        {"luns", std::move(luns)}};
}

json AdminCommands::lun_list() const {
    json out = json::array();
    const bool paused = gateway_.paused();
    for (const auto& l : gateway_.luns()) out.push_back(summary(l, paused));
    return {{"luns", std::move(out)}};
}

namespace {
// What the I/O path served, per tier image: commands, bytes, mean latency, share of reads.
json io_json(const GatewayLun& lun) {
    json out = json::array();
    if (!lun.io_metrics) return out;
    const std::size_t tiers =
        std::min<std::size_t>(lun.images ? lun.images->count() : 1, LunIoMetrics::kMaxTiers);
    std::uint64_t all_reads = 0;
    for (std::size_t t = 0; t < tiers; ++t)
        all_reads += lun.io_metrics->snapshot(t, LunIoMetrics::kRead).ios;
    auto mean_ms = [](const LunIoMetrics::Series& s) {
        return s.ios ? json(double(s.latency_sum_us) / double(s.ios) / 1000.0) : json(nullptr);
    };
    for (std::size_t t = 0; t < tiers; ++t) {
        const auto r = lun.io_metrics->snapshot(t, LunIoMetrics::kRead);
        const auto w = lun.io_metrics->snapshot(t, LunIoMetrics::kWrite);
        out.push_back({{"pool", lun.images ? lun.images->data_pool(t) : lun.pool},
                       {"reads", r.ios},
                       {"writes", w.ios},
                       {"read_bytes", r.bytes},
                       {"write_bytes", w.bytes},
                       {"read_latency_ms", mean_ms(r)},
                       {"write_latency_ms", mean_ms(w)},
                       {"read_hit_share",
                        all_reads ? json(double(r.ios) / double(all_reads)) : json(nullptr)}});
    }
    return out;
}
// Who sends the LUN's commands: how they are attributed now (configfs counters, or the host's
// own names), and what each initiator did as attributed (commands, bytes, extents touched).
json initiators_json(const GatewayLun& lun) {
    json out = json::object();
    if (lun.attribution) {
        const AttributionReport r = lun.attribution->report();
        json counters = json::array();
        for (const InitiatorCounters& c : r.initiators)
            counters.push_back({{"initiator", c.id},
                                {"name", c.name},
                                {"num_cmds", c.num_cmds},
                                {"read_mib", c.read_mib},
                                {"write_mib", c.write_mib},
                                {"cmds_last_interval", c.cmds_delta},
                                {"share", c.share}});
        out["source"] = "configfs";
        out["attribution"] = to_string(r.kind);
        out["problem"] = r.problem.empty() ? json(nullptr) : json(r.problem);
        out["backstore"] = r.backstore;
        out["samples"] = r.samples;
        out["configfs"] = std::move(counters);
    } else {
        out["source"] = lun.activity ? "host" : "none";
    }
    json activity = json::array();
    if (lun.activity) {
        for (const InitiatorActivity::Entry& e : lun.activity->entries()) {
            std::optional<std::string> name;
            if (lun.initiators && e.initiator != 0) name = lun.initiators->name_of(e.initiator);
            json extents = json::array();
            for (const auto& [first, last] : e.extents) extents.push_back({first, last});
            activity.push_back({{"initiator", e.initiator},
                                {"initiator_name", e.initiator == 0 ? json("shared")
                                                   : name           ? json(*name)
                                                                    : json(nullptr)},
                                {"commands", e.commands},
                                {"read_bytes", e.read_bytes},
                                {"write_bytes", e.write_bytes},
                                {"extents", std::move(extents)}});
        }
        out["untracked_commands"] = lun.activity->untracked_commands();
        out["extent_bytes"] = lun.activity->extent_bytes();
    }
    out["activity"] = std::move(activity);
    return out;
}
}  // namespace

json AdminCommands::lun_show(const GatewayLun& lun) const {
    json out = summary(lun, gateway_.paused());
    if (lun.settings) {
        json settings = json::object();
        for (const auto& e : lun.settings())
            settings[e.name] = {{"value", e.value}, {"source", std::string(to_string(e.source))}};
        out["settings"] = std::move(settings);
    }
    if (lun.settings_problems) out["settings_problems"] = lun.settings_problems();
    if (lun.tiering) out["pins"] = pins_json(lun);
    out["lock_owner"] = lock_json(lun);
    out["movement"] = movement_json(lun, gateway_.paused());
    out["io"] = io_json(lun);
    out["initiators"] = initiators_json(lun);
    return out;
}

json AdminCommands::tier_list() const {
    const GatewayConfig c = gateway_.config_in_effect();
    struct Row {
        json info = json::object();
        std::uint64_t used = 0;
        std::uint64_t capacity = 0;
        std::uint64_t luns = 0;
    };
    std::map<std::string, Row> rows;
    for (const auto& l : gateway_.luns()) {
        const std::uint64_t eb = extent_bytes(l);
        for (const auto& [pool, extents] : extents_per_pool(l)) {
            Row& r = rows[pool];
            r.used += extents * eb;
            ++r.luns;
            if (const TierSpec* s = spec_of(l, pool)) {
                r.info["device_class"] = s->device_class;
                r.info["site"] = s->site;
                r.info["latency_ms"] = s->read_latency_us / 1000.0;
                r.capacity = s->capacity_bytes;
            }
        }
    }
    for (const auto& [pool, o] : c.tiers) {  // the config has the last word
        Row& r = rows[pool];
        if (o.device_class) r.info["device_class"] = *o.device_class;
        if (o.site) r.info["site"] = *o.site;
        if (o.latency_ms) r.info["latency_ms"] = *o.latency_ms;
        if (o.capacity_bytes) r.capacity = *o.capacity_bytes;
    }
    json out = json::array();
    for (auto& [pool, r] : rows) {
        json t = {
            {"pool", pool},
            {"device_class", r.info.value("device_class", "")},
            {"site", r.info.value("site", "")},
            {"latency_ms", r.info.contains("latency_ms") ? r.info["latency_ms"] : json(nullptr)},
            {"capacity_bytes", r.capacity ? json(r.capacity) : json(nullptr)},
            {"used_bytes", r.used},
            {"utilization", r.capacity ? json(double(r.used) / double(r.capacity)) : json(nullptr)},
            {"luns", r.luns},
            {"local", r.info.value("site", "") == c.site}};
        out.push_back(std::move(t));
    }
    return {{"tiers", std::move(out)}};
}

json AdminCommands::migrations(const json& request) const {
    std::size_t limit = 50;
    if (auto it = request.find("limit"); it != request.end()) {
        if (!it->is_number_unsigned()) throw CommandError("'limit' must be a non-negative integer");
        limit = it->get<std::size_t>();
    }
    std::vector<const GatewayLun*> luns;
    if (request.contains("lun")) {
        luns.push_back(&need_lun(gateway_, request));
    } else {
        for (const auto& l : gateway_.luns()) luns.push_back(&l);
    }
    json history = json::array();
    json queue = json::array();
    json counters = json::array();
    std::vector<std::pair<std::uint64_t, json>> records;
    for (const GatewayLun* l : luns) {
        if (!l->tiering) continue;
        for (const auto& r : l->tiering->history())
            records.emplace_back(r.start_unix_ms, record_json(l->name, r));
        for (const auto& o : l->tiering->queue())
            queue.push_back({{"lun", l->name},
                             {"extent", o.extent},
                             {"from", pool_of(*l, o.from)},
                             {"to", pool_of(*l, o.to)},
                             {"net_benefit", o.net_benefit},
                             {"forecast_accesses", o.forecast_accesses},
                             {"reason", o.reason}});
        counters.push_back({{"lun", l->name}, {"engine", engine_json(*l, gateway_.paused())}});
    }
    std::stable_sort(records.begin(), records.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::size_t first = records.size() > limit ? records.size() - limit : 0;
    for (std::size_t i = first; i < records.size(); ++i)
        history.push_back(std::move(records[i].second));
    return {{"queue", std::move(queue)},
            {"history", std::move(history)},
            {"total", records.size()},
            {"luns", std::move(counters)}};
}

json AdminCommands::map(const GatewayLun& lun) const {
    if (!lun.map) throw CommandError("LUN '" + lun.name + "' is not tiered");
    json entries = json::array();
    for (const auto& [extent, e] : lun.map->entries())
        entries.push_back({{"extent", extent},
                           {"pool", e.pool},
                           {"generation", e.generation},
                           {"crc32c", e.crc}});
    return {{"lun", lun.name},
            {"home", home_tier_pool(lun)},
            {"extents", extent_count(lun)},
            {"extent_bytes", extent_bytes(lun)},
            {"away", std::move(entries)}};
}

json AdminCommands::heat(const GatewayLun& lun, const json& request) const {
    const ceph::LunTiering& tiering = need_tiering(lun);
    const std::uint64_t extents = extent_count(lun);
    // A window of the LUN: [first, first+count), at most kMaxHeatExtents per request.
    const HeatWindowParse window = parse_heat_window(request, extents, kMaxHeatExtents);
    if (!window.window) throw CommandError(window.error);
    const std::uint64_t first = window.window->first;
    const std::uint64_t count = window.window->count;
    const std::uint64_t end = first + count;
    std::vector<std::size_t> tier_of(count, 0);
    if (lun.map && lun.images)
        for (const auto& [extent, entry] : lun.map->entries())
            if (extent >= first && extent < end)
                if (auto index = lun.images->index_of(entry.pool)) tier_of[extent - first] = *index;
    std::vector<std::int64_t> pinned(count, -1);
    for (const auto& p : tiering.pins())
        for (std::uint64_t e = std::max(p.first, first); e < p.first + p.count && e < end; ++e)
            pinned[e - first] = static_cast<std::int64_t>(p.tier);
    const std::uint64_t now = tiering.now_us();
    const LunId policy_lun = lun.policy_lun;
    json rows = json::array();
    std::string policy_name;
    bool known = false;
    tiering.inspect([&](const PlacementPolicy& policy, const PlacementView&) {
        policy_name = policy.name();
        for (std::uint64_t e = first; e < end; ++e) {
            json row = {{"extent", e}, {"tier", pool_of(lun, tier_of[e - first])}};
            if (auto o = policy.outlook(policy_lun, e, now)) {
                known = true;
                row["heat"] = o->recent_accesses;
                row["p_access"] = o->p_access;
                row["forecast_accesses"] = o->forecast_accesses;
                row["wanted"] = pool_of(lun, o->best);
                row["net_benefit"] = o->net_benefit;
                row["model"] = o->model;
            } else {
                row["heat"] = 0;
                row["p_access"] = nullptr;
                row["forecast_accesses"] = nullptr;
                row["wanted"] = nullptr;
            }
            row["pinned"] = pinned[e - first] < 0
                                ? json(nullptr)
                                : json(pool_of(lun, static_cast<TierId>(pinned[e - first])));
            rows.push_back(std::move(row));
        }
    });
    json tiers = lun.images ? json(lun.images->data_pools()) : json::array();
    return {{"lun", lun.name},
            {"policy", policy_name},
            {"forecasts", known},
            {"io_seen", io_seen(tiering)},
            {"extents", extents},
            {"first", first},
            {"count", count},
            {"truncated", end < extents || first > 0},
            {"extent_bytes", extent_bytes(lun)},
            {"home", home_tier_pool(lun)},
            {"tiers", std::move(tiers)},
            {"heat", std::move(rows)},
            {"initiators", initiators_json(lun)}};
}

json AdminCommands::forecast_accuracy(const json& request) const {
    json luns = json::array();
    for (const GatewayLun* l : chosen_luns(gateway_, request)) {
        json entry = {{"lun", l->name}, {"tenant", l->tenant}, {"io_seen", io_seen(*l->tiering)}};
        l->tiering->inspect([&](const PlacementPolicy& policy, const PlacementView&) {
            entry["policy"] = std::string(policy.name());
            const auto a = policy.accuracy();
            entry["available"] = a.has_value();
            if (!a) return;
            json models = json::array();
            for (const auto& m : a->models) models.push_back(accuracy_json(m));
            json tenants = json::array();
            for (const auto& t : a->tenants) tenants.push_back(accuracy_json(t));
            entry["models"] = std::move(models);
            entry["tenants"] = std::move(tenants);
            entry["total"] = accuracy_json(a->total);
        });
        luns.push_back(std::move(entry));
    }
    return {{"luns", std::move(luns)}};
}

json AdminCommands::alerts(const json& request) const {
    json out = json::array();
    for (const GatewayLun* l : chosen_luns(gateway_, request)) {
        const std::uint64_t now = l->tiering->now_us();
        l->tiering->inspect([&](const PlacementPolicy& policy, const PlacementView&) {
            for (const auto& a : policy.alerts()) {
                std::optional<std::string> name;
                if (l->initiators) name = l->initiators->name_of(a.initiator);
                out.push_back({{"lun", l->name},
                               {"policy", std::string(policy.name())},
                               {"kind", a.kind},
                               {"initiator", a.initiator},
                               {"initiator_name", name ? json(*name) : json(nullptr)},
                               {"first_extent", a.first_extent},
                               {"last_extent", a.last_extent},
                               {"extents", a.extents},
                               {"age_s", now >= a.time_us ? double(now - a.time_us) / 1e6 : 0.0},
                               {"description", a.description}});
            }
        });
    }
    return {{"alerts", std::move(out)}};
}

namespace {

// The LUN's home image opened anew for a change of its metadata. librbd hands such a change to
// the holder of the image's exclusive lock, or, when nobody holds it, takes the lock for the
// change and gives it back when the image closes; made through the LUN's own handle, the change
// would leave this gateway holding the lock (and so owning the LUN) though no initiator wrote.
struct HomeForUpdate {
    ceph::IoContext io;
    ceph::Image image;  // closed before io goes
};

HomeForUpdate open_home_for_update(const GatewayLun& lun) {
    if (lun.cluster == nullptr)
        throw CommandError("LUN '" + lun.name + "': its RADOS client is not known");
    auto io = ceph::IoContext::open(*lun.cluster, lun.pool, lun.ns);
    if (!io) throw CommandError("LUN '" + lun.name + "': " + io.status().message());
    auto image = ceph::Image::open(*io, lun.image);
    if (!image) throw CommandError("LUN '" + lun.name + "': " + image.status().message());
    return HomeForUpdate{std::move(*io), std::move(*image)};
}

// Tells every gateway serving the LUN that its settings changed (its map object's notify); when
// some may not have been told, says so after `text`, and makes `level` a warning.
void tell_gateways(const HomeForUpdate& home, log::Level& level, std::string& text) {
    if (const ceph::Status told = ceph::notify_lun_settings_changed(home.io, home.image); !told) {
        level = log::Level::kWarning;
        text += " (not every gateway serving it was told: " + told.message() +
                "; they find the change within " + std::to_string(kSharedSettingsPeriod.count()) +
                " s)";
    }
}

}  // namespace

void AdminCommands::write_home_pin(const GatewayLun& lun, bool pinned, const std::string& outcome,
                                   Outcome& done) {
    HomeForUpdate home = open_home_for_update(lun);
    // Released, the LUN is the policy's again without pins: the extent pins go with it.
    ceph::Status st = pinned ? ceph::Status::ok() : ceph::write_extent_pins(home.image, {});
    if (st) st = ceph::set_home_pinned(home.image, pinned);
    if (!st)
        throw CommandError((pinned ? "pin " + lun.name + " home: "
                                   : "release the home pin of " + lun.name + ": ") +
                           st.message());
    lun.tiering->set_home_pinned(pinned);
    done.text = outcome;
    tell_gateways(home, done.level, done.text);
}

void AdminCommands::write_extent_pins(const GatewayLun& lun, std::uint64_t first,
                                      std::uint64_t count, const std::optional<std::string>& pool,
                                      Outcome& done) {
    HomeForUpdate home = open_home_for_update(lun);
    auto stored = ceph::read_extent_pins(home.image);
    const bool whole = !pool && first == 0 && count >= extent_count(lun);
    if (!stored && !whole)
        throw CommandError("read the pins of " + lun.name + ": " + stored.status().message() +
                           " (`rbdtier unpin " + lun.name + " all` replaces them)");
    const std::vector<ceph::StoredPin> pins =
        whole ? std::vector<ceph::StoredPin>{}
              : ceph::edit_extent_pins(*stored, first, count, pool);
    if (const ceph::Status st = ceph::write_extent_pins(home.image, pins); !st)
        throw CommandError("write the pins of " + lun.name + ": " + st.message());
    lun.tiering->replace_pins(
        ceph::resolve_extent_pins(pins, lun.images->data_pools(), extent_count(lun)).ranges);
    tell_gateways(home, done.level, done.text);
}

json AdminCommands::pin(const GatewayLun& lun, const json& request, bool pin, Outcome& done) const {
    need_tiering(lun);
    ceph::LunTiering& tiering = *lun.tiering;
    const ExtentRangeParse parsed =
        parse_range_argument(request, extent_bytes(lun), extent_count(lun));
    if (!parsed.range) throw CommandError(parsed.error);
    const ExtentRange r = *parsed.range;
    json out = {{"lun", lun.name}, {"first_extent", r.first}, {"count", r.count}};
    const std::string extents = r.count == 1 ? "extent " + std::to_string(r.first)
                                             : "extents " + std::to_string(r.first) + "-" +
                                                   std::to_string(r.first + r.count - 1);
    if (tiering.home_pinned()) {
        const bool whole = r.first == 0 && r.count >= extent_count(lun);
        if (!pin && whole) {
            write_home_pin(lun, false,
                           "home pin released: the policy places the LUN's extents again", done);
            out["pins"] = pins_json(lun);
            return out;
        }
        if (!pin || need_string(request, "tier") != lun.images->data_pool(0))
            throw CommandError("LUN '" + lun.name + "' is pinned home whole (evacuated): " +
                               "`rbdtier unpin " + lun.name + " all` hands it back to tiering");
    }
    if (pin) {
        const TierParse chosen = parse_tier_argument(request, lun.images->data_pools(), lun.name);
        if (!chosen.index) throw CommandError(chosen.error);
        const std::string& tier = chosen.tier;
        done.text = extents + " pinned to " + tier;
        write_extent_pins(lun, r.first, r.count, tier, done);
        out["tier"] = tier;
    } else {
        done.text = extents + " handed back to the policy";
        write_extent_pins(lun, r.first, r.count, std::nullopt, done);
    }
    out["pins"] = pins_json(lun);
    return out;
}

json AdminCommands::evacuate(const GatewayLun& lun, Outcome& done) const {
    need_tiering(lun);
    write_home_pin(lun, true,
                   "pinned home whole: its owner brings every extent home (" +
                       std::to_string(extents_away(lun)) + " away now) and moves none out",
                   done);
    return lun_show(lun);
}

namespace {

// The line a scrub's end logs, after "admin scrub": at info when clean, at warning with the
// problems it found, at error with damage; a failed scrub at warning with the reason.
void log_scrub_end(const std::string& lun, const ScrubJobSnapshot& end) {
    const ceph::ScrubReport& report = end.report;
    if (end.state == ScrubJobState::kFailed) {
        RBDTIER_LOG_WARNING(lun, "admin scrub failed: " << end.error);
        return;
    }
    log::Level level = log::Level::kInfo;
    std::string text;
    if (report.crc_mismatch != 0) {
        level = log::Level::kError;
        text = "found damaged extents: ";
    } else if (!report.problems.empty()) {
        level = log::Level::kWarning;
        text = "found problems: ";
    }
    text += std::to_string(report.extents_checked) + " extents checked, " +
            std::to_string(report.crc_verified) + " checksums verified, " +
            std::to_string(report.crc_mismatch) + " checksum mismatches, " +
            std::to_string(report.stray_removed) + " stray copies and " +
            std::to_string(report.intents_cleaned) + " leftover copies removed";
    for (const std::string& p : report.problems) text += "; " + p;
    RBDTIER_LOG(level, lun, "admin scrub: " << text);
}

json scrub_json(const std::string& lun, const ScrubJobSnapshot& job) {
    json out = {{"lun", lun},
                {"state", to_string(job.state)},
                {"steps_done", job.steps_done},
                {"steps_total", job.steps_total},
                {"elapsed_s", job.elapsed_s}};
    if (job.state == ScrubJobState::kFailed) out["error"] = job.error;
    if (job.state != ScrubJobState::kRunning) {
        const ceph::ScrubReport& r = job.report;
        out["extents_checked"] = r.extents_checked;
        out["stray_removed"] = r.stray_removed;
        out["intents_cleaned"] = r.intents_cleaned;
        out["crc_verified"] = r.crc_verified;
        out["crc_mismatch"] = r.crc_mismatch;
        out["problems"] = r.problems;
    }
    return out;
}

}  // namespace

json AdminCommands::scrub(const GatewayLun& lun, Outcome& done) const {
    if (!lun.migrator) throw CommandError("LUN '" + lun.name + "' is not tiered");
    if (!lun.migrator->owner())
        throw CommandError("scrub of " + lun.name +
                               " refused: this gateway does not own the LUN (only the owner "
                               "scrubs, against the map it holds under its lock)",
                           EBUSY);
    // The scrub runs as a job: this thread (the admin socket's) answers at once. The job uses
    // the migrator, which lives until the LUN unregisters; that cancels and joins the job first.
    ceph::ExtentMigrator* migrator = lun.migrator;
    Gateway* gateway = &gateway_;
    auto work = [migrator](ceph::ScrubReport& report, ceph::ScrubControl& control) {
        return migrator->scrub(report, &control);
    };
    auto finished = [gateway, name = lun.name](const ScrubJobSnapshot& end) {
        if (end.state == ScrubJobState::kDone)  // damage shows in health until a clean scrub
            gateway->note_scrub(name, end.report.crc_mismatch);
        log_scrub_end(name, end);
    };
    std::string error;
    if (!gateway_.scrubs().start(lun.name, std::move(work), std::move(finished), error))
        throw CommandError(error, EBUSY);
    done.logged_later = true;  // the job logs how it ended
    auto now = gateway_.scrubs().state(lun.name);
    return now ? scrub_json(lun.name, *now) : json{{"lun", lun.name}, {"state", "running"}};
}

json AdminCommands::scrub_status(const GatewayLun& lun) const {
    auto now = gateway_.scrubs().state(lun.name);
    if (!now) throw CommandError("no scrub of " + lun.name + " since it opened", ENOENT);
    return scrub_json(lun.name, *now);
}

json AdminCommands::reload(Outcome& done) {
    const ConfigOutcome outcome = gateway_.reload();
    if (!outcome.ok())
        throw CommandError("config refused, previous one kept: " + outcome.message());
    const GatewayConfig c = gateway_.config_in_effect();
    std::ostringstream text;
    text << gateway_.config_path() << " in force: site " << c.site << ", migration bandwidth "
         << c.migration_bandwidth_mib_s << " MiB/s, horizon " << c.horizon_s << " s, round "
         << c.round_s << " s";
    done.text = text.str();
    // Tiering keys the file sets: only this gateway's default under the cluster's settings.
    const std::vector<std::string> local = local_tiering_keys(*outcome.config);
    return {{"config", gateway_.config_path()}, {"reloaded", true}, {"local_tiering_keys", local}};
}

}  // namespace rbdtier
