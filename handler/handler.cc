// handler_rbdtier.so: the tcmu-runner callouts of backstore user:rbdtier, forwarding to the Lun
// (data, resize) and its LunLock (lock), and the process's one Gateway (admin socket, metrics,
// service map), which is shown each LUN through admin_view (handler/lun_admin_view.h).
//
// Only handler_init is exported. tcmu_*/tcmur_* resolve from the host process at load time.
// Every line of rbdtier's log (common/log.h) goes to tcmu-runner's log from handler_init on, at
// its level; tcmu-runner writes what its log_level lets through. Errors are reported once, at
// the edge: logged and returned to the runner (open: -errno; check_config: a reason string;
// I/O: TCMU_STS_*, logged by the LUN's LunCommands with what the initiator gets). The Gateway is
// made at registration from $RBDTIER_CONF (default /etc/ceph/rbdtier.conf; missing = defaults, bad
// = logged with its line and reason, defaults used); its services start at the first open and
// whatever cannot start (no /var/run/ceph, a port in use) is logged once: LUNs serve anyway.
// Each open re-reads the config (as `rbdtier reload` does) and the LUN runs with its tiering
// settings as they are then; each open LUN registers with the gateway (by "pool/image"), counts
// its I/O per tier, and reads the cluster's settings object through the gateway's copy (one
// RADOS read per period and pool for all the LUNs).
//
// The subtype registered is rbdtier.conf's handler_subtype as it is at load: "rbdtier" (the
// rbdtier cfgstring), or "rbd" in place of upstream handler_rbd (its cfgstring; handler_rbd.so
// must be out of the handler directory, else whichever registers second is refused, and the
// refusal is logged with the remedy). A later change of the key takes effect when tcmu-runner
// restarts. In both, the home image's rbdtier.tiers metadata, read at open, makes the LUN tiered
// (handler/shared_settings.h); a value there that its parser refuses fails the open with the
// reason rather than serve the LUN without its tiers. An open connects one RADOS client, the
// LUN's own, and reads the image's metadata once through it (build_lun); check_config reads
// through the process's probe client for the cfgstring's cluster configuration
// (handler/probe_clients.h), connected at the first check or open and kept, and so does an open
// for the headers of the tier images the LUN does not use yet (and to make missing ones ready).
#include <dlfcn.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/settings_store.h"
#include "ceph/tier_discovery.h"
#include "common/log.h"
#include "handler/callout_guard.h"
#include "handler/gateway.h"
#include "handler/lun.h"
#include "handler/lun_admin_view.h"
#include "handler/lun_builder.h"
#include "handler/lun_config.h"
#include "handler/lun_io_metrics.h"
#include "handler/probe_clients.h"
#include "handler/shared_settings.h"
#include "handler/tcmu_abi.h"

