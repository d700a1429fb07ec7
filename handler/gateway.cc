#include "handler/gateway.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <functional>
#include <string>
#include <string_view>

#include "handler/admin_commands.h"
#include "handler/lock_probe.h"
#include "handler/metrics_server.h"

namespace rbdtier {

namespace {
std::string local_hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
    return name;
}
}  // namespace

std::uint64_t extent_bytes(const GatewayLun& lun) {
    return lun.images ? lun.images->object_size() : 0;
}

std::uint64_t extent_count(const GatewayLun& lun) {
    const std::uint64_t e = extent_bytes(lun);
    return e ? (lun.size_bytes + e - 1) / e : 0;
}

std::uint64_t extents_per_pool(const GatewayLun& lun, PoolExtents& out) {
    out.clear();
    if (!lun.images) return lun.map ? lun.map->entry_count() : 0;
    const ceph::TierImages& images = *lun.images;
    const auto add = [&out](const std::string& pool, std::uint64_t extents) {
        const auto it = std::find_if(
            out.begin(), out.end(), [&pool](const auto& counted) { return counted.first == pool; });
        if (it == out.end())
            out.emplace_back(pool, extents);
        else
            it->second += extents;
    };
    for (std::size_t i = 0; i < images.count(); ++i) add(images.data_pool(i), 0);
    std::uint64_t away = 0;
    if (lun.map) {
        lun.map->visit_entries([&](std::uint64_t, const ceph::PlacementEntry& entry) {
            const auto tier = images.index_of(entry.pool);
            add(tier ? images.data_pool(*tier) : entry.pool, 1);
            ++away;
        });
    }
    const std::uint64_t total = extent_count(lun);
    add(home_tier_pool(lun), total > away ? total - away : 0);
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return away;
}

std::map<std::string, std::uint64_t> extents_per_pool(const GatewayLun& lun) {
    PoolExtents counted;
    extents_per_pool(lun, counted);
    return {counted.begin(), counted.end()};
}

const std::string& home_tier_pool(const GatewayLun& lun) {
    return lun.images ? lun.images->data_pool(0) : lun.pool;
}

TieringInForce tiering_in_force(const GatewayLun& lun) {
    if (lun.in_force) return lun.in_force();
    return {lun.policy, lun.horizon_s, lun.round_s};
}

Gateway::Gateway(GatewayConfig config, std::string config_path)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      budget_(std::make_shared<GatewayBudget>(config_.migration_bandwidth_mib_s * (1 << 20),
                                              kMaxConcurrentMigrations)),
      executor_(std::make_shared<MigrationExecutor>(budget_, kMaxConcurrentMigrations)) {}

Gateway::~Gateway() {
    scrubs_.cancel_all();
    std::unique_ptr<ceph::ServiceStatusPublisher> publisher;
    {
        std::lock_guard lock(mutex_);
        publisher = std::move(publisher_);
    }
    publisher.reset();  // its thread reads the LUN list: gone before the gateway
    stop_services();
}

std::unique_ptr<Gateway> Gateway::load(const std::string& config_path, std::string& error) {
    struct stat st {};
    if (::stat(config_path.c_str(), &st) != 0 && errno == ENOENT)
        return std::make_unique<Gateway>(GatewayConfig{}, config_path);
    ConfigOutcome outcome = load_gateway_config(config_path);
    if (!outcome.ok()) {
        error = outcome.message();
        return nullptr;
    }
    return std::make_unique<Gateway>(std::move(*outcome.config), config_path);
}

bool Gateway::start_services(std::string& error, std::function<void(const std::string&)> log) {
    stop_services();
    {
        std::lock_guard lock(mutex_);
        service_log_ = log;
    }
    commands_ = std::make_unique<AdminCommands>(*this);
    AdminCommands* commands = commands_.get();
    bool ok = true;
    std::string socket_error;
    if (!start_admin_socket([commands](const nlohmann::json& r) { return commands->handle(r); },
                            socket_error)) {
        error = "admin socket: " + socket_error;
        ok = false;
    }
    const GatewayConfig c = config();
    if (c.metrics_port != 0) {
        std::string metrics_error;
        MetricsServerLimits limits;
        limits.max_sessions = c.metrics_max_sessions;
        limits.log = log;
        auto metrics = MetricsServer::start(
            c.metrics_address, c.metrics_port, [this] { return render_metrics(*this); },
            metrics_error, limits);
        if (!metrics) {
            if (!ok) error += "\n";
            error += "metrics endpoint: " + metrics_error;
            ok = false;
        } else {
            std::lock_guard lock(mutex_);
            metrics_ = std::move(metrics);
        }
    }
    return ok;
}

