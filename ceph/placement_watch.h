// PlacementWatch: keeps a gateway's view of a tiered LUN's placement current while another
// gateway (the exclusive-lock owner) migrates its extents.
//
// It watches the LUN's map object. A commit notifies the watchers with the extent's map key;
// for a notify from another client, the watch reloads the map and moves that extent in the
// ExtentGate (hold, drain the sub-I/Os in flight, route to the new tier, release) and only then
// acknowledges: a follower whose reload failed does not, and the owner, which waits for the
// acknowledgements, keeps the old copy. A tier image this gateway has not opened yet is opened
// (TierImages::ensure_open) before the extent is routed to it; if it cannot be, that is a
// failed reload. Notifies from this client itself are acknowledged at
// once.
//
// The map object carries the LUN's settings notifies too, so that a gateway keeps one watch per
// LUN: a notify whose payload is kSettingsNotifyPayload (ceph/settings_store.h's
// notify_lun_settings_changed, sent after each write of the home image's metadata) is
// acknowledged at once in librados's callback, from any client, and passed to the settings
// listener (the LUN's SettingsWatch, which re-reads its settings); so is every recovery that made
// the watch again (settings notifies may have been missed meanwhile). The owner's probe
// (kWatcherProbePayload, ceph/placement_map.h) is acknowledged at once in librados's callback too.
// Any other payload that is not a map key (a foreign or newer notifier's) is acknowledged and
// ignored.
//
// A gateway that is not a watcher misses notifies, and the owner does not wait for it: so the
// gate's routing is trusted only while the watch is known to be alive. Every second (up to a
// tenth of it later: the hub's due times lie on a grid, engine/round_driver.h) the watch asks
// librados when the OSD last confirmed it and extends the gate's lease to that moment plus
// kLeaseTerm (well inside the kTimeout after which the OSD drops a silent watcher, so the lease
// ends before the watch can). When the watch fails, is not confirmed in time, or a reload fails,
// or the lease ran out before it was extended again, it suspends the gate's routing (commands
// park), watches again with backoff, reloads the whole map and routes every extent (`resync`),
// and only then extends the lease; if that keeps failing for kRefuseAfter the parked commands
// are refused (BUSY) until it works, and at once if this client is blocklisted (fenced: the I/O
// path answers as for librbd's own -ESHUTDOWN).
// Why a routing under a running lease cannot have missed a commit: librados makes a watch whose
// connection broke (an OSD restart does that) again without any callback here, and a notify sent
// meanwhile reaches this gateway only if the watch is made again before the notify times out.
// The owner's commit notify waits kCommitNotifyTimeout (ceph/placement_map.h), longer than the
// OSD keeps a watch that does not ping (kTimeout) and than two lease terms. So if the owner goes
// on without this gateway's acknowledgement, either the OSD dropped the watch (librados then
// reports its failure: resync), or this gateway's lease ran out before the owner went on, unless
// its routing already follows the commit: no confirmation comes while the watch is broken, so a
// lease runs at most kLeaseTerm past the break; and once the notify has reached this gateway (at
// once, or when the watch is made again) no confirmation extends the lease further than
// kLeaseTerm past its arrival until it is handled (rados_watch_check counts from the arrival of a
// notify librados has not delivered yet, the queue here is handled before the lease is extended,
// and no lease is extended during a reload). A lease that ran out is extended only after a
// resync, however fresh the watch's next confirmation. The cost is the owner's: a gateway that
// died keeps the owner's commits waiting until the OSD drops its watch.
// The work runs as a step on the process's watch hub (ceph/watch_hub.h, one thread for every
// LUN's watches), never in librados's callback, which only queues what came and wakes the step;
// while the routing is being recovered the step comes back after each backoff instead of
// waiting in it. Each of these changes is logged (common/log.h) once: suspended with the reason,
// refused, fenced, served again. Destruction removes the step (waiting for a run in progress), then
// ends the watch and waits for librados's callbacks in flight: the map, gate and images are not
// touched once it has returned.
//
// Thread-safety and lock order: every public member may be called from any thread. The settings
// listener is called with this watch's mutex held (so that no call is in progress once
// set_settings_listener has returned); the listener, the LUN's SettingsWatch, takes its own
// mutex and then the hub's to wake its step. So the order is this watch's mutex, then the
// SettingsWatch's, then the hub's (a leaf: the hub runs no step under it). The listener must
// not call back into this watch, and nothing may call this watch (set_settings_listener above
// all) while holding the SettingsWatch's mutex: SettingsWatch never does.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"
#include "engine/round_driver.h"

