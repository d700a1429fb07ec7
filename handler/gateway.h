// Gateway: the process-wide state of the rbdtier handler: its configuration, the LUNs open in
// this process with their tiering, the gateway-wide pause switch, and the admin socket.
//
// One Gateway is created with the handler registration and is the only process-wide object;
// everything else reaches it by reference. LUNs register when they open (add_lun returns a
// Registration that unregisters on destruction, waiting for any admin command using the LUN to
// finish) and are looked up by name. The pointers in a GatewayLun are owned by the LUN and stay
// valid while it is registered. reload() re-reads the config file: a bad file is refused with
// its line and reason and the last good config stays in force. The gateway's migration budget
// (migration_budget(), engine/gateway_budget.h) is one for all its tiered LUNs: they open with its
// executor (migration_executor(), engine/migration_executor.h), which carries out the orders of
// every LUN in the order the budget ranks them together, the busy ones taking what the idle ones
// leave, tenants by their bandwidth weights; its bandwidth follows the config on reload and when
// the cluster-wide settings (handler/shared_settings.h, as the LUNs read them from RADOS:
// set_cluster_settings) change; the cluster's values beat the file's (config_in_effect()). The
// other tiering settings reach a LUN when it opens, and while it is open through its own re-reads,
// which take the cluster object from the gateway's copy (cluster_settings_object()). The services
// (admin socket, metrics endpoint, the cluster's service map) are independent: one that cannot
// start does not keep the others from running, nor the LUNs from serving. health() judges what the
// gateway knows of its LUNs (gateway_health.h). Scrubs run as jobs of their own (scrubs(),
// handler/scrub_jobs.h), never on the admin socket's thread nor under the LUN list's lock; a
// LUN's scrub is cancelled and joined when the LUN unregisters (before it closes) and every
// scrub when the gateway goes. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "ceph/extent_migrator.h"
#include "ceph/lun_tiering.h"
#include "ceph/placement_map.h"
#include "ceph/placement_watch.h"
#include "ceph/service_registration.h"
#include "ceph/settings_store.h"
#include "ceph/tier_images.h"
#include "engine/gateway_budget.h"
#include "engine/migration_executor.h"
#include "engine/round_driver.h"
#include "handler/admin_socket.h"
#include "handler/gateway_config.h"
#include "handler/gateway_health.h"
#include "handler/initiator_attribution.h"
#include "handler/initiator_names.h"
#include "handler/lun_io_metrics.h"
#include "handler/scrub_jobs.h"
#include "handler/shared_settings.h"
#include "handler/tiering_settings.h"