void Gateway::stop_services() {
    std::unique_ptr<MetricsServer> metrics;
    {
        std::lock_guard lock(mutex_);
        metrics = std::move(metrics_);
    }
    metrics.reset();
    stop_admin_socket();
    commands_.reset();
}

bool Gateway::admin_socket_serving() const {
    std::lock_guard lock(mutex_);
    return admin_ != nullptr;
}

void Gateway::start_service_map(std::function<void(const ceph::Status&)> on_error,
                                std::chrono::milliseconds period) {
    {
        std::lock_guard lock(service_mutex_);
        if (service_error_) return;
        service_error_ = on_error ? std::move(on_error) : [](const ceph::Status&) {};
    }
    {
        std::lock_guard lock(service_mutex_);
        service_period_ = period;
    }
    auto publisher =
        std::make_unique<ceph::ServiceStatusPublisher>(period, [this] { publish_service_map(); });
    std::lock_guard lock(mutex_);
    publisher_ = std::move(publisher);
}

namespace {
std::string daemon_name(const GatewayLun& lun) {
    return local_hostname() + ":" + lun.pool + "/" + (lun.ns.empty() ? "" : lun.ns + "/") +
           lun.image;
}

}  // namespace

void Gateway::publish_service_map() {
    const GatewayConfig c = config();
    std::function<void(const ceph::Status&)> on_error;
    std::vector<std::string>& names = service_names_;
    bool every_lun = false;
    {
        std::lock_guard lock(service_mutex_);
        on_error = service_error_;
        const auto now = std::chrono::steady_clock::now();
        every_lun = now >= next_full_publish_;
        if (every_lun) next_full_publish_ = now + service_period_;
        if (every_lun)
            service_opened_.clear();  // in the pass over every LUN
        else
            names = std::exchange(service_opened_, {});
    }
    if (every_lun) {
        // The names now; each is looked up again when its turn comes (it may have closed).
        // Written over the last pass's: their room is reused.
        auto luns = lock_luns();
        names.resize(luns_.size());
        for (std::size_t i = 0; i < luns_.size(); ++i) names[i] = luns_[i].name;
    }
    // One LUN at a time under the list's lock: a LUN opening or closing meanwhile waits for
    // one LUN's publication, not for the whole pass.
    for (const std::string& name : names) {
        auto luns = lock_luns();
        if (const GatewayLun* l = find_lun(name)) publish_service_entry(*l, c, on_error);
    }
}

void Gateway::publish_service_entry(const GatewayLun& l, const GatewayConfig& c,
                                    const std::function<void(const ceph::Status&)>& on_error) {
    if (!l.cluster) return;
    bool registered = false;
    {
        std::lock_guard lock(service_mutex_);
        registered = service_entries_[l.name].registered;
    }
    if (!registered) {
        const std::string daemon = daemon_name(l);
        ceph::ServiceDict metadata = {
            {"daemon_type", "portal"}, {"daemon_prefix", local_hostname()},
            {"pool_name", l.pool},     {"image_name", l.image},
            {"handler", "rbdtier"},    {"lun", l.name},
            {"site", c.site},          {"admin_socket", c.admin_socket}};
        if (!l.ns.empty()) metadata["pool_namespace"] = l.ns;
        if (l.home_image) {
            if (auto id = l.home_image->id()) metadata["image_id"] = *id;
        }
        const ceph::Status st =
            ceph::register_service_daemon(*l.cluster, ceph::kTcmuRunnerService, daemon, metadata);
        std::lock_guard lock(service_mutex_);
        ServiceEntry& e = service_entries_[l.name];
        e.daemon = daemon;
        if (st) {
            e.registered = true;
        } else if (!e.register_failed) {
            e.register_failed = true;
            on_error(st);
        }
        if (!e.registered) return;
    }
    service_status(l, c.site, service_look_);
    const std::string& status = service_look_.packed;
    // Compared by the hash of the form librados takes (NUL-separated: no two statuses that
    // differ pack into the same bytes).
    const std::uint64_t digest = std::hash<std::string>{}(status);
    {
        // librados keeps the last status and reports it to the manager itself: the same status
        // again would only churn its messenger.
        std::lock_guard lock(service_mutex_);
        ServiceEntry& e = service_entries_[l.name];
        if (e.pushed && e.pushed_digest == digest) {
            ++e.status_unchanged;
            return;
        }
    }
    const ceph::Status st = ceph::update_service_status(*l.cluster, status);
    std::lock_guard lock(service_mutex_);
    ServiceEntry& e = service_entries_[l.name];
    if (st) {
        ++e.status_updates;
        e.pushed = true;
        e.pushed_digest = digest;
    } else if (!e.update_failed) {
        e.update_failed = true;
        on_error(st.with_context(l.name));
    }
}

