// TieredLun: what makes a LUN tiered (cfgstring or image metadata tiers=...), built when it opens.
//
// open() reads the settings the cluster gives the LUN (handler/shared_settings.h: the home
// image's "rbdtier.*" metadata and the cluster object in the tenant pool; a value refused there,
// or a failed read, is logged and falls back to the cfgstring and rbdtier.conf), then opens the
// LUN's tier images and placement map (ceph/tiered_lun_store.h), builds its ExtentGate and
// ExtentMigrator, starts the map's watch (placement_watch: follows the owner's moves) before it
// routes from the map, builds the tiering rounds (the policy, the tiers as discovered with the
// gateway's overrides and the LUN's quota, the tenant's registration and room) over the
// gateway's migration executor when given, starts the settings watch (a change in the cluster
// is applied at once when notified, and re-read every kSharedSettingsPeriod: policy, horizon and
// round at once, quota, tenant and tier overrides at the next open) and starts the rounds.
// The pins kept in RADOS come with the settings: the home pin (ceph/lun_lifecycle.h) and the
// extent pins (ceph/extent_pins.h), from the metadata read at open and from each re-read of them
// (an admin command's newer change wins: home_pin_version, pins_version), so a round asks the
// cluster nothing for them and every gateway serving the LUN holds the pins stored, whichever
// gateway wrote them; only while no read of the home pin has succeeded yet does a round read
// the metadata itself (and moves nothing when it cannot). Stored pins that cannot apply (a bad
// value, a pool not among the LUN's tiers, extents past its end) are logged once and listed
// with the settings' problems; a bad value keeps the pins in force.
// What it produces: the images, gate and tiering the LUN's ExtentRouter routes through, and the
// admin side's view (settings in force and their problems, the tiering problem).
//
// Ownership of the LUN's tiering follows its exclusive lock (engine/lun_ownership.h): the rounds
// plan on what the LockProbe knows of it, ask the cluster before they move anything, and take the
// map's fence before their first move, under the lock share's `ownership` mutex, which the LUN's
// lock callouts hold too.
//
// Thread-safety: the accessors and the admin-side getters may be called from any thread; the
// settings getters take a mutex of their own. What the caller owes: the Home given to open()
// outlives the TieredLun; stop() (or the destructor) ends the settings watch, the rounds and the
// map's watch, waiting for their work in flight, and must be called before the Home's members
// go; the TieredLun itself (its images, map and gate) must outlive every command in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_tiering.h"
#include "ceph/placement_map.h"
#include "ceph/placement_watch.h"
#include "ceph/settings_store.h"
#include "ceph/settings_watch.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"
#include "engine/lun_ownership.h"
#include "engine/migration_executor.h"
#include "engine/policy/tier_model.h"
#include "handler/gateway_config.h"
#include "handler/lock_probe.h"
#include "handler/lun_config.h"
#include "handler/shared_settings.h"
#include "handler/tiering_settings.h"

namespace rbdtier {

// What a LUN's lock callouts share with its tiering rounds; the LUN's, outliving its TieredLun.
struct LunLockShare {
    explicit LunLockShare(std::chrono::seconds probe_period) : probe(probe_period) {}
    // Held by the lock callouts and by a round taking the LUN's tiering: a round that falls into
    // a lock take finds the tiering taken instead of taking it (fencing, logging) a second time.
    std::mutex ownership;
    // What is known of the lock, and when the rounds ask the cluster (handler/lock_probe.h).
    LockProbe probe;
    std::atomic<bool> by_callout{false};  // taken by the lock callout, not handed over by librbd
};

class TieredLun {
public:
    // The LUN's own parts the tiering works over (they outlive the TieredLun).
    struct Home {
        ceph::Cluster& cluster;  // the LUN's RADOS client
        ceph::IoContext& io;     // the home pool (and namespace)
        ceph::Image& image;      // the home image
        std::uint64_t size;      // the LUN's size at open, bytes
        LunId policy_lun;        // the LUN's id as its policy keys extents (24 bits)
        LunLockShare& lock;
    };

