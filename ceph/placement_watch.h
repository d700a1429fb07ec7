// PlacementWatch: keeps a gateway's view of a tiered LUN's placement current while another
// gateway (the exclusive-lock owner) migrates its extents.
//
// It watches the LUN's map object. A commit notifies the watchers with the extent's map key;
// for a notify from another client, the watch reloads the map and moves that extent in the
// ExtentGate (hold, drain the sub-I/Os in flight, route to the new tier, release) and only then
// acknowledges: a follower whose reload failed does not, and the owner, which waits for the
// acknowledgements, keeps the old copy. Notifies from this client itself are acknowledged at
// once. When the watch fails (the connection to the OSD was lost, or the watch timed out) it
// watches again, with backoff, then calls `resync` (reload the whole map and route every extent)
// since notifies may have been missed. The work runs on the watch's own thread, never in
// librados's callback.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/io_context.h"
#include "ceph/placement_map.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"

namespace rbdtier::ceph {

class PlacementWatch {
public:
    // `io` is a context of its own on the home pool; the Cluster, map, gate and images must
    // outlive the watch.
    static Result<std::unique_ptr<PlacementWatch>> start(const Cluster& cluster, IoContext io,
                                                         PlacementMap& map, ExtentGate& gate,
                                                         TierImages& images,
                                                         std::function<Status()> resync);
    ~PlacementWatch();
    PlacementWatch(const PlacementWatch&) = delete;
    PlacementWatch& operator=(const PlacementWatch&) = delete;

    std::uint64_t extents_moved() const;  // by notifies from other gateways
    int last_error() const;               // of the watch itself (0: healthy)
    std::uint64_t rewatches() const;      // times the watch was re-established

private:
    struct Notify {
        std::uint64_t id;
        std::uint64_t notifier;
        std::string payload;
        bool rewatch = false;  // not a notify: the watch failed
    };
    PlacementWatch(IoContext io, std::string oid, std::uint64_t self, PlacementMap& map,
                   ExtentGate& gate, TierImages& images, std::function<Status()> resync);
    int watch();  // with nothing else using cookie_
    void rewatch();
    static void on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                          std::uint64_t notifier_id, void* data, std::size_t data_len);
    static void on_error(void* arg, std::uint64_t cookie, int err);
    void run();
    void apply(const Notify& n);

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
    std::condition_variable wake_;
    std::deque<Notify> queue_;
    bool stopping_ = false;
    std::uint64_t moved_ = 0;
    std::uint64_t rewatches_ = 0;
    int error_ = 0;
    std::thread thread_;
};

}  // namespace rbdtier::ceph
