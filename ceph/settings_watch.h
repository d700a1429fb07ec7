// SettingsWatch: tells a running LUN when the settings it reads from the cluster
// (handler/shared_settings.h) may have changed, so it re-reads them at once instead of on its
// next round.
//
// Two watches, each RAII (unwatched, and librados's callbacks flushed, before destruction ends):
//   - the home image's update watch (rbd_update_watch): librbd fires it on every change of the
//     image's header, which `rbd image-meta set/remove` and `rbdtier config set --lun` make
//     (librbd notifies the header after a metadata change);
//   - a RADOS watch (rados_watch3) on the cluster-wide settings object in its pool: `rbdtier
//     config set/rm` notifies it after writing, and so does `rados -p POOL notify rbdtier.config
//     X` after a change by hand. The object is created empty (idempotently) so it can be watched.
//     A watch that fails (error callback, OSD restart, the object removed) is made again with
//     backoff (100 ms doubling to 5 s).
// A write that notifies nobody (`rados setomapval` alone), or one made while a watch was down,
// is found by the periodic re-read: every `backstop` the LUN re-reads anyway, and once right
// after each watch is established (after an outage, past any cached copy of the object).
//
// The watches are made, made again, and `reread` is called by a step on the process's watch hub
// (ceph/watch_hub.h, one thread for every LUN's watches), never in librados's or librbd's
// callbacks, which only note what came and wake the step. `reread` runs one call at a time, at
// once after a notification (several close together give one call); it must not throw. Its argument
// is when the settings object was last notified (or rewatched) since the previous call, or a
// default time_point when it was not: a cached copy of the object older than that must not be used.
// Failure to watch is logged once per outage (common/log.h) with the reason; the LUN keeps serving
// and relies on the periodic re-read meanwhile. The Cluster and Image must outlive the watch.
// Destruction removes the step (waiting for a run in progress, reread included), then ends both
// watches, waiting for their callbacks in flight: nothing of the LUN is touched once it has
// returned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "engine/round_driver.h"

namespace rbdtier::ceph {

class SettingsWatch {
public:
    // Watches `image` and the object `oid` in `pool` (of `cluster`); `lun` names the LUN in
    // log lines. Starts at once; a watch that cannot be made yet is retried. The steps run on
    // `hub` (null: the process's, watch_hub()).
    SettingsWatch(const Cluster& cluster, Image& image, std::string pool, std::string oid,
                  std::string lun, std::chrono::milliseconds backstop,
                  std::function<void(std::chrono::steady_clock::time_point)> reread,
                  std::shared_ptr<RoundDriver> hub = nullptr);
    ~SettingsWatch();
    SettingsWatch(const SettingsWatch&) = delete;
    SettingsWatch& operator=(const SettingsWatch&) = delete;

    struct Counters {
        std::uint64_t image_notifies = 0;   // header updates seen
        std::uint64_t object_notifies = 0;  // notifies of the settings object
        std::uint64_t rereads = 0;          // calls of reread (any cause)
        std::uint64_t rewatches = 0;        // object watches made again after a failure
        bool image_watched = false;
        bool object_watched = false;
    };
    Counters counters() const;

private:
    static void on_image_update(void* arg);
    static void on_object_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                                 std::uint64_t notifier_id, void* data, std::size_t data_len);
    static void on_object_error(void* arg, std::uint64_t cookie, int err);
    void wake();  // the step is due now (from the callbacks)
    // The hub's step: the watches made (again), a re-read when due; microseconds until the next.
    std::uint64_t step();
    // Creates the object if absent and watches it; 0 or a negative errno.
    int watch_object();
    void unwatch_object();
    void watch_image();

    const Cluster& cluster_;
    Image& image_;
    const std::string pool_;
    const std::string oid_;
    const std::string lun_;
    const std::chrono::milliseconds backstop_;
    const std::function<void(std::chrono::steady_clock::time_point)> reread_;
    std::optional<IoContext> io_;  // on pool_, for the object's watch (opened on the thread)
    std::uint64_t object_cookie_ = 0;
    std::uint64_t image_handle_ = 0;

    mutable std::mutex mutex_;
    bool changed_ = false;        // a notification came: re-read
    bool object_failed_ = false;  // the object's watch reported an error: make it again
    int object_error_ = 0;        // that error
    std::chrono::steady_clock::time_point object_changed_at_;  // last object notify, not reread
    Counters counters_;

    // The hub's thread only.
    bool image_watch_tried_ = false;
    std::chrono::milliseconds backoff_;
    std::chrono::steady_clock::time_point next_watch_;
    std::chrono::steady_clock::time_point next_reread_;
    bool outage_logged_ = false;

    std::shared_ptr<RoundDriver> hub_;
    std::optional<RoundDriver::Id> step_;  // under mutex_; last: registered when all is ready
};

}  // namespace rbdtier::ceph