nlohmann::json Gateway::service_json() const {
    std::lock_guard lock(service_mutex_);
    if (!service_error_) return nullptr;
    nlohmann::json daemons = nlohmann::json::array();
    for (const auto& [name, e] : service_entries_) {
        daemons.push_back({{"daemon", e.daemon},
                           {"lun", name},
                           {"registered", e.registered},
                           {"status_updates", e.status_updates},
                           {"status_unchanged", e.status_unchanged}});
    }
    return {{"type", ceph::kTcmuRunnerService}, {"daemons", std::move(daemons)}};
}

namespace {

// Appends an entry to a status in the packed form librados takes (ceph::pack_service_dict).
void pack_entry(std::string& out, std::string_view key, std::string_view value) {
    out.append(key);
    out.push_back('\0');
    out.append(value);
    out.push_back('\0');
}

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    out.append(digits, end);
}

void pack_entry(std::string& out, std::string_view key, std::uint64_t value) {
    out.append(key);
    out.push_back('\0');
    append_number(out, value);
    out.push_back('\0');
}

}  // namespace

void Gateway::service_status(const GatewayLun& l, const std::string& site,
                             ServiceLook& look) const {
    const auto now = LockProbe::Clock::now();
    const bool standby = l.lock_probe && l.lock_probe->known_not_held(now);
    bool owner = false;
    if (!standby && l.home_image) {
        const int held = holds_exclusive_lock(*l.home_image);
        owner = held == 1;
        // A definite answer serves the LUN's rounds too (they ask less).
        if (l.lock_probe && (held >= 0 || held == -ESHUTDOWN)) l.lock_probe->answered(owner, now);
    }
    std::uint64_t lost = 0;
    {
        std::lock_guard lock(service_mutex_);
        auto it = service_entries_.find(l.name);
        if (it != service_entries_.end()) {
            // Counted as handler_rbd counts it: the lock held at one look and not at the next.
            ServiceEntry& e = it->second;
            if (e.had_lock && !owner) ++e.lock_lost;
            e.had_lock = owner;
            lost = e.lock_lost;
        }
    }
    PoolExtents& per_pool = look.per_pool;
    const std::uint64_t away = extents_per_pool(l, per_pool);
    LunRoundsStats stats;
    if (l.tiering) stats = l.tiering->stats();
    const HealthReport health = lun_health(l, look.health);
    // In key order, as a ServiceDict packs.
    std::string& out = look.packed;
    out.clear();
    pack_entry(out, "bytes_moved", stats.bytes_moved);
    pack_entry(out, "engine", !l.tiering ? "none" : paused() ? "paused" : "running");
    pack_entry(out, "extents_away", away);
    pack_entry(out, "health", to_string(health.status));
    if (!health.checks.empty()) pack_entry(out, "health_checks", health.codes());
    pack_entry(out, "lock_lost_cnt", lost);
    pack_entry(out, "lock_owner", owner ? "true" : "false");
    pack_entry(out, "migrations", stats.moved);
    pack_entry(out, "migrations_failed", stats.failed);
    pack_entry(out, "policy", tiering_in_force(l).policy);
    pack_entry(out, "site", site);
    pack_entry(out, "tenant", l.tenant);
    if (!per_pool.empty()) {
        // "pool=bytes,...", by pool name.
        const std::uint64_t eb = extent_bytes(l);
        out.append("tier_bytes");
        out.push_back('\0');
        const char* separator = "";
        for (const auto& [pool, extents] : per_pool) {
            out.append(separator);
            out.append(pool);
            out.push_back('=');
            append_number(out, extents * eb);
            separator = ",";
        }
        out.push_back('\0');
    }
}