namespace rbdtier {

class AdminCommands;
class LockProbe;
class MetricsServer;

struct GatewayLun {
    std::string name;  // the device name the admin uses
    std::string pool;  // home pool and image
    std::string image;
    std::string ns;  // RBD namespace of the home image ("" = the pool's default one)
    std::uint64_t size_bytes = 0;
    std::string tenant = "default";
    std::string policy = "none";        // the LUN's tiering policy, by name
    ceph::Cluster* cluster = nullptr;   // the LUN's own RADOS client (its service map entry)
    ceph::Image* home_image = nullptr;  // lock ownership; null: not known
    // What is known of the LUN's lock: a known standby is shown without asking the cluster,
    // and an answer asked is recorded there for the LUN's rounds (null: asked every time).
    LockProbe* lock_probe = nullptr;
    ceph::TierImages* images = nullptr;  // null when the LUN is not tiered
    ceph::PlacementMap* map = nullptr;
    ceph::ExtentMigrator* migrator = nullptr;
    ceph::LunTiering* tiering = nullptr;
    const ceph::PlacementWatch* watch = nullptr;   // how this gateway follows the owner's moves
    std::function<std::string()> tiering_problem;  // why it cannot own/follow tiering ("": fine)
    const LunIoMetrics* io_metrics = nullptr;      // null until the I/O path records them
    const InitiatorNames* initiators = nullptr;    // names of the ids alerts carry; null: none
    // Who sends the LUN's commands: the configfs attribution (null: the host names initiators,
    // or none is known) and what each initiator did (null: not recorded).
    const InitiatorAttribution* attribution = nullptr;
    const InitiatorActivity* activity = nullptr;
    double horizon_s = 0;  // the tiering's horizon and round at open (0 = not known)
    double round_s = 0;
    // The policy, horizon and round in force now (null: those above and `policy`).
    std::function<TieringInForce()> in_force;
    LunId policy_lun = 0;  // the LUN's id as its tiering's policy knows it (LunRoundsOptions::lun)
    // The settings in effect and where each comes from; the values in RADOS not used (null:
    // not known).
    std::function<std::vector<EffectiveSetting>()> settings;
    std::function<std::vector<std::string>()> settings_problems;
};

// The LUN's extent size (its tier images' object size; 0 when not tiered), extent count, and
// extents per tier, by the pool the tier's data lives in, from its placement map (the truth;
// the home tier holds the rest).
std::uint64_t extent_bytes(const GatewayLun& lun);
std::uint64_t extent_count(const GatewayLun& lun);
std::map<std::string, std::uint64_t> extents_per_pool(const GatewayLun& lun);
// The same as (pool, extents) pairs by pool name, written over `out` (its room reused); returns
// the extents away from home (the map's entries), counted in the same walk of the map, which
// takes the map's lock once.
using PoolExtents = std::vector<std::pair<std::string, std::uint64_t>>;
std::uint64_t extents_per_pool(const GatewayLun& lun, PoolExtents& out);
// The pool the LUN's home tier's data lives in (ceph::TierImages::data_pool; its own pool when
// it is not tiered).
const std::string& home_tier_pool(const GatewayLun& lun);
// The LUN's policy, horizon and round in force now (horizon and round 0 when not known).
TieringInForce tiering_in_force(const GatewayLun& lun);

class Gateway {
public:
    Gateway(GatewayConfig config, std::string config_path);
    // The gateway of a tcmu-runner process: reads `config_path`; a missing file gives the
    // defaults, a bad one is refused (nullptr, `error` has the file, line and reason).
    static std::unique_ptr<Gateway> load(const std::string& config_path, std::string& error);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    GatewayConfig config() const;  // as rbdtier.conf says
    // config() with the cluster-wide settings applied (what the tiering runs with).
    GatewayConfig config_in_effect() const;
    // The gateway's copy of the cluster object (per client and pool), which its LUNs read
    // through (build_lun, handler/lun_builder.h): one RADOS read per kSharedSettingsPeriod for
    // all of them; its counters are in `status`. Shared: a LUN may keep it after the gateway is
    // gone.
    std::shared_ptr<ceph::SharedObjectSettings> cluster_settings_object() const {
        return cluster_settings_object_;
    }
    // The cluster object's entries as a LUN last read them; a change of the bandwidth applies
    // to the budget at once.
    void set_cluster_settings(const std::map<std::string, std::string>& cluster);
    // The migration budget every tiered LUN of the gateway draws from.
    std::shared_ptr<GatewayBudget> migration_budget() const { return budget_; }
    // What carries out the migrations of every tiered LUN of the gateway, ranked together by the
    // budget (build_lun takes it). Shared: a LUN may keep it after the gateway is gone.
    std::shared_ptr<MigrationExecutor> migration_executor() const { return executor_; }
    // Migrations in flight at once in the gateway: the executor's workers (ceph/copy_buffers.h
    // keeps as many copy buffers).
    static constexpr unsigned kMaxConcurrentMigrations = RoundDriver::kSharedWorkers;
    const std::string& config_path() const { return config_path_; }
    // Re-reads config_path(); on failure the current config is kept and the outcome says why.
    ConfigOutcome reload();

    class Registration {
    public:
        Registration() = default;
        Registration(Gateway* gateway, std::string name)
            : gateway_(gateway), name_(std::move(name)) {}
        Registration(Registration&& other) noexcept
            : gateway_(std::exchange(other.gateway_, nullptr)), name_(std::move(other.name_)) {}
        Registration& operator=(Registration&& other) noexcept;
        ~Registration() { reset(); }
        void reset();
        bool registered() const { return gateway_ != nullptr; }

