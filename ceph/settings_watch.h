// SettingsWatch: tells a running LUN when the settings it reads from the cluster
// (handler/shared_settings.h) may have changed, so it re-reads them at once instead of on its
// next round.
//
// Two RADOS watches (rados_watch3), each RAII (unwatched, and librados's callbacks flushed,
// before destruction ends):
//   - on the home image's header object (rbd_header.<image id>, in the image's pool and
//     namespace), by the LUN's own client: librbd notifies it after every change of the header,
//     which `rbd image-meta set/remove` and `rbdtier config set --lun` make (its NotifyMessage
//     with op HEADER_UPDATE, or an empty payload from old clients). Those, and payloads it cannot
//     decode, mean a re-read; librbd's other notifies on the header (lock requests, quiesce,
//     progress of operations) are acknowledged and ignored. This watch is not librbd's
//     rbd_update_watch, which would have librbd start a thread pool of its own for each image
//     (each LUN has its own client);
//   - on the cluster-wide settings object in its pool: `rbdtier config set/rm` notifies it after
//     writing, and so does `rados -p POOL notify rbdtier.config X` after a change by hand. This
//     watch is one per process for every LUN of one client identity (`client_key`), pool and
//     object: it is made with the client of one of its LUNs and fans each notify out to every
//     LUN that watches the object. When that LUN closes, the watch ends (its callbacks flushed)
//     before the LUN's close returns and is made again with another LUN's client, which counts
//     as a re-watch for every LUN; after a failure it is made again with the next LUN's client
//     in turn (one client that cannot watch, fenced say, does not keep the others from it). The
//     object is created empty (idempotently) so it can be watched.
// Every notify is acknowledged at once in the callback, with an empty payload (the notifier
// waits for every watcher's ack; librbd's notifiers read a non-empty ack as the lock owner's
// reply, so ours must be empty). A watch that fails (error callback, OSD restart, the object
// removed) is made again with backoff (100 ms doubling to 5 s), and a re-read follows.
// A write that notifies nobody (`rados setomapval` alone), or one made while a watch was down,
// is found by the backstop within `backstop`, which asks versions rather than re-reading: every
// `backstop` the LUN asks its header's version (a stat, one small round trip; every write to
// the header moves it) and re-reads when it moved since the version asked before its last
// re-read, or cannot be asked; the settings object's version is asked once per `backstop` for
// every LUN sharing its watch (with the watch's client), and every one of them re-reads when
// it moved, could not be asked, or the object is not watched (a watch's LUNs share the backstop
// of the LUN that made it). A LUN also re-reads once right after each watch is established
// (after an outage, past any cached copy of the object), and once after it starts to share a
// settings watch already made (past any copy older than that watch's last notify or re-watch).
// An idle LUN whose settings do not change so costs one stat per `backstop` and no re-read.
//
// The watches are made, made again, and `reread` is called by steps on the process's watch hub
// (ceph/watch_hub.h, a few threads for every LUN's watches), never in librados's callbacks,
// which only acknowledge, note what came and wake the steps. `reread` runs one call at a time, at
// once after a notification (several close together give one call); it must not throw. Its argument
// is when the settings object was last notified (or rewatched) since the previous call, or a
// default time_point when it was not: a cached copy of the object older than that must not be used.
// Failure to watch is logged once per outage (common/log.h) with the reason; the LUN keeps serving
// and relies on the periodic re-read meanwhile. The Cluster, the home IoContext and the Image
// must outlive the watch.
// Destruction removes the step (waiting for a run in progress, reread included), leaves the
// shared settings watch (ending it first if it was made with this LUN's client; a step making it
// again at that moment is waited for), then ends the header's watch, waiting for callbacks in
// flight: nothing of the LUN is touched once it has returned.
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

class SettingsObjectWatch;  // one settings object's watch, shared by the process's LUNs

class SettingsWatch {
public:
    // Watches the header of `image` (opened on `home`, its pool and namespace) and the object
    // `oid` in `pool` (of `cluster`, the client of `home`, whose cluster and identity
    // `client_key` names, e.g. its conf path and client id: LUNs with one key share the object's
    // watch); `lun` names the LUN in log lines. Starts at once; a watch that cannot be made yet
    // is retried. The steps run on `hub` (null: the process's, watch_hub()).
    SettingsWatch(const Cluster& cluster, const IoContext& home, Image& image,
                  const std::string& client_key, const std::string& pool, const std::string& oid,
                  std::string lun, std::chrono::milliseconds backstop,
                  std::function<void(std::chrono::steady_clock::time_point)> reread,
                  std::shared_ptr<RoundDriver> hub = nullptr);
    ~SettingsWatch();
    SettingsWatch(const SettingsWatch&) = delete;
    SettingsWatch& operator=(const SettingsWatch&) = delete;

    struct Counters {
        std::uint64_t image_notifies = 0;   // header updates seen (other notifies not counted)
        std::uint64_t object_notifies = 0;  // notifies of the settings object
        std::uint64_t rereads = 0;          // calls of reread (any cause)
        std::uint64_t rewatches = 0;        // watches (either) made again after a failure or a move
        bool image_watched = false;
        bool object_watched = false;
    };
    Counters counters() const;

private:
    // The header's watch, made again with backoff after a failure.
    struct Watched {
        SettingsWatch* owner = nullptr;
        std::string where;  // "pool[/ns]/rbd_header (of image)", for log lines
        std::optional<IoContext> io;
        std::string oid;  // known once the step has read the image id
        std::uint64_t cookie = 0;
        // Under mutex_.
        bool watched = false;
        bool failed = false;  // the watch reported an error: make it again
        int error = 0;        // that error
        // The hub's thread only.
        std::chrono::milliseconds backoff;
        std::chrono::steady_clock::time_point next_watch;
        bool outage_logged = false;
    };

    static void on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                          std::uint64_t notifier_id, void* data, std::size_t data_len);
    static void on_error(void* arg, std::uint64_t cookie, int err);
    void wake();  // the step is due now (from the callbacks)
    // The hub's step: the header watched (again), a re-read when due; microseconds until the next.
    std::uint64_t step();
    // The step's part for the header: watched (again) when failed or due. Called with `lock`
    // held; unlocks it around librados's calls.
    void keep_watched(std::unique_lock<std::mutex>& lock);
    // Opens the header's context and watches it; 0 or a negative errno.
    int watch();
    void unwatch();  // no flush: the caller flushes

    const Cluster& cluster_;
    const IoContext& home_;
    Image& image_;
    const std::string lun_;
    const std::chrono::milliseconds backstop_;
    const std::function<void(std::chrono::steady_clock::time_point)> reread_;
    Watched header_;

    mutable std::mutex mutex_;
    bool changed_ = false;                                     // a notification came: re-read
    std::chrono::steady_clock::time_point object_changed_at_;  // last object notify, not reread
    Counters counters_;

    // The hub's thread only.
    std::chrono::steady_clock::time_point next_reread_;
    std::optional<std::uint64_t> header_version_;  // the header's, asked before the last re-read

    std::shared_ptr<RoundDriver> hub_;
    std::optional<RoundDriver::Id> step_;  // under mutex_; registered when all is ready
    // The settings object's watch, shared with the process's other LUNs of the same key;
    // subscribed once the step is registered.
    std::shared_ptr<SettingsObjectWatch> object_;
    std::uint64_t subscription_ = 0;
};

}  // namespace rbdtier::ceph
