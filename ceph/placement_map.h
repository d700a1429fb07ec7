// PlacementMap: the only truth about where each extent of a tiered LUN lives.
//
// Kept in RADOS as the omap of one object, LunIdentity::map_object_name(), in the home image's
// pool and namespace. On-disk format 2 (readable with `rados listomapvals`):
//   "header"                -> "format=2 lun=<LunIdentity::key()> tiers=<pool>+<pool>..."
//   "%016x" of the extent   -> "pool=<pool> gen=<n> crc=<crc32c hex>"   (absent: home tier)
//   "intent.%016x"          -> "copy=<pool>": that pool's tier image may hold a copy of the
//                              extent that the map does not point at (a migration's destination
//                              before its commit, its source after), to be discarded
// An extent has one intent at most, and it is the only record of that copy: set_intent() never
// replaces an intent naming another pool (the owner removes that copy and clears its intent
// first, ExtentMigrator), and only commit() turns the intent of the copy it points the extent at
// into one for the copy it leaves. An intent may name the pool the extent's entry puts it in
// (repair commits with one, and clears it next): whoever discards what an intent names compares
// it with the entry first and confirms both as stored, under the fence (confirm_intent: the map
// in memory may be older than the stored one after a commit whose reply was lost), and discards
// nothing the entry points at.
// A map object that is absent, has no valid header, names another LUN or holds a bad entry is
// an error, never an empty map: open() refuses it with the reason.
//
// Ownership (the fence): only the gateway that owns the LUN changes its map. It takes an
// exclusive RADOS lock (kFenceLock) on the map object with acquire_fence(), breaking a previous
// owner's, and every change — commit(), set_intent(), clear_intent() — asserts that lock in the
// same write op: a gateway whose lock was broken (or that is blocklisted) cannot change the map,
// its write fails with -ESTALE and fence_held() turns false.
// commit() is a compare-and-set on one entry: it applies only if the stored value is still the
// one the caller read (an absent entry included), bumps the generation and points the extent's
// intent at the copy the commit leaves behind; -ECANCELED otherwise (reload()). Commits notify the
// object's watchers with the extent's key and wait for their acknowledgements up to
// kCommitNotifyTimeout; last_notify() tells which of them did not acknowledge.
// Why that long: the OSD keeps a notify for a watcher whose connection broke (an OSD restart, a
// network cut) and sends it when the watcher's librados makes the watch again, which librados
// does without telling the watcher; a notify that timed out before that is never sent, and the
// watcher would not know it missed a commit. A notify that waits longer than the OSD keeps a
// watch that no longer pings (kMapWatchTimeout) ends only when every watcher has acknowledged,
// has had its watch dropped by the OSD (its librados then reports the watch failed), or went
// unacknowledged long enough for the watcher's lease on its routing to run out: so a watcher that
// did not acknowledge reloads the map before it serves again (ceph/placement_watch.h says why).
// Thread-safe; changes are serialised.
// Lookups never wait on the OSDs: header(), find(), entries() and intents() answer from memory
// under a lock that is never held across a RADOS round trip, so a change or a reload waiting on a
// slow or unreachable OSD holds up neither the I/O path nor the admin socket. reload() reads the
// object without that lock and installs what it read only if no change (commit, intent, header)
// was made through this map since the read began nor is still being made; otherwise it reads
// again, so a change that lands during its read is never overwritten by the older snapshot.
// After a few such retries it reads with the changes held off (lookups still answer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/notify.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

inline constexpr int kPlacementMapFormat = 2;
inline constexpr const char* kFenceLock = "rbdtier";
// How long the OSD keeps a watch of the map object after its client's last ping (the timeout
// PlacementWatch watches with), and how long a commit's notify waits: longer (see above).
inline constexpr std::chrono::seconds kMapWatchTimeout{30};
inline constexpr std::chrono::seconds kCommitNotifyTimeout =
    kMapWatchTimeout + std::chrono::seconds(5);
// A probe of the map's watchers (probe_watchers): each gateway's watch acknowledges it at once,
// doing nothing else; one that does not within kProbeNotifyTimeout died or has a broken watch.
inline constexpr std::string_view kWatcherProbePayload = "probe";
inline constexpr std::chrono::seconds kProbeNotifyTimeout{3};

struct PlacementEntry {
    std::string pool;              // the tier's pool; the data is in that pool's tier image
    std::uint64_t generation = 0;  // bumped by every commit of this extent
    std::uint32_t crc = 0;         // crc32c of the extent's data as migrated