namespace rbdtier {
namespace {

// Where the kernel shows a TCMU device's UIO name and the target's configuration, and how often
// a LUN's initiator counters there are sampled (handler/initiator_attribution.h).
constexpr const char* kUioClassRoot = "/sys/class/uio";
constexpr const char* kConfigfsTargetRoot = "/sys/kernel/config/target";
constexpr std::chrono::milliseconds kAttributionPeriod{500};

// The subtype registered at load (rbdtier.conf handler_subtype then), which the cfgstring form
// follows. Written once by handler_init, before tcmu-runner calls anything else.
HandlerSubtype g_subtype = HandlerSubtype::kRbdtier;

// Writes rbdtier's lines to tcmu-runner's log, tagged "rbdtier", with the call site's function
// and line. tcmu-runner filters them by its own log_level (/etc/tcmu/tcmu.conf).
class TcmuLogSink final : public log::Sink {
public:
    void write(const log::Record& r) noexcept override {
        const char* space = r.lun.empty() ? "" : " ";
        const char* lun = r.lun.c_str();
        const char* text = r.text.c_str();
        switch (r.level) {
            case log::Level::kError:
                tcmu_err_message(nullptr, r.function, r.line, "rbdtier%s%s: %s\n", space, lun,
                                 text);
                break;
            case log::Level::kWarning:
                tcmu_warn_message(nullptr, r.function, r.line, "rbdtier%s%s: %s\n", space, lun,
                                  text);
                break;
            case log::Level::kInfo:
                tcmu_info_message(nullptr, r.function, r.line, "rbdtier%s%s: %s\n", space, lun,
                                  text);
                break;
            case log::Level::kDebug:
                tcmu_dbg_message(nullptr, r.function, r.line, "rbdtier%s%s: %s\n", space, lun,
                                 text);
                break;
        }
    }
};

// Binds the log to tcmu-runner's, once per loaded plugin, for as long as it is loaded.
void bind_tcmu_log() {
    static TcmuLogSink& sink = *new TcmuLogSink;
    static log::Binding& binding = *new log::Binding(sink, log::Level::kDebug);
    (void)binding;
}

// What the handler keeps per open device. Destroyed in reverse: the registration first (no admin
// command uses the LUN any more), then the Lun (drains its I/O), then the metrics it fed.
struct OpenLun {
    LunIoMetrics metrics;
    std::unique_ptr<Lun> lun;
    Gateway::Registration registration;
};

// The gateway of this process, as the handler registration owns it.
class GatewayHost {
public:
    // At registration: reads the config. Never fails (a bad file leaves the defaults).
    void init();
    // The subtype the config read at init asks for.
    HandlerSubtype subtype();
    // What a LUN opened now runs with: the config file read anew (a bad one is logged with its
    // line and reason, and the last good config stays; a missing one changes nothing). The LUNs
    // opened while the file says the same share one copy.
    std::shared_ptr<const GatewayConfig> config_for_open();
    // The gateway's copy of the cluster settings object, which every LUN reads through.
    std::shared_ptr<ceph::SharedObjectSettings> cluster_settings_object();
    // The gateway's migration executor, which carries out every tiered LUN's migrations.
    std::shared_ptr<MigrationExecutor> migration_executor();
    // At each open: starts the services once, and registers the LUN (opened with the gateway
    // config `opened_with`).
    Gateway::Registration add(Lun& lun, const LunIoMetrics& metrics,
                              const GatewayConfig& opened_with);
    // At teardown (handler destroy / unload): stops the services when no LUN is open.
    void shutdown();

private:
    void load();  // with mutex_ held

