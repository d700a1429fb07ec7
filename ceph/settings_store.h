// Raw access to where the shared tiering settings live (handler/shared_settings.h says what they
// mean): the "rbdtier.*" image metadata of a LUN's home image, and the omap of one RADOS object
// holding the cluster-wide settings. Values are read and written as they are: checking them is
// the caller's (the CLI checks before it writes; the gateway checks what it reads). Synchronous
// control-path calls; the IoContext or Image must stay open during the call.
//
// SharedObjectSettings: one process's copy of such an object, read at most once per period for
// all its readers (a gateway's LUNs: one omap read per period and pool, not one per LUN).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

// Every metadata entry of `image` whose key starts with `prefix` (full keys).
Result<std::map<std::string, std::string>> image_metadata(const Image& image,
                                                          const std::string& prefix);

// Every omap entry of `oid` in `io` (a missing object has none).
Result<std::map<std::string, std::string>> object_settings(const IoContext& io,
                                                           const std::string& oid);
// Sets `key` to `value` in the omap of `oid` (created if missing).
Status set_object_setting(const IoContext& io, const std::string& oid, const std::string& key,
                          const std::string& value);
// Removes `key` from the omap of `oid`; an absent key or object is no error.
Status remove_object_setting(const IoContext& io, const std::string& oid, const std::string& key);
// The payload of a notify that says "the settings changed": on the cluster-wide object (its
// watchers, ceph/settings_watch.h, take any payload so) and on a LUN's placement map object,
// whose watchers (ceph/placement_watch.h) tell it from an extent's map key by it.
inline constexpr std::string_view kSettingsNotifyPayload = "settings";

// Tells the watchers of `oid` that its settings changed (kSettingsNotifyPayload), and waits up to
// `timeout` for their acknowledgements. A missing object or no watcher is no error; a watcher
// that does not answer in time is (-ETIMEDOUT: it re-reads on its own period).
Status notify_settings_changed(const IoContext& io, const std::string& oid,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Tells the gateways serving the LUN of `home` (opened on `home_io`) that its "rbdtier.*"
// metadata changed: a settings notify of its placement map object, which every gateway serving
// it watches, as notify_settings_changed (a LUN never tiered has no map: no error). Without
// it they see the change within their backstop (ceph/settings_watch.h: the header's version).
// Whatever writes that metadata sends it after the write: `rbdtier config set/rm --lun`, and the
// gateway that answers `rbdtier lun evacuate` or `rbdtier unpin LUN all` (the home pin).
Status notify_lun_settings_changed(const IoContext& home_io, const Image& home,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The omap of one settings object per (cluster, pool), shared by every reader of the process.
// read() gives what the last read found when it is younger than `period` and began after
// `changed_at` (when the caller learned of a change: a notify), else reads now, with
// the caller's own client (used during the call only: nothing outlives it), while readers of the
// same object wait for that one read. A failed read is kept for the period too (every reader
// gets its error; the next period reads again). Thread-safe; callers may be any threads.
class SharedObjectSettings {
public:
    explicit SharedObjectSettings(std::chrono::milliseconds period) : period_(period) {}
    SharedObjectSettings(const SharedObjectSettings&) = delete;
    SharedObjectSettings& operator=(const SharedObjectSettings&) = delete;

    // `client_key` names the cluster and client identity `cluster` is connected as (e.g. its
    // conf path and id): readers with the same key and pool share one copy.
    Result<std::map<std::string, std::string>> read(
        const Cluster& cluster, const std::string& client_key, const std::string& pool,
        const std::string& oid, std::chrono::steady_clock::time_point changed_at = {});

    // Per object read: how often readers asked and how often RADOS was read.
    struct Counters {
        std::string pool;
        std::string oid;
        std::uint64_t lookups = 0;
        std::uint64_t reads = 0;
    };
    std::vector<Counters> counters() const;

private:
    struct Copy {
        std::mutex mutex;  // held during its read: readers of the object wait for it
        bool read_once = false;
        std::chrono::steady_clock::time_point read_at;       // when the last read ended
        std::chrono::steady_clock::time_point read_started;  // and began
        Status status;
        std::map<std::string, std::string> entries;
        Counters counters;
    };

    const std::chrono::milliseconds period_;
    mutable std::mutex mutex_;                             // copies_ (not what is in them)
    std::map<std::string, std::shared_ptr<Copy>> copies_;  // by client key, pool and oid
};

}  // namespace rbdtier::ceph