void Gateway::health_facts(const GatewayLun& l, LunHealthFacts& f) const {
    // Every fact starts again from its default; the pools' room is kept.
    std::vector<PoolHealthFacts> pools = std::move(f.pools);
    pools.clear();
    f = LunHealthFacts{};
    f.pools = std::move(pools);
    f.lun = l.name;
    f.tenant = l.tenant;
    f.tiered = l.tiering != nullptr;
    if (l.tiering_problem) f.tiering_problem = l.tiering_problem();
    if (l.watch) f.routing = l.watch->routing();
    {
        std::lock_guard lock(service_mutex_);
        auto it = scrub_damage_.find(l.name);
        if (it != scrub_damage_.end()) f.scrub_mismatches = it->second;
    }
    if (!l.tiering) return;
    const LunRoundsStats stats = l.tiering->stats();
    f.resource_problem = stats.resource_problem;
    for (const MigrationRecord& r : l.tiering->history(kRecentMigrations)) {
        ++f.recent_migrations;
        // A refusal (extent busy, already there, not the owner) is a decision, not a failure.
        if (r.outcome != "moved" && r.outcome.rfind("refused", 0) != 0) ++f.recent_failures;
    }
    const std::vector<bool> full = l.tiering->pools_full();
    const std::optional<TenantRoom> room = l.tiering->tenant_room();
    const std::uint64_t eb = extent_bytes(l);
    // What the LUN holds per pool counts only against a tenant's quota.
    std::map<std::string, std::uint64_t> extents;
    if (room && room->tenant_found) extents = extents_per_pool(l);
    if (l.images) f.pools.reserve(l.images->count());
    for (std::size_t t = 0; l.images && t < l.images->count(); ++t) {
        PoolHealthFacts p;
        p.pool = l.images->data_pool(t);
        p.home = t == 0;
        p.full = t < full.size() && full[t];
        if (room && room->tenant_found && !p.home) {
            if (auto q = room->quota.find(p.pool); q != room->quota.end()) {
                p.tenant_quota_bytes = q->second;
                const auto own = extents.find(p.pool);
                p.tenant_held_bytes =
                    (own == extents.end() ? 0 : own->second * eb) + room->others(p.pool);
            }
        }
        f.pools.push_back(std::move(p));
    }
}

HealthReport Gateway::lun_health(const GatewayLun& lun, GatewayHealthFacts& facts) const {
    facts.paused = paused() && lun.tiering != nullptr;
    facts.luns.resize(1);
    health_facts(lun, facts.luns.front());
    return evaluate_health(facts);
}

HealthReport Gateway::lun_health(const GatewayLun& lun) const {
    GatewayHealthFacts facts;
    return lun_health(lun, facts);
}

HealthReport Gateway::health() const {
    GatewayHealthFacts facts;
    facts.paused = paused();
    auto luns = lock_luns();
    facts.luns.resize(luns_.size());
    for (std::size_t i = 0; i < luns_.size(); ++i) health_facts(luns_[i], facts.luns[i]);
    return evaluate_health(facts);
}

void Gateway::note_scrub(const std::string& lun, std::uint64_t mismatches) {
    std::lock_guard lock(service_mutex_);
    if (mismatches == 0) {
        scrub_damage_.erase(lun);
    } else {
        scrub_damage_[lun] = mismatches;
    }
}

std::uint16_t Gateway::metrics_port() const {
    std::lock_guard lock(mutex_);
    return metrics_ ? metrics_->port() : 0;
}

GatewayConfig Gateway::config() const {
    std::lock_guard lock(mutex_);
    return config_;
}

GatewayConfig Gateway::config_in_effect() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> problems;  // the LUNs that read them log them
    return apply_cluster_settings(config_, cluster_settings_, problems);
}

