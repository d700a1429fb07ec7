// Lun: one open rbdtier LUN — its Ceph client, home image and asynchronous I/O path.
//
// Logs (common/log.h) its open (size, tiers, policy) and close, the lock taken, released or
// lost, and every command answered with anything but GOOD (log_scsi_answer, rate-limited).
// The tcmu callouts (handler.cc) forward to a Lun. I/O methods return TCMU_STS_OK when the
// command was queued (it is then completed exactly once through host.complete from librbd's
// completion thread) or a TCMU_STS_* failure when it was not queued (never completed then).
// No lock is held across an I/O and no allocation of ours is made per command while fewer
// than kMaxQueued commands are in flight. Every completed data command is timed (monotonic
// µs) and counted in the LunIoMetrics, if set (per tier image: the tier of the command's first
// extent); on a tiered LUN its IoEvent (built once, handler/io_command.h) goes to the LUN's
// tiering rounds, through the ExtentRouter, and from their ring to the policy. Lock/size methods
// are synchronous control calls made from the runner's threads. The host's functions are passed in
// (TcmuHost) so the I/O path can also be driven by a test without tcmu-runner. Destruction waits
// for in-flight commands. An unmap callout made for a WRITE SAME with UNMAP whose block is not all
// zeros writes that block instead (unmapped blocks read zeros); a WRITE SAME with ANCHOR is
// refused. The initiator of a command is the one the host names (the harness); tcmu-runner 1.5.4
// names none, so with attribute_initiators_from_configfs() it is the one the target's configfs
// counters point at (handler/initiator_attribution.h), else initiator 0 (shared). Every command is
// counted, with its extents, under its initiator in initiator_activity(). A tiered LUN (tiers=...)
// is built by TieredLun (handler/tiered_lun.h: images, map, watches, settings, rounds) and its
// commands go through an ExtentRouter (handler/extent_router.h), which hands them back through the
// RoutedCommands interface; a plain LUN issues to its home image.
#pragma once

#include <sys/uio.h>

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
#include "ceph/status.h"
#include "ceph/tier_images.h"
#include "engine/migration_executor.h"
#include "handler/extent_router.h"
#include "handler/free_list.h"
#include "handler/initiator_attribution.h"
#include "handler/initiator_names.h"
#include "handler/io_command.h"
#include "handler/lock_probe.h"
#include "handler/lun_config.h"
#include "handler/lun_io_metrics.h"
#include "handler/shared_settings.h"
#include "handler/tcmu_abi.h"
#include "handler/tiered_lun.h"
#include "handler/tiering_settings.h"

namespace rbdtier {

// With no tiers in `config`, takes those the home image's metadata names (rbdtier.tiers, in
// `metadata`, the image's "rbdtier.*" keys), which make the LUN tiered; -EINVAL with the reason
// (and the remedy) when the value there is refused. Tiers in `config` are left as they are.
ceph::Status take_image_tiers(LunConfig& config,
                              const std::map<std::string, std::string>& metadata);

// Functions of the host process (tcmu-runner or a test) used by the I/O path.
struct TcmuHost {
    void (*complete)(tcmu_device* dev, void* cmd, int status) = nullptr;
    void (*set_sense_info)(std::uint8_t* sense_buf, std::uint32_t info) = nullptr;
    void (*notify_cmd_timed_out)(tcmu_device* dev) = nullptr;  // optional
    void (*notify_lock_lost)(tcmu_device* dev) = nullptr;      // optional
    rbdtier_harness_cmd_initiator_fn initiator = nullptr;      // optional (harness only)
};

struct LunGeometry {
    std::uint64_t size_bytes = 0;  // block_size * num_lbas
    std::uint32_t block_size = 512;
};

class Lun : private RoutedCommands {
public:
    static constexpr std::uint32_t kMaxQueued = 512;
    // How often the rounds of a LUN whose lock another gateway holds (or none does) ask the
    // cluster whether this gateway took it by a path the LUN does not see (handler/lock_probe.h);
    // a lock callout or a command that writes makes the next round ask at once.
    static constexpr std::chrono::seconds kStandbyLockProbePeriod{10};