    bool operator==(const PlacementEntry&) const = default;
    std::string encode() const;
    static std::optional<PlacementEntry> decode(const std::string& text);
};

struct MapHeader {
    int format = kPlacementMapFormat;
    std::string lun;                 // LunIdentity::key()
    std::vector<std::string> tiers;  // pools holding a tier image of the LUN (not the home pool)

    bool operator==(const MapHeader&) const = default;
    std::string encode() const;
    static std::optional<MapHeader> decode(const std::string& text);
};

// A map object's omap, decoded: the header (and its value as stored, for the header's
// compare-and-set), the entries and the intents by extent.
struct DecodedPlacementMap {
    MapHeader header;
    std::string header_value;
    std::map<std::uint64_t, PlacementEntry> entries;
    std::map<std::uint64_t, std::string> intents;  // extent -> pool of the copy
};

struct [[nodiscard]] PlacementOmapDecode {
    std::optional<DecodedPlacementMap> map;  // set on success
    std::string error;                       // set on failure: which key or value, and why
};

// Decodes the omap values of LUN `lun_key`'s map object (key -> value, as read from RADOS).
// Refuses a bad header, entry or intent, a missing header, another format or another LUN's
// map. Pure: any bytes in, a map or a reason out.
PlacementOmapDecode decode_placement_omap(const std::map<std::string, std::string>& omap,
                                          const std::string& lun_key);

class PlacementMap {
public:
    // Whether the LUN has a map object at all (a missing map is not an empty one).
    static Result<bool> exists(const IoContext& io, const LunIdentity& lun);
    // Creates the map object with its header (exclusively: -EEXIST if there is one).
    // `io` must be a context of its own on the home pool and namespace; the map owns it.
    static Result<PlacementMap> create(IoContext io, const LunIdentity& lun,
                                       const std::vector<std::string>& tiers);
    // Reads an existing map; refuses one without a valid header, of another LUN, or with a bad
    // entry (the reason in the Status). -ENOENT: there is no map.
    static Result<PlacementMap> open(IoContext io, const LunIdentity& lun);
    // Deletes the map object (explicit admin action only).
    static Status remove(const IoContext& io, const LunIdentity& lun);

    PlacementMap(PlacementMap&& other) noexcept;
    PlacementMap(const PlacementMap&) = delete;
    PlacementMap& operator=(const PlacementMap&) = delete;
    ~PlacementMap();

    const LunIdentity& lun() const { return lun_; }
    const std::string& object_name() const { return oid_; }
    const std::string& home_pool() const { return io_.pool(); }
    MapHeader header() const;
    std::optional<PlacementEntry> find(std::uint64_t extent) const;
    std::map<std::uint64_t, PlacementEntry> entries() const;
    // Calls visit(extent, entry) on each entry, in extent order, under the map's lock: quick,
    // and never calling the map. A look that needs no copy of them (counts, say).
    template <typename Visit>
    void visit_entries(Visit&& visit) const {
        std::lock_guard lock(mutex_);
        for (const auto& [extent, entry] : entries_) visit(extent, entry);
    }
    std::size_t entry_count() const;
    std::map<std::uint64_t, std::string> intents() const;           // extent -> pool of the copy
    std::optional<std::string> intent(std::uint64_t extent) const;  // the pool of its copy

    // Adds pools to the header's tier list (a compare-and-set on the header; not fenced: it
    // only widens where scrub and repair look).
    Status add_tiers(const std::vector<std::string>& pools);

