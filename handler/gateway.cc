#include "handler/gateway.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "handler/admin_commands.h"
#include "handler/bandwidth_share.h"
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

Gateway::Gateway(GatewayConfig config, std::string config_path)
    : config_path_(std::move(config_path)), config_(std::move(config)) {}

Gateway::~Gateway() {
    std::unique_ptr<ceph::ServiceRegistration> service;
    {
        std::lock_guard lock(mutex_);
        service = std::move(service_);
    }
    service.reset();  // its thread reads the LUN list: gone before the gateway
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

void Gateway::register_service(const ceph::ClusterOptions& cluster,
                               std::function<void(const ceph::Status&)> on_error,
                               std::chrono::milliseconds period) {
    std::lock_guard lock(mutex_);
    if (service_) return;
    ceph::ServiceRegistrationOptions o;
    o.cluster = cluster;
    // Never let an unreachable cluster hold the registration thread for minutes.
    o.cluster.conf.emplace_back("client_mount_timeout", "10");
    o.daemon = local_hostname() + ":rbdtier";
    o.metadata = {{"daemon_type", "gateway"},
                  {"daemon_prefix", local_hostname()},
                  {"handler", "rbdtier"},
                  {"site", config_.site},
                  {"admin_socket", config_.admin_socket}};
    o.status = [this] { return service_status(); };
    o.on_error = std::move(on_error);
    o.period = period;
    service_ = ceph::ServiceRegistration::start(std::move(o));
}

nlohmann::json Gateway::service_json() const {
    std::lock_guard lock(mutex_);
    if (!service_) return nullptr;
    return {{"type", service_->service()},
            {"daemon", service_->daemon()},
            {"registered", service_->registered()},
            {"status_updates", service_->status_updates()}};
}

ceph::ServiceDict Gateway::service_status() const {
    const bool paused_now = paused();
    std::string owned;
    std::uint64_t moved = 0;
    std::uint64_t bytes = 0;
    std::size_t tiered = 0;
    std::size_t count = 0;
    {
        auto lock = lock_luns();
        count = luns_.size();
        for (const auto& l : luns_) {
            if (l.images) {
                auto owner = l.images->image(0).is_exclusive_lock_owner();
                if (owner && *owner) owned += (owned.empty() ? "" : ",") + l.name;
            }
            if (l.tiering) {
                ++tiered;
                const auto s = l.tiering->stats();
                moved += s.moved;
                bytes += s.bytes_moved;
            }
        }
    }
    return {{"site", config().site},
            {"luns", std::to_string(count)},
            {"lock_owner", owned.empty() ? "none" : owned},
            {"engine", tiered == 0  ? "idle"
                       : paused_now ? "paused"
                                    : "running"},
            {"migrations", std::to_string(moved)},
            {"bytes_moved", std::to_string(bytes)}};
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
    auto luns = lock_luns();
    share_migration_bandwidth();
}

ConfigOutcome Gateway::reload() {
    ConfigOutcome outcome = load_gateway_config(config_path_);
    if (outcome.ok()) {
        {
            std::lock_guard lock(mutex_);
            config_ = *outcome.config;
        }
        auto luns = lock_luns();
        share_migration_bandwidth();
    }
    return outcome;
}

void Gateway::share_migration_bandwidth() const {
    std::vector<ceph::LunTiering*> tierings;
    std::vector<std::string> tenants;
    std::map<std::string, double> weights;  // as the tenants' LUNs last read them
    for (const auto& l : luns_) {
        if (!l.tiering) continue;
        tierings.push_back(l.tiering);
        tenants.push_back(l.tenant);
        if (auto room = l.tiering->tenant_room(); room && room->tenant_found)
            weights[l.tenant] = room->bandwidth_weight;
    }
    const double total = config_in_effect().migration_bandwidth_mib_s * (1 << 20);
    const std::vector<double> shares = share_bandwidth(total, tenants, weights);
    for (std::size_t i = 0; i < tierings.size(); ++i) tierings[i]->set_bandwidth(shares[i]);
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
    if (lun.tiering) {
        // A tenant's weight read anew (tenant set --bandwidth-weight) re-divides the budget.
        lun.tiering->set_tenant_weight_listener([this] {
            auto luns = lock_luns();
            share_migration_bandwidth();
        });
    }
    std::string name = lun.name;
    luns_.push_back(std::move(lun));
    share_migration_bandwidth();
    return Registration(this, std::move(name));
}

void Gateway::remove_lun(const std::string& name) {
    std::unique_lock lock(luns_mutex_);
    for (const auto& l : luns_)
        if (l.name == name && l.tiering) l.tiering->set_tenant_weight_listener(nullptr);
    std::erase_if(luns_, [&](const GatewayLun& l) { return l.name == name; });
    share_migration_bandwidth();
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