    private:
        Gateway* gateway_ = nullptr;
        std::string name_;
    };
    // Refuses (empty Registration, `error` set) a name already registered.
    Registration add_lun(GatewayLun lun, std::string& error);

    // Holds the LUN list steady (no LUN can unregister) while an admin command uses it.
    std::shared_lock<std::shared_mutex> lock_luns() const { return std::shared_lock(luns_mutex_); }
    // With lock_luns() held:
    const std::vector<GatewayLun>& luns() const { return luns_; }
    const GatewayLun* find_lun(const std::string& name) const;

    void set_paused(bool paused);
    bool paused() const;

    std::chrono::steady_clock::time_point started() const { return started_; }

    // Serves the admin socket at config().admin_socket with `handler`; false and `error` when
    // the socket cannot be made.
    bool start_admin_socket(AdminSocket::Handler handler, std::string& error);
    void stop_admin_socket();

    // Serves the admin socket with the AdminCommands and, unless metrics_port is 0, the
    // Prometheus endpoint. False and `error` (one line per service) when one of them cannot
    // start; whichever did start keeps running. What the servers refuse (hostile or broken
    // clients, accept failures) goes to `log`, from their threads.
    bool start_services(std::string& error, std::function<void(const std::string&)> log = {});
    void stop_services();
    std::uint16_t metrics_port() const;  // bound port, 0 when not serving
    bool admin_socket_serving() const;

    // Shows every LUN in the cluster's service map as upstream handler_rbd does: service
    // "tcmu-runner", daemon "<host>:<pool>/[<namespace>/]<image>", metadata daemon_type
    // "portal", daemon_prefix, pool_name, image_name, image_id (pool_namespace when there is
    // one) plus handler "rbdtier", lun, site and admin_socket; registered on the LUN's own
    // client (librados takes one registration per client), which takes the entry away when
    // the LUN closes. One thread of the gateway registers the LUNs opened since its last pass
    // and looks at each LUN's service_status() every `period` (its lock asked of the cluster,
    // a round trip, unless its lock probe knows it a standby: handler/lock_probe.h; the answer
    // serves the LUN's rounds too), pushing
    // it to the LUN's client only when it differs from the last one pushed (compared by a
    // 64-bit digest: librados keeps the last status and reports it to the manager on its own,
    // as it does upstream handler_rbd's, which pushes on lock events only); a LUN that opens
    // is registered and pushed at once, alone (an open costs the same with any number of LUNs
    // open). So a change (the lock taken or lost, tier bytes, migrations, health) shows within
    // a period, and an idle LUN's unchanged status is pushed once. A pass holds the LUN list
    // one LUN at a time, so an open or close waits for one LUN's publication at most. Errors
    // go to `on_error` (from that thread), once per LUN and kind. Once; the first call wins.
    void start_service_map(std::function<void(const ceph::Status&)> on_error,
                           std::chrono::milliseconds period = std::chrono::seconds(5));
    // {"type", "daemons": [{"daemon","lun","registered","status_updates","status_unchanged"}]}
    // (status_updates: the statuses pushed; status_unchanged: the looks that found the status
    // pushed last and pushed nothing), or null when the service map is not in use.
    nlohmann::json service_json() const;
    // What one look at a LUN's service status builds, kept by its caller from look to look so
    // that an idle LUN's look reuses their room: the packed status, and what it is made of.
    struct ServiceLook {
        std::string packed;
        PoolExtents per_pool;
        GatewayHealthFacts health;
    };
    // What the service map shows for one LUN (with lock_luns() held), at `site`, in the packed
    // form librados takes (ceph::pack_service_dict), written over `look.packed` (the look's room
    // reused: an idle LUN's look allocates next to nothing): lock_owner true/false and
    // lock_lost_cnt as handler_rbd reports them; site, tenant, policy, engine
    // (none|paused|running), extents_away, tier_bytes ("pool=bytes,..."), migrations,
    // migrations_failed, bytes_moved, health (HEALTH_OK|WARN|ERR) and health_checks (codes).
    void service_status(const GatewayLun& lun, const std::string& site, ServiceLook& look) const;