    // --- fenced changes (the owner only) ---
    Status acquire_fence();  // then reload()s, so the owner works from the map under its lock
    Status release_fence();
    bool fence_held() const;
    // Sets the extent's entry (nullopt: back home) if the stored one is still `expected`
    // (nullopt: absent), and its intent to `leftover_pool` (the copy the move leaves). The new
    // entry's generation is expected's + 1, whatever `next.generation` says. `notified`, if
    // given, receives the outcome of this commit's notify.
    // Any error but -ECANCELED and -ESTALE leaves the outcome unknown (a reply lost, e.g. to an
    // OSD op timeout): the write may have applied, and the map in memory is then older than the
    // stored one until reload().
    Status commit(std::uint64_t extent, const std::optional<PlacementEntry>& expected,
                  std::optional<PlacementEntry> next, const std::string& leftover_pool,
                  NotifyOutcome* notified = nullptr);
    // The notify commit() sends after its write (the extent's key to the watchers, waiting up to
    // kCommitNotifyTimeout; last_notify() keeps the outcome): also for a commit whose reply was
    // lost, once a reload showed it applied.
    NotifyOutcome notify_commit(std::uint64_t extent);
    // Records that `copy_pool`'s tier image may hold a copy of the extent. A compare-and-set on
    // the stored intent against the one this map holds, which must be none or this one: -EEXIST
    // (nothing written) if the extent's intent names another pool, -ECANCELED if the stored
    // intent is not the one held (reload()).
    Status set_intent(std::uint64_t extent, const std::string& copy_pool);
    Status clear_intent(std::uint64_t extent);
    // Checks, against the map as stored and under the fence, that the extent's entry is still
    // the one this map holds and its intent still names `copy_pool`: what whoever discards that
    // copy does first. Reads only. -ESTALE: the fence is lost (fence_held() turns false);
    // -ECANCELED: this map holds no such intent, or the stored entry or intent differs (reload()).
    Status confirm_intent(std::uint64_t extent, const std::string& copy_pool);

    // Reads the whole map again (see the top of this file). On failure the map is unchanged.
    Status reload();
    NotifyOutcome last_notify() const;
    // Notifies the watchers with kWatcherProbePayload and waits up to kProbeNotifyTimeout: who
    // did not answer. Changes nothing (last_notify() neither): a look before a commit, whose
    // notify would wait much longer for a gateway that does not answer.
    NotifyOutcome probe_watchers() const;

    // For tests: called by reload() after each read that it may install, before it checks for
    // changes made meanwhile and installs, with none of the map's locks held but reload's own
    // (the hook may commit). Not while reload() runs.
    void set_reload_hook(std::function<void()> hook) { reload_hook_ = std::move(hook); }
    // For tests: called by commit() with its write's result once the OSD answered; what it
    // returns is taken as the result (-ETIMEDOUT after a write that applied: a reply lost). Not
    // while a commit runs.
    void set_commit_reply_hook(std::function<int(int)> hook) {
        commit_reply_hook_ = std::move(hook);
    }

    static constexpr int kOptimisticReads = 4;  // reads a reload tries before holding changes off

private:
    PlacementMap(IoContext io, LunIdentity lun);
    // Reads and decodes the map object through `reader`, without mutex_. With reload_mutex_ held.
    Result<DecodedPlacementMap> read_map(const IoContext& reader) const;
    void install(DecodedPlacementMap map);  // with mutex_ held
    // Marks a change begun / ended (mutex_ taken inside): reload() installs nothing read while a
    // change ran.
    void begin_change();
    void end_change();
    bool fenced() const;
    // Takes the owner lock (breaking another holder's), without reading the map.
    Status take_fence();
    // Runs a fenced write op built by `fill` and, if it applied, `apply` (with mutex_ held) to
    // the map in memory; maps a failed lock assertion to -ESTALE and marks the fence lost. The
    // write is a change (begin_change/end_change). With change_mutex_ held, without mutex_.
    // `reply`, if set, is called with the write's result and returns the one to carry on with.
    template <typename Fill, typename Apply>
    Status fenced_write(const std::string& what, Fill&& fill, Apply&& apply,
                        const std::function<int(int)>& reply = {});

    IoContext io_;  // writes, locks and notifies
    LunIdentity lun_;
    std::string oid_;
    std::string cookie_;     // this map's lock cookie, unique per instance
    std::string assertion_;  // the encoded lock.assert_locked input for cookie_
    // Lock order: reload_mutex_, change_mutex_, mutex_. Only mutex_ is taken by lookups, and it
    // is never held across a RADOS call.
    std::mutex reload_mutex_;  // one reload at a time
    std::mutex change_mutex_;  // serialises changes, held across their RADOS write
    mutable std::mutex mutex_;
    MapHeader header_;
    std::string header_value_;  // as stored, for the header's compare-and-set
    std::map<std::uint64_t, PlacementEntry> entries_;
    std::map<std::uint64_t, std::string> intents_;
    bool fenced_ = false;
    NotifyOutcome last_notify_;
    std::uint64_t changes_ = 0;  // bumped when a change begins and when it ends
    bool changing_ = false;      // a change is between begin_change() and end_change()
    std::function<void()> reload_hook_;
    std::function<int(int)> commit_reply_hook_;
};

}  // namespace rbdtier::ceph