    std::mutex mutex_;
    std::unique_ptr<Gateway> gateway_;
    std::shared_ptr<const GatewayConfig> opened_with_;  // the last config_for_open() gave
    bool started_ = false;
};

GatewayHost& gateway_host() {
    static GatewayHost host;  // part of the handler registration: one per loaded plugin
    return host;
}

void GatewayHost::init() {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();  // else: registered again by another user of the loaded plugin
}

HandlerSubtype GatewayHost::subtype() {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();
    return gateway_->config().handler_subtype;
}

std::shared_ptr<const GatewayConfig> GatewayHost::config_for_open() {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();  // a host that never called init()
    struct stat st {};
    if (::stat(gateway_->config_path().c_str(), &st) == 0) {
        const ConfigOutcome outcome = gateway_->reload();
        if (!outcome.ok()) {
            RBDTIER_LOG_WARNING("", outcome.message()
                                        << "; keeping the last good gateway settings");
        }
    }
    if (gateway_->config().handler_subtype != g_subtype) {
        RBDTIER_LOG_WARNING(
            "", gateway_->config_path()
                    << ": handler_subtype = " << to_string(gateway_->config().handler_subtype)
                    << " takes effect when tcmu-runner restarts; serving as "
                    << to_string(g_subtype) << " until then");
    }
    const GatewayConfig now = gateway_->config();
    if (opened_with_ == nullptr || *opened_with_ != now)
        opened_with_ = std::make_shared<const GatewayConfig>(now);
    return opened_with_;
}

std::shared_ptr<ceph::SharedObjectSettings> GatewayHost::cluster_settings_object() {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();  // a host that never called init()
    return gateway_->cluster_settings_object();
}

std::shared_ptr<MigrationExecutor> GatewayHost::migration_executor() {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();  // a host that never called init()
    return gateway_->migration_executor();
}

void GatewayHost::load() {
    const char* env = std::getenv("RBDTIER_CONF");
    const std::string path = env != nullptr && *env != '\0' ? env : GatewayConfig::kDefaultPath;
    std::string error;
    gateway_ = Gateway::load(path, error);
    if (!gateway_) {
        RBDTIER_LOG_ERROR("", error << "; using the default gateway settings");
        gateway_ = std::make_unique<Gateway>(GatewayConfig{}, path);
    }
    for (const std::string& key : local_tiering_keys(gateway_->config()))
        RBDTIER_LOG_WARNING("", path << ": " << key
                                     << " is a cluster-wide tiering setting now: this value "
                                        "applies only where the cluster sets nothing; `rbdtier "
                                        "config set` sets it for every gateway");
}

Gateway::Registration GatewayHost::add(Lun& lun, const LunIoMetrics& metrics,
                                       const GatewayConfig& opened_with) {
    std::lock_guard lock(mutex_);
    if (!gateway_) load();  // a host that never called init()
    if (!started_) {
        started_ = true;
        std::string error;
        auto log = [](const std::string& line) { RBDTIER_LOG_WARNING("", line); };
        if (!gateway_->start_services(error, log)) {
            RBDTIER_LOG_WARNING(
                "", "gateway administration partly unavailable (LUNs serve anyway): " << error);
        }
        gateway_->start_service_map(
            [](const ceph::Status& s) { RBDTIER_LOG_WARNING("", s.message()); });
    }
    if (TieredLun* tiered = lun.tiered_lun()) {
        // The cluster-wide budget as the LUN reads it, now and whenever it changes.
        gateway_->set_cluster_settings(tiered->cluster_settings());
        tiered->set_cluster_settings_listener([this](const std::map<std::string, std::string>& c) {
            std::lock_guard lock(mutex_);
            if (gateway_) gateway_->set_cluster_settings(c);
        });
    }
    std::string error;
    Gateway::Registration r = gateway_->add_lun(admin_view(lun, &metrics, opened_with), error);
    if (!r.registered())
        RBDTIER_LOG_WARNING(lun.config().spec(), "not shown on the admin socket: " << error);
    return r;
}

void GatewayHost::shutdown() {
    std::lock_guard lock(mutex_);
    if (!gateway_) return;
    auto luns = gateway_->lock_luns();
    if (!gateway_->luns().empty()) return;  // another user of the plugin still serves LUNs
    luns.unlock();
    gateway_.reset();
    started_ = false;
}

Lun* lun_of(tcmu_device* dev) {
    return static_cast<OpenLun*>(tcmur_dev_get_private(dev))->lun.get();
}

// The LUN's name for a log line of one of its callouts ("" if it cannot be had).
std::string name_of(tcmu_device* dev) noexcept {
    try {
        return lun_of(dev)->config().spec();
    } catch (...) {
        return {};
    }
}

char* copy_reason(const std::string& text) {
    return strdup(text.c_str());
}

// The cfgstring as tcmu-runner hands it to check_config and open ("<subtype>/" first: targetcli
// and ceph-iscsi write it so).
LunConfigParse parse_open_cfgstring(const char* cfgstring) {
    const std::string_view text = cfgstring != nullptr ? cfgstring : "";
    return g_subtype == HandlerSubtype::kRbd ? parse_rbd_open_cfgstring(text)
                                             : parse_lun_config(text);
}

// Checks the cfgstring through `cluster`: opens the pool, reads the image's header (that it
// exists and, unless the cfgstring names tiers, its rbdtier.tiers: two or three round trips, where
// opening the image would take a dozen) and opens the tiers: those of the cfgstring, else those
// the image's rbdtier.tiers names (taken as the LUN's open will).
ceph::Status check_on(const ceph::Cluster& cluster, LunConfig cfg) {
    auto io = ceph::IoContext::open(cluster, cfg.pool, cfg.ns);
    if (!io) return io.status();
    const std::string tiers_key = std::string(kLunSettingPrefix) + "tiers";
    auto header = ceph::read_image_header(*io, cfg.image, tiers_key);
    if (!header && header.status().code() == -ETIMEDOUT)
        return ceph::Status::error(
            -ETIMEDOUT, "pool " + io->where() + " did not answer within " +
                            std::to_string(ProbeClients::op_timeout_s(cfg)) +
                            " s (osd_op_timeout; are its placement groups active? ceph pg "
                            "ls-by-pool " +
                            cfg.pool + ")");
    if (!header) return header.status();
    if (!*header)
        return ceph::Status::error(-ENOENT, "no such image " + io->where() + "/" + cfg.image);
    if (cfg.tiers.empty()) {
        std::map<std::string, std::string> metadata;
        if ((*header)->metadata) metadata.emplace(tiers_key, *(*header)->metadata);
        if (ceph::Status s = take_image_tiers(cfg, metadata); !s) return s;
    }
    for (const std::string& tier : cfg.tiers) {
        if (auto t = ceph::IoContext::open(cluster, tier); !t)
            return t.status().with_context("tiers=");
    }
    return ceph::Status::ok();
}

// Checks through the process's probe client for the cfgstring's cluster configuration
// (ProbeClients); a kept client that itself failed is dropped and the check made once more
// through a new one, but for a request that timed out: dropped, and that is the answer (another
// try would double the wait).
bool check_config_impl(const char* cfgstring, char** reason) {
    LunConfigParse parsed = parse_open_cfgstring(cfgstring);
    if (!parsed.config) {
        if (reason != nullptr) *reason = copy_reason(parsed.error);
        return false;
    }
    ceph::Status status;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto client = ProbeClients::process().get(ProbeClients::options_for(*parsed.config));
        if (!client) {
            status = client.status();
            break;
        }
        status = check_on(**client, *parsed.config);
        if (status.is_ok() || !ProbeClients::client_failed(status.code())) break;
        ProbeClients::process().forget(*client);
        if (status.code() == -ETIMEDOUT) break;
    }
    if (status.is_ok()) return true;
    if (reason != nullptr) *reason = copy_reason(status.message());
    return false;
}

// librbd's discard granularity for this client (rbd_discard_granularity_bytes); 0 when unknown.
std::uint64_t discard_granularity_bytes(ceph::Cluster& cluster) {
    char value[32] = {};
    if (rados_conf_get(cluster.handle(), "rbd_discard_granularity_bytes", value, sizeof value) < 0)
        return 0;
    return std::strtoull(value, nullptr, 10);
}

// Whether every pool holding the LUN's data (its home image's data pool, and its tiers) is
// solid-state.
bool solid_state(Lun& lun) {
    auto home = ceph::data_pool_of(lun.cluster(), lun.image());
    if (!home || !ceph::pool_is_solid_state(lun.cluster(), *home)) return false;
    for (const std::string& tier : lun.config().tiers) {
        if (!ceph::pool_is_solid_state(lun.cluster(), tier)) return false;
    }
    return true;
}

TcmuHost host_functions() {
    TcmuHost host;
    host.complete = tcmur_cmd_complete;
    host.set_sense_info = tcmu_sense_set_info;
    host.notify_cmd_timed_out = tcmu_notify_cmd_timed_out;
    host.notify_lock_lost = tcmu_notify_lock_lost;
    host.initiator = reinterpret_cast<rbdtier_harness_cmd_initiator_fn>(
        dlsym(RTLD_DEFAULT, RBDTIER_HARNESS_CMD_INITIATOR_SYMBOL));
    return host;
}

// The client that reads the headers of the tier images a LUN of `cfg` does not use yet, makes
// missing ones ready, measures the tiers and samples their pools: the process's probe client for
// its cluster configuration, kept from check_config or an earlier open, else connected now and
// kept. An open is often the first call for its cfgstring: tcmu-runner opens the LUNs it finds at
// its start without check_config (which it calls only for targetcli's create), and so are
// backstores made without targetcli (rtslib: ceph-iscsi, targetcli restoreconfig). Null when it
// cannot connect: the LUN's own client reads them then.
std::shared_ptr<const ceph::Cluster> header_reader_for(const LunConfig& cfg) {
    auto client = ProbeClients::process().get(ProbeClients::options_for(cfg));
    if (client) return *client;
    RBDTIER_LOG_INFO(cfg.spec(), "tier image headers read through the LUN's own client: "
                                     << client.status().message());
    return nullptr;
}

int open_impl(tcmu_device* dev) {
    const char* cfgstring = tcmu_dev_get_cfgstring(dev);
    LunConfigParse parsed = parse_open_cfgstring(cfgstring);
    if (!parsed.config) {
        RBDTIER_LOG_ERROR(tcmu_dev_get_uio_name(dev), "bad config string '"
                                                          << (cfgstring ? cfgstring : "")
                                                          << "': " << parsed.error);
        return -EINVAL;
    }
    const std::uint32_t block_size = tcmu_dev_get_block_size(dev);
    LunGeometry geometry{tcmu_dev_get_num_lbas(dev) * block_size, block_size};
    const TcmuHost host = host_functions();
    const std::shared_ptr<const GatewayConfig> gateway = gateway_host().config_for_open();
    auto lun =
        build_lun(*parsed.config, geometry, host, gateway, gateway_host().cluster_settings_object(),
                  gateway_host().migration_executor(), header_reader_for(*parsed.config));
    if (!lun) {
        RBDTIER_LOG_ERROR(parsed.config->spec(), "not opened: " << lun.status().message());
        return lun.status().code();
    }
    Lun& l = **lun;
    if (host.initiator == nullptr) {
        // The runner does not say which initiator sent a command: the target's configfs does.
        const char* uio = tcmu_dev_get_uio_name(dev);
        const BackstoreLookup found = backstore_of_uio(kUioClassRoot, uio != nullptr ? uio : "");
        if (found.backstore.empty()) {
            RBDTIER_LOG_WARNING(l.config().spec(),
                                "commands counted as from the shared initiator: " << found.error);
        } else {
            l.attribute_initiators_from_configfs(kConfigfsTargetRoot, found.backstore,
                                                 kAttributionPeriod);
        }
    }
    if (auto features = l.image().features();
        features && (*features & RBD_FEATURE_EXCLUSIVE_LOCK) == 0) {
        RBDTIER_LOG_WARNING(l.config().spec(),
                            "the image has no exclusive-lock feature: no ALUA "
                            "failover");
    }
    // Block Limits VPD as upstream handler_rbd gives it. MAXIMUM UNMAP LBA COUNT (and the
    // optimal EXTENDED COPY length): 4 objects per call, which librbd splits. OPTIMAL UNMAP
    // GRANULARITY and its alignment: librbd's discard granularity (rbd_discard_granularity_bytes,
    // 64 KiB by default), not the object or the tiering's 4 MiB extent: librbd frees space in
    // units of it inside an object, on the home image and on every tier image alike, so an
    // unmap or a WRITE SAME with UNMAP aligned to it is a discard, and a smaller advertised
    // unit lets the runner turn more WRITE SAME UNMAPs into discards rather than zero writes.
    const std::uint64_t object_size = l.image_info().object_size;
    const auto max_blocks = static_cast<std::uint32_t>(object_size * 4 / block_size);
    tcmu_dev_set_opt_xcopy_rw_len(dev, max_blocks);
    tcmu_dev_set_max_unmap_len(dev, max_blocks);
    const auto gran = static_cast<std::uint32_t>(
        std::clamp<std::uint64_t>(discard_granularity_bytes(l.cluster()), block_size, object_size) /
        block_size);
    tcmu_dev_set_opt_unmap_gran(dev, gran, false);
    tcmu_dev_set_unmap_gran_align(dev, gran);
    // Block Device Characteristics VPD: MEDIUM ROTATION RATE "non-rotating" when the data is on
    // solid-state media only, as upstream decides it from the pool's CRUSH rule; a tiered LUN
    // only when every pool its extents may be in is solid-state (else "not reported").
    tcmu_dev_set_solid_state_media(dev, solid_state(l));
    tcmu_dev_set_write_cache_enabled(dev, false);
    auto open_lun = std::make_unique<OpenLun>();
    open_lun->lun = std::move(lun).value();
    open_lun->lun->set_io_metrics(&open_lun->metrics);
    open_lun->registration = gateway_host().add(*open_lun->lun, open_lun->metrics, *gateway);
    tcmur_dev_set_private(dev, open_lun.release());
    return 0;
}

bool check_config(const char* cfgstring, char** reason) {
    return guarded("", "check_config", false, [&] { return check_config_impl(cfgstring, reason); });
}

int open_lun(tcmu_device* dev, bool /*reopen*/) {
    return guarded("", "open", -ENOMEM, [&] { return open_impl(dev); });
}

void close_lun(tcmu_device* dev) {
    std::unique_ptr<OpenLun> open_lun(static_cast<OpenLun*>(tcmur_dev_get_private(dev)));
    tcmur_dev_set_private(dev, nullptr);
    open_lun.reset();
    // What the closed LUN freed (its librbd client's I/O buffers, its engine state) stays in
    // the C heap's arenas, one per thread that allocated it, none of which may allocate again
    // soon: give those free pages back to the OS. A walk over the arenas, on the close path
    // only (a few milliseconds), never on the I/O path.
    (void)malloc_trim(0);
}

int init_handler() {
    return guarded("", "handler init", 0, [] {
        gateway_host().init();
        return 0;
    });
}

void destroy_handler() {
    gateway_host().shutdown();
}

int reconfig_impl(tcmu_device* dev, tcmulib_cfg_info* cfg) {
    switch (cfg->type) {
        case TCMULIB_CFG_DEV_SIZE: {
            ceph::Status st = lun_of(dev)->resize(cfg->data.dev_size);
            if (!st) {
                RBDTIER_LOG_ERROR(lun_of(dev)->config().spec(),
                                  "resize to " << cfg->data.dev_size << " bytes: " << st.message());
                return st.code();
            }
            return 0;
        }
        default:
            return -EOPNOTSUPP;
    }
}

int reconfig(tcmu_device* dev, tcmulib_cfg_info* cfg) {
    return guarded(name_of(dev), "reconfig", -ENOMEM, [&] { return reconfig_impl(dev, cfg); });
}

int read(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, size_t iov_cnt, size_t len, off_t off) {
    return lun_of(dev)->read(dev, cmd, iov, iov_cnt, len, static_cast<std::uint64_t>(off));
}

int write(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, size_t iov_cnt, size_t len, off_t off) {
    return lun_of(dev)->write(dev, cmd, iov, iov_cnt, len, static_cast<std::uint64_t>(off));
}

int flush(tcmu_device* dev, tcmur_cmd* cmd) {
    return lun_of(dev)->flush(dev, cmd);
}

int unmap(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len) {
    return lun_of(dev)->unmap(dev, cmd, off, len);
}

int writesame(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len, iovec* iov,
              size_t iov_cnt) {
    return lun_of(dev)->write_same(dev, cmd, off, len, iov, iov_cnt);
}

int caw(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len, iovec* iov, size_t iov_cnt) {
    return lun_of(dev)->compare_and_write(dev, cmd, off, len, iov, iov_cnt);
}

int lock(tcmu_device* dev, uint16_t tag) {
    return guarded(name_of(dev), "lock", int{TCMU_STS_NO_RESOURCE},
                   [&] { return lun_of(dev)->exclusive_lock().lock(tag); });
}
int unlock(tcmu_device* dev) {
    return guarded(name_of(dev), "unlock", int{TCMU_STS_NO_RESOURCE},
                   [&] { return lun_of(dev)->exclusive_lock().unlock(); });
}
int get_lock_tag(tcmu_device* dev, uint16_t* tag) {
    return guarded(name_of(dev), "get_lock_tag", int{TCMU_STS_NO_RESOURCE},
                   [&] { return lun_of(dev)->exclusive_lock().get_lock_tag(tag); });
}
int get_lock_state(tcmu_device* dev) {
    return guarded(name_of(dev), "get_lock_state", int{TCMUR_DEV_LOCK_UNKNOWN},
                   [&] { return lun_of(dev)->exclusive_lock().get_lock_state(); });
}

// The handler registration: the one piece of global state (tcmu-runner keeps a pointer).
tcmur_handler g_handler = [] {
    tcmur_handler h{};
    h.name = "rbdtier: Ceph RBD with predictive tiering";
    h.subtype = "rbdtier";
    h.cfg_desc = kLunConfigHelp;
    h.check_config = check_config;
    h.reconfig = reconfig;
    h.open = open_lun;
    h.close = close_lun;
    h.nr_threads = 0;  // asynchronous: callouts queue to librbd and return
    h.read = read;
    h.write = write;
    h.flush = flush;
    h.unmap = unmap;
    h.writesame = writesame;
    h.caw = caw;
    h.lock = lock;
    h.unlock = unlock;
    h.get_lock_tag = get_lock_tag;
    h.get_lock_state = get_lock_state;
    h.init = init_handler;
    h.destroy = destroy_handler;
    return h;
}();

}  // namespace
}  // namespace rbdtier

extern "C" __attribute__((visibility("default"))) int handler_init(void) {
    rbdtier::bind_tcmu_log();
    return rbdtier::guarded("", "handler_init", -1, [] {
        rbdtier::gateway_host().init();
        rbdtier::g_subtype = rbdtier::gateway_host().subtype();
        const bool rbd = rbdtier::g_subtype == rbdtier::HandlerSubtype::kRbd;
        rbdtier::g_handler.subtype = rbdtier::to_string(rbdtier::g_subtype);
        rbdtier::g_handler.cfg_desc = rbd ? rbdtier::kRbdConfigHelp : rbdtier::kLunConfigHelp;
        const int rc = tcmur_register_handler(&rbdtier::g_handler);
        if (rc != 0 && rbd) {
            RBDTIER_LOG_ERROR("",
                              "not registered as subtype rbd: another handler (upstream "
                              "handler_rbd.so) has it. Divert it out of tcmu-runner's handler "
                              "directory (README: rbdtier under ceph-iscsi) and restart "
                              "tcmu-runner");
        } else if (rc == 0) {
            RBDTIER_LOG_INFO("", "registered as subtype " << rbdtier::g_handler.subtype);
        }
        return rc;
    });
}