    // `config` is the cfgstring (with the image's tiers), `gateway` rbdtier.conf as the gateway
    // read it (not null; kept, and shared by the LUNs opened with the same one) and `metadata`
    // the home image's "rbdtier.*" metadata as read at open; see the top of this file. `probe`,
    // when given (a client of the same cluster configuration that the process keeps, held while
    // the LUN is open), reads the headers of the tier images the placement map does not use yet,
    // measures the tiers' latency and samples the pools' usage, so that the home's client, which
    // does otherwise, opens no session to OSDs the LUN's data is not on. An error when the
    // tiering cannot be set up (the LUN is not served then).
    static ceph::Result<std::unique_ptr<TieredLun>> open(
        Home home, const LunConfig& config, std::shared_ptr<const GatewayConfig> gateway,
        std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
        std::shared_ptr<MigrationExecutor> executor,
        const ceph::Result<std::map<std::string, std::string>>& metadata,
        std::shared_ptr<const ceph::Cluster> probe = nullptr);
    ~TieredLun();
    TieredLun(const TieredLun&) = delete;
    TieredLun& operator=(const TieredLun&) = delete;

    // Ends the settings watch, the rounds (and the migrations they run) and the map's watch,
    // waiting for their work in progress; idempotent.
    void stop();

    // The config and settings the LUN was opened with (the cluster's settings applied).
    const LunConfig& config() const { return config_; }
    const TieringSettings& settings() const { return settings_; }

    ceph::TierImages& images() { return *tiers_; }
    ceph::PlacementMap& map() { return *map_; }
    ceph::ExtentGate& gate() { return *gate_; }
    ceph::ExtentMigrator& migrator() { return *migrator_; }
    ceph::LunTiering& tiering() { return *tiering_; }
    ceph::PlacementWatch* placement_watch() { return watch_.get(); }
    std::uint64_t extent_bytes() const { return extent_bytes_; }

    // This gateway took the LUN's exclusive lock: it takes the tier images and the map's fence
    // too (the previous owner can commit nothing from now on) and serves every extent from where
    // the map says it is now; what the previous owner's interrupted migrations left is removed.
    // The error names the step that failed ("tier images: ...", "tiering: ..."); the caller logs
    // it (a failed fence is noted as the tiering problem, not logged here).
    ceph::Status take_over();
    // This gateway released the lock: waits for the migration in progress (its commit is still
    // fenced by this gateway's lock on the map), then gives the fence up (a failure is noted as
    // the tiering problem and logged).
    void give_up();

    // The LUN grew to new_size (its home image holds at least `image_size` bytes now).
    ceph::Status resize(std::uint64_t new_size, std::uint64_t image_size);

    // The last reason this gateway could not own or follow the LUN's tiering ("" if none).
    std::string tiering_problem() const;
    // Notes why extents do not move (ok clears it) for `status`, and logs the change; not when
    // `caller_logs`, whose caller reports the failure itself (one failure, one log record).
    void tiering_problem(const ceph::Status& s, bool caller_logs = false);

    // The settings in effect now and where each comes from, and the values in RADOS not used.
    std::vector<EffectiveSetting> settings_report() const;
    std::vector<std::string> settings_problems() const;
    // The policy, horizon and round the rounds run with now.
    TieringInForce tiering_in_force() const;
    // The cluster object's entries as last read (empty when not read).
    std::map<std::string, std::string> cluster_settings() const;
    // Called (on the watch hub, no lock held) with the cluster object's entries when a re-read
    // finds them changed. Set once, before the first change matters.
    void set_cluster_settings_listener(
        std::function<void(const std::map<std::string, std::string>&)> listener);

private:
    TieredLun(Home home, const LunConfig& config, std::shared_ptr<const GatewayConfig> gateway,
              std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
              std::shared_ptr<MigrationExecutor> executor);