    // The gateway's health (gateway_health.h) from what it knows of its LUNs now; lun_health
    // the same for one LUN (with lock_luns() held).
    HealthReport health() const;
    HealthReport lun_health(const GatewayLun& lun) const;
    // What the last scrub of `lun` found (checksum mismatches; 0 = clean), for health().
    void note_scrub(const std::string& lun, std::uint64_t mismatches);
    // The scrubs of the LUNs. A job is started with lock_luns() held, for a registered LUN: what
    // its work uses stays valid until the LUN unregisters, which cancels and joins it first.
    ScrubJobs& scrubs() const { return scrubs_; }

private:
    void remove_lun(const std::string& name);
    // Sets the budget's bandwidth to the config in effect.
    void apply_migration_bandwidth();
    // What the gateway knows of `lun`, written over `out` (its room reused); with lock_luns()
    // held. lun_health() from it, written over `facts`.
    void health_facts(const GatewayLun& lun, LunHealthFacts& out) const;
    HealthReport lun_health(const GatewayLun& lun, GatewayHealthFacts& facts) const;
    void publish_service_map();  // the publisher's thread

    // A LUN's entry in the service map; under service_mutex_.
    struct ServiceEntry {
        std::string daemon;
        bool registered = false;
        bool register_failed = false;        // reported once
        bool update_failed = false;          // reported once
        std::uint64_t status_updates = 0;    // statuses pushed
        std::uint64_t status_unchanged = 0;  // looks that found the last status pushed
        bool pushed = false;                 // a status was pushed: pushed_digest is its digest
        std::uint64_t pushed_digest = 0;
        bool had_lock = false;
        std::uint64_t lock_lost = 0;
    };

    const std::string config_path_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    mutable std::mutex mutex_;  // config_, paused_, admin_
    GatewayConfig config_;
    std::map<std::string, std::string> cluster_settings_;
    const std::shared_ptr<ceph::SharedObjectSettings> cluster_settings_object_ =
        std::make_shared<ceph::SharedObjectSettings>(kSharedSettingsPeriod);
    const std::shared_ptr<GatewayBudget> budget_;
    const std::shared_ptr<MigrationExecutor> executor_;  // over budget_
    bool paused_ = false;
    std::function<void(const std::string&)> service_log_;
    std::unique_ptr<AdminSocket> admin_;
    std::unique_ptr<AdminCommands> commands_;
    std::unique_ptr<MetricsServer> metrics_;

    mutable std::mutex service_mutex_;  // service_entries_, scrub_damage_, service_error_
    mutable std::map<std::string, ServiceEntry> service_entries_;  // by LUN name
    std::map<std::string, std::uint64_t> scrub_damage_;            // by LUN name
    std::function<void(const ceph::Status&)> service_error_;
    std::chrono::milliseconds service_period_{0};
    std::chrono::steady_clock::time_point next_full_publish_;  // of every LUN
    std::vector<std::string> service_opened_;                  // LUNs to publish alone, at once
    // Publishes one registered LUN (registers it first when needed); with lock_luns() held.
    void publish_service_entry(const GatewayLun& l, const GatewayConfig& config,
                               const std::function<void(const ceph::Status&)>& on_error);
    std::unique_ptr<ceph::ServiceStatusPublisher> publisher_;  // null: no service map
    // The publisher's thread's own, reused from pass to pass: the names of the LUNs of a pass
    // and the look at the LUN's status.
    std::vector<std::string> service_names_;
    ServiceLook service_look_;

    mutable std::shared_mutex luns_mutex_;
    std::vector<GatewayLun> luns_;

    mutable ScrubJobs scrubs_;  // last: its jobs end before anything they use goes
};

}  // namespace rbdtier