    // Connects (one RADOS client, the LUN's own for as long as it is open), opens pool and image,
    // checks the image is at least the LUN's size, and reads the image's "rbdtier.*" metadata
    // once: when the cfgstring names no tiers, the metadata's rbdtier.tiers does
    // (take_image_tiers: a value refused there fails the open with the reason, and so does a
    // failed read); a LUN without tiers is refused while its placement map puts extents outside
    // the home image (ceph::check_home_holds_all, through the LUN's own pool context). A LUN with
    // tiers starts its tiering with the settings the cluster, its config and the gateway's give
    // (handler/shared_settings.h, then resolve_tiering_settings): the home image's "rbdtier.*"
    // metadata and the cluster object in the tenant pool are read first; a value refused there
    // is logged (warning) and falls back, and so does a failed read (the LUN opens anyway).
    // While open, a change of either is applied at once when the LUN is notified of it (the
    // image's header update, a notify of the cluster object: ceph/settings_watch.h, on the
    // process's watch hub), and both are re-read every kSharedSettingsPeriod: a new policy, horizon
    // or round takes effect at once (a new policy object; what the old one learned is dropped), a
    // new quota, tenant or tier override when the LUN is opened again (logged), a new
    // cluster-wide budget through TieredLun::set_cluster_settings_listener(). The cluster object is
    // read through `cluster_object` when given (the gateway's copy, shared by its LUNs: one read
    // per period and pool for all of them), else by the LUN itself. A tiered LUN's migrations are
    // carried out through `executor` when given (the gateway's, shared by its tiered LUNs, which
    // ranks them with theirs), else through one of its own over a budget of the gateway config's
    // bandwidth. A tiered LUN's tier images that its placement map does not use are checked at
    // open from their header objects, read through `header_reader` when given (a client of the
    // same cluster configuration that the process keeps, check_config's: the LUN's own client
    // then opens no session to those tiers' OSDs until it uses them), else through the LUN's own.
    static ceph::Result<std::unique_ptr<Lun>> open(
        const LunConfig& config, LunGeometry geometry, const TcmuHost& host,
        const GatewayConfig& gateway = {},
        std::shared_ptr<ceph::SharedObjectSettings> cluster_object = nullptr,
        std::shared_ptr<MigrationExecutor> executor = nullptr,
        std::shared_ptr<const ceph::Cluster> header_reader = nullptr);
    ~Lun() override;
    Lun(const Lun&) = delete;
    Lun& operator=(const Lun&) = delete;

    // Data path (offsets and lengths in bytes).
    int read(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
             std::uint64_t off);
    int write(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
              std::uint64_t off);
    int flush(tcmu_device* dev, tcmur_cmd* cmd);
    int unmap(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len);
    int write_same(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                   iovec* iov, std::size_t iov_cnt);
    int compare_and_write(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                          iovec* iov, std::size_t iov_cnt);

    // ALUA implicit failover with the RBD exclusive lock (TCMU_STS_* / tcmur_lock_state).
    int lock(std::uint16_t tag);
    int unlock();
    int get_lock_tag(std::uint16_t* tag);
    int get_lock_state();

    // The LUN was resized to new_size: grow the image if it is smaller, then serve new_size.
    ceph::Status resize(std::uint64_t new_size);

    // Counts every completed data command from now on; `metrics` must outlive the Lun.
    void set_io_metrics(LunIoMetrics* metrics) {
        io_metrics_.store(metrics, std::memory_order_release);
    }

    ceph::Cluster& cluster() { return cluster_; }  // this LUN's RADOS client

    // Tiering (cfgstring tiers=...): all null for a plain LUN.
    bool tiered() const { return tiered_ != nullptr; }
    ceph::TierImages* tier_images() { return tiered_ ? &tiered_->images() : nullptr; }
    ceph::PlacementMap* placement_map() { return tiered_ ? &tiered_->map() : nullptr; }
    ceph::ExtentGate* extent_gate() { return tiered_ ? &tiered_->gate() : nullptr; }
    ceph::ExtentMigrator* migrator() { return tiered_ ? &tiered_->migrator() : nullptr; }
    ceph::LunTiering* tiering() { return tiered_ ? &tiered_->tiering() : nullptr; }
    ceph::PlacementWatch* placement_watch() {
        return tiered_ ? tiered_->placement_watch() : nullptr;
    }
    // The last reason this gateway could not own or follow the LUN's tiering ("" if none).
    std::string tiering_problem() const;
    std::uint64_t size() const { return size_.load(std::memory_order_relaxed); }
    const ceph::ImageInfo& image_info() const { return info_; }
    const LunConfig& config() const { return config_; }
    // The settings the LUN was opened with (config() has the image metadata applied).
    const TieringSettings& tiering_settings() const { return settings_; }
    // The settings in effect now and where each comes from (policy, horizon_s, round_s, ...),
    // and the values in RADOS not used (one line each, as logged). Any thread.
    std::vector<EffectiveSetting> settings_report() const;
    std::vector<std::string> settings_problems() const;
    // A tiered LUN's tiering: the policy, horizon and round in force, the cluster object's
    // entries and their listener (handler/tiered_lun.h). Null for a plain LUN.
    TieredLun* tiered_lun() { return tiered_.get(); }
    const InitiatorNames& initiators() const { return initiators_; }
    // Attributes the commands the host does not name an initiator for from the target's
    // configfs under `configfs_root`, the LUN's backstore being `backstore` there, sampled every
    // `period` on a thread of the attribution's own. Call before the first command.
    void attribute_initiators_from_configfs(std::string configfs_root, std::string backstore,
                                            std::chrono::milliseconds period);
    // The configfs attribution, or null when not made (the host names initiators, or no backstore).
    const InitiatorAttribution* initiator_attribution() const { return attribution_.get(); }
    const InitiatorActivity& initiator_activity() const { return *activity_; }
    LunId id() const { return id_; }
    // The LUN's id as its tiering's policy keys extents: 24 bits (engine/extent_key.h).
    LunId policy_lun() const { return id_ & 0xFFFFFFu; }
    ceph::Image& image() { return image_; }
    std::uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

private:
    Lun(LunConfig config, TieringSettings settings, const TcmuHost& host, ceph::Cluster cluster,
        ceph::IoContext io, ceph::Image image, ceph::ImageInfo info, std::uint64_t size);