void Gateway::set_cluster_settings(const std::map<std::string, std::string>& cluster) {
    {
        std::lock_guard lock(mutex_);
        if (cluster == cluster_settings_) return;
        cluster_settings_ = cluster;
    }
    apply_migration_bandwidth();
}

ConfigOutcome Gateway::reload() {
    ConfigOutcome outcome = load_gateway_config(config_path_);
    if (outcome.ok()) {
        {
            std::lock_guard lock(mutex_);
            config_ = *outcome.config;
        }
        apply_migration_bandwidth();
    }
    return outcome;
}

void Gateway::apply_migration_bandwidth() {
    // Logged by whoever changed it: the reload, the LUNs that read the cluster's settings.
    budget_->set_bandwidth(config_in_effect().migration_bandwidth_mib_s * (1 << 20));
    executor_->wake();
}

Gateway::Registration& Gateway::Registration::operator=(Registration&& other) noexcept {
    if (this != &other) {
        reset();
        gateway_ = std::exchange(other.gateway_, nullptr);
        name_ = std::move(other.name_);
    }
    return *this;
}

void Gateway::Registration::reset() {
    if (gateway_) gateway_->remove_lun(name_);
    gateway_ = nullptr;
}

Gateway::Registration Gateway::add_lun(GatewayLun lun, std::string& error) {
    std::unique_lock lock(luns_mutex_);
    if (std::any_of(luns_.begin(), luns_.end(),
                    [&](const GatewayLun& l) { return l.name == lun.name; })) {
        error = "LUN '" + lun.name + "' is already registered";
        return {};
    }
    if (lun.tiering && paused()) lun.tiering->set_paused(true);
    std::string name = lun.name;
    luns_.push_back(std::move(lun));
    lock.unlock();
    {
        // Registered in the service map at once, by itself.
        std::lock_guard service(service_mutex_);
        service_opened_.push_back(name);
    }
    {
        std::lock_guard slock(mutex_);
        if (publisher_) publisher_->update_now();
    }
    return Registration(this, std::move(name));
}

void Gateway::remove_lun(const std::string& name) {
    {
        std::unique_lock lock(luns_mutex_);
        std::erase_if(luns_, [&](const GatewayLun& l) { return l.name == name; });
    }
    // No scrub of it can start now (it is not listed); the one running ends before the LUN
    // closes, outside the list's lock (LUNs keep opening and closing meanwhile).
    scrubs_.cancel(name);
    // The LUN's client, closed with it, takes its service map entry away.
    std::lock_guard slock(service_mutex_);
    service_entries_.erase(name);
    scrub_damage_.erase(name);
}

const GatewayLun* Gateway::find_lun(const std::string& name) const {
    for (const auto& l : luns_)
        if (l.name == name) return &l;
    return nullptr;
}

void Gateway::set_paused(bool paused) {
    {
        std::lock_guard lock(mutex_);
        paused_ = paused;
    }
    auto lock = lock_luns();
    for (const auto& l : luns_)
        if (l.tiering) l.tiering->set_paused(paused);
}

bool Gateway::paused() const {
    std::lock_guard lock(mutex_);
    return paused_;
}

bool Gateway::start_admin_socket(AdminSocket::Handler handler, std::string& error) {
    const GatewayConfig c = config();
    AdminSocketOptions options;
    options.path = c.admin_socket;
    options.group = c.admin_socket_group;
    options.max_request_bytes = c.admin_max_request_bytes;
    options.read_timeout = std::chrono::milliseconds(c.admin_read_timeout_ms);
    options.max_sessions = c.admin_max_sessions;
    {
        std::lock_guard lock(mutex_);
        options.log = service_log_;
    }
    auto socket = AdminSocket::start(std::move(options), std::move(handler), error);
    if (!socket) return false;
    std::lock_guard lock(mutex_);
    admin_ = std::move(socket);
    return true;
}

void Gateway::stop_admin_socket() {
    std::unique_ptr<AdminSocket> socket;
    {
        std::lock_guard lock(mutex_);
        socket = std::move(admin_);
    }
    socket.reset();
}

}  // namespace rbdtier
