// Lun: one open rbdtier LUN's I/O path — the data callouts and how each command is issued.
//
// The tcmu data callouts (handler.cc) forward to a Lun. They return TCMU_STS_OK when the command
// was queued (it is then answered exactly once, through the host's complete(), by the LUN's
// LunCommands: handler/lun_commands.h) or a TCMU_STS_* failure when it was not queued (never
// answered then; logged when not GOOD). A plain LUN issues each command whole to its home image
// (io_command.h's issue_io), and librbd's completion comes back here (on_complete), which hands
// it to the LunCommands; a tiered LUN hands each command to its ExtentRouter
// (handler/extent_router.h), which splits it at extent boundaries, routes it through the gate,
// records its one IoEvent and hands it to the LunCommands itself: neither calls the Lun back.
// No lock is held across an I/O and no allocation of ours is made per command while fewer than
// LunCommands::kMaxQueued commands are in flight. An unmap callout made for a WRITE SAME with
// UNMAP whose block is not all zeros writes that block instead (unmapped blocks read zeros); a
// WRITE SAME with ANCHOR is refused; a transfer length of zero completes GOOD without librbd.
//
// The initiator of a command is the one the host names (the harness); tcmu-runner 1.5.4 names
// none, so with attribute_initiators_from_configfs() it is the one the target's configfs
// counters point at (handler/initiator_attribution.h), else initiator 0 (shared). Every command
// is counted, with its extents, under its initiator in initiator_activity().
//
// What a Lun is made of is opened by build_lun() (handler/lun_builder.h): its LunHome (RADOS
// client, home pool and image, the exclusive lock: handler/lun_lock.h) and, for a tiered LUN, its
// TieredLun (handler/tiered_lun.h). The admin side's view of it is handler/lun_admin_view.h.
// Thread-safety: the data callouts may be called from any thread at once; resize() and
// attribute_initiators_from_configfs() are control calls from the runner's threads. Destruction
// stops the tiering's work and waits for the commands in flight.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"
#include "handler/extent_router.h"
#include "handler/initiator_attribution.h"
#include "handler/initiator_names.h"
#include "handler/io_command.h"
#include "handler/lun_commands.h"
#include "handler/lun_config.h"
#include "handler/lun_io_metrics.h"
#include "handler/lun_lock.h"
#include "handler/tcmu_abi.h"
#include "handler/tiered_lun.h"

namespace rbdtier {

// The LUN's id as its tiering's policy keys extents: 24 bits (engine/extent_key.h).
inline LunId policy_lun_id(LunId lun) {
    return lun & 0xFFFFFFu;
}

// What a LUN serves from: its own RADOS client (for as long as it is open), its home pool and
// image, and the image's exclusive lock. Never moves (the lock and a TieredLun refer to it).
struct LunHome {
    LunHome(ceph::Cluster cluster_in, ceph::IoContext io_in, ceph::Image image_in,
            ceph::ImageInfo info_in, std::string spec)
        : cluster(std::move(cluster_in)),
          io(std::move(io_in)),
          image(std::move(image_in)),
          info(info_in),
          lock(image, std::move(spec)) {}
    LunHome(const LunHome&) = delete;
    LunHome& operator=(const LunHome&) = delete;

    ceph::Cluster cluster;
    ceph::IoContext io;
    ceph::Image image;
    ceph::ImageInfo info;
    LunLock lock;
};

class Lun {
public:
    // Serves `config` (with the image's tiers) of `size` bytes from `home`, through `tiered` when
    // the LUN is tiered (null: from the home image). Made by build_lun().
    Lun(LunConfig config, const TcmuHost& host, std::unique_ptr<LunHome> home, std::uint64_t size,
        std::unique_ptr<TieredLun> tiered);
    ~Lun();
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

    // The LUN was resized to new_size: grow the image if it is smaller, then serve new_size.
    ceph::Status resize(std::uint64_t new_size);

    // Counts every completed data command from now on; `metrics` must outlive the Lun.
    void set_io_metrics(LunIoMetrics* metrics) { commands_.set_io_metrics(metrics); }

    // ALUA implicit failover with the RBD exclusive lock (the lock callouts).
    LunLock& exclusive_lock() { return home_->lock; }
    ceph::Cluster& cluster() { return home_->cluster; }  // this LUN's RADOS client
    ceph::Image& image() { return home_->image; }
    const ceph::ImageInfo& image_info() const { return home_->info; }
    // The cfgstring as opened: the image metadata's tiers applied, and on a tiered LUN the
    // cluster's settings (TieredLun::config).
    const LunConfig& config() const { return config_; }
    // A tiered LUN's tiering (images, map, gate, migrator, rounds, settings); null for a plain
    // LUN.
    TieredLun* tiered_lun() { return tiered_.get(); }
    std::uint64_t size() const { return size_.load(std::memory_order_relaxed); }
    LunId id() const { return id_; }
    LunId policy_lun() const { return policy_lun_id(id_); }
    std::uint32_t in_flight() const { return commands_.in_flight(); }

    const InitiatorNames& initiators() const { return initiators_; }
    // Attributes the commands the host does not name an initiator for from the target's
    // configfs under `configfs_root`, the LUN's backstore being `backstore` there, sampled every
    // `period` on a thread of the attribution's own. Call before the first command.
    void attribute_initiators_from_configfs(std::string configfs_root, std::string backstore,
                                            std::chrono::milliseconds period);
    // The configfs attribution, or null when not made (the host names initiators, or no backstore).
    const InitiatorAttribution* initiator_attribution() const { return attribution_.get(); }
    const InitiatorActivity& initiator_activity() const { return *activity_; }

private:
    // READ and WRITE: len bytes of the callout's iovec; through the command's bounce buffer when
    // librbd cannot take the iovec as it is (a read scatters it on completion, a write gathers
    // it now).
    int transfer_command(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, iovec* iov,
                         std::size_t iov_cnt, std::size_t len, std::uint64_t off);
    int unmap_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len);
    int write_same_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                           iovec* iov, std::size_t iov_cnt);
    int compare_and_write_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off,
                                  std::uint64_t len, iovec* iov, std::size_t iov_cnt);
    // A command for the callout, its initiator known and its activity counted; null: no memory.
    IoCommand* begin(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                     std::uint64_t len);
    // Issues c (its buffers ready): to the home image, or through the router when tiered.
    int dispatch(IoCommand* c);
    // librbd's completion of a command issued whole to the home image.
    static void on_complete(rbd_completion_t completion, void* arg);

    // The config of a LUN served from its home image alone; a tiered LUN's is its TieredLun's
    // (one copy), which config_ names.
    std::unique_ptr<const LunConfig> untiered_config_;
    const LunConfig& config_;
    rbdtier_harness_cmd_initiator_fn initiator_of_;  // the host's (null: it names none)
    InitiatorNames initiators_;
    // Ends (its sampler stopped) before initiators_, whose names it notes.
    std::unique_ptr<InitiatorAttribution> attribution_;
    std::unique_ptr<InitiatorActivity> activity_;
    const LunId id_;
    // Outlives everything below: the commands note a lost lock, the tiering works over it.
    const std::unique_ptr<LunHome> home_;
    std::atomic<std::uint64_t> size_;
    LunCommands commands_;
    // Tiering (null for a plain LUN); the router goes first (it routes through the tiering).
    std::unique_ptr<TieredLun> tiered_;
    std::unique_ptr<ExtentRouter> router_;
};

}  // namespace rbdtier
