// SettingsWatch: tells a running LUN when the settings it reads from the cluster
// (handler/shared_settings.h) may have changed, so it re-reads them at once instead of on its
// next round.
//
// A LUN's settings live in two places, followed so:
//   - its own, the "rbdtier.*" metadata of the home image (kept by librbd in the image's header
//     object, rbd_header.<image id>): through the LUN's placement map watch
//     (ceph/placement_watch.h), the one RADOS watch a tiered LUN has of its own, which hands
//     each settings notify of the map object (kSettingsNotifyPayload, ceph/settings_store.h's
//     notify_lun_settings_changed, sent after each write of the metadata) to this watch, and each
//     recovery that watched it again. The header itself is not watched (librbd's own watch of it is
//     the LUN's client's business, and a second watch per LUN would cost its pings and state in
//     every gateway): a change made without that notify (`rbd image-meta set/remove` by hand, an
//     old CLI) is found by the backstop, within `backstop`;
//   - the cluster-wide settings object in its pool: `rbdtier config set/rm` notifies it after
//     writing, and so does `rados -p POOL notify rbdtier.config X` after a change by hand. This
//     watch (rados_watch3, RAII) is one per process for every LUN of one client identity
//     (`client_key`), pool and object: it is made with the client of one of its LUNs and fans
//     each notify out to every LUN that watches the object. When that LUN closes, the watch ends
//     (its callbacks flushed) before the LUN's close returns and is made again with another LUN's
//     client, which counts as a re-watch for every LUN; after a failure it is made again with the
//     next LUN's client in turn (one client that cannot watch, fenced say, does not keep the
//     others from it). The object is created empty (idempotently) so it can be watched. Every
//     notify is acknowledged at once in the callback, with an empty payload; a watch that fails
//     (error callback, OSD restart, the object removed) is made again with backoff (100 ms
//     doubling to 5 s), and a re-read follows.
// A write that notifies nobody, or one made while a watch was down, is found by the backstop
// within `backstop`, which asks versions rather than re-reading: every `backstop` the LUN asks
// its header's version (a stat, one small round trip; every write to the header moves it, a
// metadata change among them) and re-reads when it moved since the version asked before its
// last re-read, or cannot be asked; the settings object's version is asked once per `backstop`
// for every LUN sharing its watch (with the watch's client), and every one of them re-reads
// when it moved, could not be asked, or the object is not watched (a watch's LUNs share the
// backstop of the LUN that made it). A LUN also re-reads once right after the watch starts
// (what changed since its read at open), once after each cluster object watch is established
// (after an outage, past any cached copy of the object), and once after it starts to share a
// settings watch already made (past any copy older than that watch's last notify or re-watch).
// An idle LUN whose settings do not change so costs one stat per `backstop` and no re-read.
//
// The watch is made, made again, and `reread` is called by steps on the process's watch hub
// (ceph/watch_hub.h, a few threads for every LUN's watches), never in librados's callbacks,
// which only acknowledge, note what came and wake the steps. `reread` runs one call at a time, at
// once after a notification (several close together give one call); it must not throw. Its argument
// is when the settings object was last notified (or rewatched) since the previous call, or a
// default time_point when it was not: a cached copy of the object older than that must not be used.
// Failure to watch is logged once per outage (common/log.h) with the reason; the LUN keeps serving
// and relies on the periodic re-read meanwhile. The Cluster, the home IoContext, the Image and
// the PlacementWatch must outlive the watch.
// Destruction detaches it from the PlacementWatch (no notify of the map reaches it afterwards),
// removes the step (waiting for a run in progress, reread included) and leaves the shared
// settings watch (ending it first if it was made with this LUN's client; a step making it again
// at that moment is waited for): nothing of the LUN is touched once it has returned.
//
// Thread-safety and lock order: lun_changed() and counters() may be called from any thread. The
// PlacementWatch calls lun_changed() with its own mutex held, and the shared settings object's
// watch notes its notifies with its own mutex held: both are taken before this watch's mutex,
// never after it. So this watch holds its mutex only to note state and to register its step
// with the hub (whose mutex is a leaf): never while it calls the PlacementWatch
// (set_settings_listener, in the constructor and the destructor), the settings object's watch
// (subscribe, unsubscribe, watched) or `reread`.
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

class PlacementWatch;       // ceph/placement_watch.h
class SettingsObjectWatch;  // one settings object's watch, shared by the process's LUNs

class SettingsWatch {
public:
    // Follows the LUN of `image` (opened on `home`, its pool and namespace) through
    // `map_watch`, its placement map's watch (null: by the backstop alone), and the object `oid`
    // in `pool` (of `cluster`, the client of `home`, whose cluster and identity `client_key`
    // names, e.g. its conf path and client id: LUNs with one key share the object's watch);
    // `lun` names the LUN in log lines. Starts at once; a watch that cannot be made yet is
    // retried. The steps run on `hub` (null: the process's, watch_hub()).
    SettingsWatch(const Cluster& cluster, const IoContext& home, Image& image,
                  PlacementWatch* map_watch, const std::string& client_key, const std::string& pool,
                  const std::string& oid, std::string lun, std::chrono::milliseconds backstop,
                  std::function<void(std::chrono::steady_clock::time_point)> reread,
                  std::shared_ptr<RoundDriver> hub = nullptr);
    ~SettingsWatch();
    SettingsWatch(const SettingsWatch&) = delete;
    SettingsWatch& operator=(const SettingsWatch&) = delete;

    // The LUN's own settings changed (a settings notify of its map object, or its watch made
    // again): re-read at once. Any thread; only notes and wakes the step.
    void lun_changed();

    struct Counters {
        std::uint64_t lun_notifies = 0;     // lun_changed() calls
        std::uint64_t object_notifies = 0;  // notifies of the settings object
        std::uint64_t rereads = 0;          // calls of reread (any cause)
        std::uint64_t rewatches = 0;        // settings object watches made again (failure, move)
        bool object_watched = false;
    };
    Counters counters() const;

private:
    void wake();  // the step is due now
    // The hub's step: a re-read when due; microseconds until the next.
    std::uint64_t step();

    const IoContext& home_;
    Image& image_;
    PlacementWatch* const map_watch_;
    const std::chrono::milliseconds backstop_;
    const std::function<void(std::chrono::steady_clock::time_point)> reread_;

    mutable std::mutex mutex_;
    bool changed_ = true;  // a notification came (at first: what changed since the open's read)
    std::chrono::steady_clock::time_point object_changed_at_;  // last object notify, not reread
    Counters counters_;

    // The hub's thread only.
    std::chrono::steady_clock::time_point next_reread_;
    std::string header_;                           // rbd_header.<image id>, once known
    std::optional<std::uint64_t> header_version_;  // the header's, asked before the last re-read

    std::shared_ptr<RoundDriver> hub_;
    std::optional<RoundDriver::Id> step_;  // under mutex_; registered when all is ready
    // The settings object's watch, shared with the process's other LUNs of the same key;
    // subscribed once the step is registered.
    std::shared_ptr<SettingsObjectWatch> object_;
    std::uint64_t subscription_ = 0;
};

}  // namespace rbdtier::ceph
