#include "handler/admin_commands.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace rbdtier {
namespace {

using nlohmann::json;

// A request the gateway refuses; becomes {"error": ...}.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
    return name;
}

const GatewayLun& need_lun(const Gateway& gateway, const json& request) {
    auto it = request.find("lun");
    if (it == request.end() || !it->is_string()) throw CommandError("missing argument 'lun'");
    const GatewayLun* lun = gateway.find_lun(it->get<std::string>());
    if (!lun) throw CommandError("unknown LUN '" + it->get<std::string>() + "'");
    return *lun;
}

std::uint64_t extent_bytes(const GatewayLun& lun) {
    return lun.images ? lun.images->object_size() : 0;
}

std::uint64_t extent_count(const GatewayLun& lun) {
    const std::uint64_t e = extent_bytes(lun);
    return e ? (lun.size_bytes + e - 1) / e : 0;
}

// Extents per pool from the placement map (the truth); the home pool holds the rest.
std::map<std::string, std::uint64_t> extents_per_pool(const GatewayLun& lun) {
    std::map<std::string, std::uint64_t> out;
    if (!lun.images) return out;
    for (std::size_t i = 0; i < lun.images->count(); ++i) out[lun.images->pool(i)] = 0;
    std::uint64_t away = 0;
    if (lun.map) {
        for (const auto& [extent, entry] : lun.map->entries()) {
            ++out[entry.pool];
            ++away;
        }
    }
    const std::uint64_t total = extent_count(lun);
    out[lun.pool] = total > away ? total - away : 0;
    return out;
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

json lock_json(const GatewayLun& lun) {
    if (!lun.images) return nullptr;
    auto owner = lun.images->image(0).is_exclusive_lock_owner();
    if (!owner) return json{{"error", owner.status().message()}};
    return owner.value();
}

json summary(const GatewayLun& lun, bool paused) {
    json tiers = json::array();
    const std::uint64_t eb = extent_bytes(lun);
    for (const auto& [pool, extents] : extents_per_pool(lun)) {
        json t = {{"pool", pool},
                  {"extents", extents},
                  {"bytes", extents * eb},
                  {"home", pool == lun.pool}};
        if (const TierSpec* s = spec_of(lun, pool)) {
            t["device_class"] = s->device_class;
            t["site"] = s->site;
        }
        tiers.push_back(std::move(t));
    }
    return {{"name", lun.name},          {"pool", lun.pool},
            {"image", lun.image},        {"size_bytes", lun.size_bytes},
            {"tenant", lun.tenant},      {"tiered", lun.images != nullptr},
            {"extent_bytes", eb},        {"extents", extent_count(lun)},
            {"tiers", std::move(tiers)}, {"engine", engine_json(lun, paused)}};
}

json record_json(const std::string& lun, const ceph::MigrationRecord& r) {
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
    static const std::vector<std::string> names = {
        "status", "lun list", "lun show", "tier list", "migrations",
        "map",    "pause",    "resume",   "scrub",     "reload"};
    return names;
}

json AdminCommands::handle(const json& request) {
    auto version = request.find("version");
    if (version == request.end() || !version->is_number_integer())
        return admin_error("malformed request: missing integer 'version'");
    if (version->get<std::int64_t>() != kProtocolVersion)
        return admin_error("unsupported protocol version " + version->dump() +
                           " (this gateway speaks " + std::to_string(kProtocolVersion) + ")");
    auto command = request.find("command");
    if (command == request.end() || !command->is_string())
        return admin_error("malformed request: missing string 'command'");
    const std::string name = command->get<std::string>();
    try {
        json result;
        if (name == "reload") {
            result = reload();
        } else if (name == "pause" || name == "resume") {
            gateway_.set_paused(name == "pause");
            result = {{"paused", gateway_.paused()}};
        } else {
            auto lock = gateway_.lock_luns();
            if (name == "status")
                result = status();
            else if (name == "lun list")
                result = lun_list();
            else if (name == "lun show")
                result = lun_show(need_lun(gateway_, request));
            else if (name == "tier list")
                result = tier_list();
            else if (name == "migrations")
                result = migrations(request);
            else if (name == "map")
                result = map(need_lun(gateway_, request));
            else if (name == "scrub")
                result = scrub(need_lun(gateway_, request));
            else {
                json reply = admin_error("unknown command '" + name + "'");
                reply["known"] = known();
                return reply;
            }
        }
        return {{"version", kProtocolVersion}, {"result", std::move(result)}};
    } catch (const CommandError& e) {
        return admin_error(e.what());
    }
}

json AdminCommands::status() const {
    const GatewayConfig c = gateway_.config();
    const bool paused = gateway_.paused();
    json luns = json::array();
    for (const auto& l : gateway_.luns())
        luns.push_back(
            {{"name", l.name}, {"lock_owner", lock_json(l)}, {"engine", engine_json(l, paused)}});
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
        {"horizon_s", c.horizon_s},
        {"round_s", c.round_s},
        {"luns", std::move(luns)}};
}

json AdminCommands::lun_list() const {
    json out = json::array();
    const bool paused = gateway_.paused();
    for (const auto& l : gateway_.luns()) out.push_back(summary(l, paused));
    return {{"luns", std::move(out)}};
}

json AdminCommands::lun_show(const GatewayLun& lun) const {
    json out = summary(lun, gateway_.paused());
    out["lock_owner"] = lock_json(lun);
    return out;
}

json AdminCommands::tier_list() const {
    const GatewayConfig c = gateway_.config();
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
    json counters = json::array();
    std::vector<std::pair<std::uint64_t, json>> records;
    for (const GatewayLun* l : luns) {
        if (!l->tiering) continue;
        for (const auto& r : l->tiering->history())
            records.emplace_back(r.start_unix_ms, record_json(l->name, r));
        counters.push_back({{"lun", l->name}, {"engine", engine_json(*l, gateway_.paused())}});
    }
    std::stable_sort(records.begin(), records.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::size_t first = records.size() > limit ? records.size() - limit : 0;
    for (std::size_t i = first; i < records.size(); ++i)
        history.push_back(std::move(records[i].second));
    return {
        {"history", std::move(history)}, {"total", records.size()}, {"luns", std::move(counters)}};
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
            {"home", lun.pool},
            {"extents", extent_count(lun)},
            {"extent_bytes", extent_bytes(lun)},
            {"away", std::move(entries)}};
}

json AdminCommands::scrub(const GatewayLun& lun) const {
    if (!lun.migrator) throw CommandError("LUN '" + lun.name + "' is not tiered");
    ceph::ScrubReport report;
    const ceph::Status st = lun.migrator->scrub(report);
    if (!st) throw CommandError("scrub of " + lun.name + " failed: " + st.message());
    return {{"lun", lun.name},
            {"extents_checked", report.extents_checked},
            {"stray_removed", report.stray_removed},
            {"crc_verified", report.crc_verified},
            {"crc_mismatch", report.crc_mismatch},
            {"problems", report.problems}};
}

json AdminCommands::reload() {
    const ConfigOutcome outcome = gateway_.reload();
    if (!outcome.ok())
        throw CommandError("config refused, previous one kept: " + outcome.message());
    return {{"config", gateway_.config_path()}, {"reloaded", true}};
}

}  // namespace rbdtier