namespace rbdtier::ceph {

class PlacementWatch {
public:
    // `io` is a context of its own on the home pool; the Cluster, map, gate and images must
    // outlive the watch. Its steps run on `hub` (null: the process's, watch_hub()).
    static Result<std::unique_ptr<PlacementWatch>> start(
        const Cluster& cluster, IoContext io, PlacementMap& map, ExtentGate& gate,
        TierImages& images, std::function<Status()> resync,
        std::shared_ptr<RoundDriver> hub = nullptr);
    ~PlacementWatch();
    PlacementWatch(const PlacementWatch&) = delete;
    PlacementWatch& operator=(const PlacementWatch&) = delete;

    static constexpr std::chrono::seconds kTimeout = kMapWatchTimeout;  // the OSD drops a
                                                                        // silent watcher
    static constexpr std::chrono::seconds kLeaseTerm{15};    // routing trusted past confirmation
    static constexpr std::chrono::seconds kRefuseAfter{20};  // parked commands then get BUSY
    static_assert(kLeaseTerm < kTimeout && kTimeout < kCommitNotifyTimeout &&
                      2 * kLeaseTerm <= kCommitNotifyTimeout,
                  "a commit's notify gives up on a watcher only after its lease ran out");

    // Called, briefly and without blocking (it only notes and wakes), on librados's callback
    // thread for each settings notify and on the hub's after a recovery that watched again;
    // null: none. When set_settings_listener returns, the previous listener is not running and
    // is never called again.
    void set_settings_listener(std::function<void()> listener);

    std::uint64_t extents_moved() const;      // by notifies from other gateways
    std::uint64_t settings_notifies() const;  // passed to the settings listener (or none set)
    int last_error() const;                   // of the watch itself (0: healthy)
    std::uint64_t rewatches() const;          // times the routing was recovered
    // "valid", "suspended" (commands park while the map is reloaded), "refused" (BUSY) or
    // "fenced" (this client is blocklisted).
    std::string routing() const;

private:
    struct Notify {
        std::uint64_t id;
        std::uint64_t notifier;
        std::string payload;
        bool rewatch = false;  // not a notify: the watch failed
    };
    using Clock = std::chrono::steady_clock;
    // The recovery of the routing in progress (the hub's thread only).
    struct Recovery {
        bool rewatch = false;  // the watch is to be made again before the resync
        Clock::time_point since;
        Clock::time_point retry_at;
        std::chrono::milliseconds backoff{100};
        bool refused = false;
        bool fenced = false;
    };
    PlacementWatch(IoContext io, std::string oid, std::uint64_t self, PlacementMap& map,
                   ExtentGate& gate, TierImages& images, std::function<Status()> resync,
                   std::shared_ptr<RoundDriver> hub);
    int watch();  // with nothing else using cookie_
    // Suspends routing and starts recovering it: the watch made again (if `rewatch`), then the
    // map reloaded and every extent routed (resync); the first attempt at once.
    void begin_recovery(bool rewatch, const char* why);
    // One attempt of the recovery in progress; true when the routing is recovered.
    bool try_recovery();
    // Extends the gate's lease from the watch's last confirmation; false if it is not valid.
    bool renew_lease();
    // The periodic check: false if the lease ran out or the watch is not confirmed in time.
    bool lease_held();
    // Acknowledges the notify with an empty reply.
    void acknowledge(std::uint64_t notify_id, std::uint64_t cookie) const;
    static void on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                          std::uint64_t notifier_id, void* data, std::size_t data_len);
    static void on_error(void* arg, std::uint64_t cookie, int err);
    void wake();  // the step is due now (from librados's callbacks)
    // The hub's step: what came, the lease, the recovery; microseconds until the next one.
    std::uint64_t step();
    bool apply(const Notify& n);  // false: the routing may be stale (not acknowledged)
    // The settings listener called, if any; `notify`: for a settings notify (counted).
    void settings_changed(bool notify);

    IoContext io_;
    std::string oid_;
    std::uint64_t self_;
    PlacementMap& map_;
    ExtentGate& gate_;
    TierImages& images_;
    std::function<Status()> resync_;
    std::uint64_t cookie_ = 0;
    bool watching_ = false;

    mutable std::mutex mutex_;
    std::vector<Notify> queue_;  // in arrival order; empty (no allocation) while idle
    std::uint64_t moved_ = 0;
    std::uint64_t settings_notifies_ = 0;
    std::function<void()> settings_listener_;
    std::uint64_t rewatches_ = 0;
    int error_ = 0;
    std::shared_ptr<RoundDriver> hub_;
    std::optional<RoundDriver::Id> step_;  // under mutex_: registered with hub_
    // The hub's thread only.
    Clock::time_point next_check_;
    std::optional<Recovery> recovery_;
};

}  // namespace rbdtier::ceph