    // The data callouts' work; the public ones log what they return (answered).
    int read_command(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt,
                     std::size_t len, std::uint64_t off);
    int write_command(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt,
                      std::size_t len, std::uint64_t off);
    int flush_command(tcmu_device* dev, tcmur_cmd* cmd);
    int unmap_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len);
    int write_same_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                           iovec* iov, std::size_t iov_cnt);
    int compare_and_write_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off,
                                  std::uint64_t len, iovec* iov, std::size_t iov_cnt);
    int answered(const tcmur_cmd* cmd, int status) const;  // logs status (log_answer), returns it
    // Logs what the initiator gets for `cmd` answered with `status` (TCMU_STS_*; nothing for
    // OK): log_scsi_answer, with librbd's error when `rc` < 0.
    void log_answer(const tcmur_cmd* cmd, int status, long rc = 0) const;
    IoCommand* begin(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                     std::uint64_t len);
    int dispatch(IoCommand* c);  // to the home image, or through the router when tiered

    // RoutedCommands: what the router hands back.
    void finish(IoCommand* c, long rc) override;
    void complete_now(IoCommand* c, int status) override;
    void fenced(IoCommand* c) override;
    void discard(IoCommand* c);  // submission failed: give the context back
    void recycle(IoCommand* c);
    // Creates the completion, calls submit(completion), and maps a submission failure.
    template <typename Submit>
    int submit(IoCommand* c, Submit&& submit_fn);
    // *out = the iovec trimmed to exactly len bytes. TCMU_STS_INVALID_CDB when it holds fewer
    // than len bytes, TCMU_STS_NO_RESOURCE when the trimmed copy cannot be allocated.
    int exact_iovec(IoCommand* c, iovec* iov, std::size_t iov_cnt, std::size_t len,
                    const iovec** out, int* out_cnt);
    static void on_complete(rbd_completion_t completion, void* arg);
    bool start_miscompare_read(IoCommand* c);
    std::uint64_t miscompare_index(const IoCommand* c) const;
    int has_lock();
    int set_lock_tag(std::uint16_t tag);
    int break_lock();
    void log_open();
    // Logs (once until the lock is taken again) that the LUN's exclusive lock is gone.
    void note_lock_lost(const char* why);

    LunConfig config_;
    TieringSettings settings_;
    InitiatorNames initiators_;
    // Ends (its sampler stopped) before initiators_, whose names it notes.
    std::unique_ptr<InitiatorAttribution> attribution_;
    std::unique_ptr<InitiatorActivity> activity_;
    TcmuHost host_;
    LunId id_;
    ceph::Cluster cluster_;
    ceph::IoContext io_;
    ceph::Image image_;
    ceph::ImageInfo info_;
    std::atomic<std::uint64_t> size_;
    std::atomic<LunIoMetrics*> io_metrics_{nullptr};
    std::atomic<std::uint32_t> in_flight_{0};
    std::atomic<bool> lock_held_noted_{false};  // logged as taken, not logged as released/lost
    std::atomic<bool> lock_lost_noted_{false};  // the loss is logged
    // Shared with the tiering rounds: the ownership mutex, whether the lock callout took the lock,
    // and the LockProbe (a standby LUN asks once per kStandbyLockProbePeriod, or at once after a
    // command that may take the lock).
    LunLockShare lock_{kStandbyLockProbePeriod};
    bool opened_ = false;  // open() succeeded: its close is logged
    FreeList<IoCommand> commands_{kMaxQueued};

    // Settings of a plain LUN, as given at open (a tiered LUN's follow the cluster: tiered_).
    SharedSettings untiered_settings_;
    // Tiering (null for a plain LUN); the router goes first (it routes through the tiering).
    std::unique_ptr<TieredLun> tiered_;
    std::unique_ptr<ExtentRouter> router_;
};

}  // namespace rbdtier