    // `metadata`: the home image's "rbdtier.*" metadata as read at open (the home pin's too).
    ceph::Status enable_tiering(const ceph::Result<std::map<std::string, std::string>>& metadata);
    // The client that samples the pools and measures the tiers: probe_, else the home's.
    const ceph::Cluster& sampler() const { return probe_ ? *probe_ : home_.cluster; }
    bool take_tiering_ownership();  // true when this gateway owns the LUN's tiering
    // The rounds' question (engine/lun_ownership.h): true once the home pin is known (read at
    // open or with the settings since); until then reads the home image's metadata and takes
    // the pins from it, false with the problem noted when it cannot be read (nothing moves then).
    bool follow_home_pin();
    // The tiering's pin versions, read before the metadata a take_pins() call takes.
    struct PinVersions {
        std::uint64_t home = 0;
        std::uint64_t extents = 0;
    };
    PinVersions pin_versions() const;
    // Takes the pins from the home image's metadata `metadata` already read: the home pin and
    // the extent pins it stores, each unless an admin command changed it since `seen`.
    void take_pins(const std::map<std::string, std::string>& metadata, PinVersions seen);
    // Whether this gateway may change the LUN's placement now, asked before every commit
    // (ownership_rule_.may_move_extents()).
    ceph::Status may_move_extents();
    class Ownership;  // the LUN's answers to engine/lun_ownership.h's questions
    // Reads the home image's "rbdtier.*" metadata (unless `metadata`, that read made already, is
    // given) and the cluster object and applies them over base_config_ and base_gateway_; false
    // (with `why`) when RADOS cannot be read. The gateway's copy of the cluster object is used
    // unless read before `changed_at`. `pin_seen`, when given, is pin_versions() before the
    // call: the pins are taken from the metadata read (take_pins), even when the cluster
    // object's read fails.
    bool read_shared_settings(
        SharedSettings& out, std::map<std::string, std::string>& cluster, std::string& why,
        std::chrono::steady_clock::time_point changed_at = {},
        const ceph::Result<std::map<std::string, std::string>>* metadata = nullptr,
        std::optional<PinVersions> pin_seen = std::nullopt);
    // Re-reads the shared settings and applies what changed (see the top of this file); from
    // the settings watch's step only (one call at a time).
    void follow_shared_settings(std::chrono::steady_clock::time_point changed_at);
    // Logs the problems of `fresh` not logged last time (under shared_mutex_).
    void log_new_problems_locked(const std::vector<std::string>& fresh);
    // Takes what `applied` says of the settings in force (under shared_mutex_, or at open).
    void take_shared_settings_locked(SharedSettings&& applied);

    Home home_;
    LunConfig config_;
    TieringSettings settings_;
    std::unique_ptr<Ownership> ownership_;  // asked by the rounds and the migrator: outlives them
    LunOwnership ownership_rule_;           // over ownership_

    std::shared_ptr<const ceph::Cluster> probe_;  // null: the home's client samples and probes
    std::optional<ceph::TierImages> tiers_;
    std::optional<ceph::PlacementMap> map_;
    std::unique_ptr<ceph::ExtentGate> gate_;
    std::unique_ptr<ceph::ExtentMigrator> migrator_;
    std::unique_ptr<ceph::LunTiering> tiering_;
    std::unique_ptr<ceph::PlacementWatch> watch_;  // follows the owner's migrations
    mutable std::mutex problem_mutex_;
    std::string tiering_problem_;
    std::uint64_t extent_bytes_ = 0;
    std::atomic<bool> home_pin_known_{false};  // the home pin was read (at open or since)

    // Shared settings (handler/shared_settings.h).
    LunConfig base_config_;                              // the cfgstring as given
    std::shared_ptr<const GatewayConfig> base_gateway_;  // rbdtier.conf at open (never null)
    StorageModel policy_config_;  // what the policy was made with (horizon and round change)
    mutable std::mutex shared_mutex_;
    // In effect now: what may change while the LUN is open (policy, horizon, round; the rest
    // holds as opened: config_, settings_), and the report and problems of the last read.
    TierPolicy policy_in_force_ = TierPolicy::kNone;
    double horizon_s_in_force_ = 0;
    std::uint64_t round_us_in_force_ = 0;
    std::vector<EffectiveSetting> report_;
    std::vector<std::string> problems_;
    std::vector<std::string> pin_problems_;            // the stored pins not applied, and why
    std::map<std::string, std::string> cluster_seen_;  // the cluster object as last read
    std::string read_problem_;                         // the last failed read, "" if none
    std::function<void(const std::map<std::string, std::string>&)> cluster_listener_;
    std::shared_ptr<ceph::SharedObjectSettings> cluster_object_;  // null: read it ourselves
    std::shared_ptr<MigrationExecutor> executor_;                 // the gateway's (null: its own)
    // Calls follow_shared_settings; stopped first (it uses the tiering and the image).
    std::unique_ptr<ceph::SettingsWatch> settings_watch_;
};

}  // namespace rbdtier
