// ExtentMigrator: moves one extent of a tiered LUN between its tier images, safely.
//
// Only the LUN's owner migrates: take_ownership() takes the map's fence (PlacementMap), reloads
// the map, routes every extent where it says and cleans what interrupted migrations left; every
// map change after that is fenced, so a gateway that lost the LUN changes nothing.
// migrate() follows DESIGN.md's protocol. The source is the extent's committed map entry, never the
// in-memory routing. Probe: every gateway that watches the map answers a probe within seconds, else
// nothing moves (the commit's notify would hold the extent for as long as the OSD keeps the silent
// gateway's watch). Leftover: if the extent's intent names a copy elsewhere than the destination
// (left by a clean that failed or waited, or by an owner that died), that copy is discarded and the
// intent cleared first (remove_leftover); if that fails the migration is refused and the intent
// stays, so no copy ever loses its one record. Intent: record in the map that the destination may
// hold a copy nobody points at. Copy (read the source, crc32c, write the destination, flush),
// verify (read back, same crc32c). Commit: hold the extent, drain the sub-I/Os in flight, check
// that no write completed since the copy began (else copy again, a bounded number of times), then
// one fenced write that compares the entry with the one the copy started from, sets the new entry
// and turns the intent into one for the source; then route the extent to its new tier. Unknown
// outcome: a commit that failed otherwise than by a definite refusal (-ECANCELED: the entry
// differed; -ESTALE: the fence is lost) may have applied, its reply lost (an OSD op timeout):
// the extent stays held while the map is reloaded (up to kLearnTries times) and is then routed
// where the stored entry puts it, after the commit's notify if the commit applied (the migration
// then goes on as after its commit). If no reload works, the extent stays held and the gate
// refuses its I/O (ExtentGate::refuse_held: answered BUSY, retried by the initiator), never served
// from a guess, until a later reload (the next migration or cleaning of intents, sync_routing,
// take_ownership) routes it as stored; nothing migrates it meanwhile. RADOS applies one client's
// ops on an object in order, so a reload that finds the old entry saw the commit not applied.
// Clean: discard the extent in the source, then clear the intent. A crash or an error at any step
// leaves the map pointing at a complete copy and an intent naming the one copy that may be left
// over, which the next owner's take_ownership() removes (or, if it cannot, the next migration of
// the extent or a scrub); scrub() finds anything else. Whoever discards what an intent names
// compares it first with the map it holds and the routing, then confirms the entry and the intent
// against the map as stored, under the fence (PlacementMap::confirm_intent), and discards nothing
// the extent is mapped or routed to; so does a migration before it drops its own copy. The extent
// stays held until the commit's notify has ended: every gateway that watches the map has
// acknowledged (it routes the extent to its new tier), or may no longer trust its routing
// (PlacementMap's kCommitNotifyTimeout: it reloads the map before it serves again). So no write
// reaches the new tier while a gateway may still read the old one; a gateway that died after the
// probe keeps the extent held until the OSD drops its watch (kMapWatchTimeout). A commit whose
// notify some gateway did not acknowledge keeps the source (that gateway may still read it once it
// is back) and its intent, for the next cleaning of intents or migration of the extent to remove
// (that gateway's routing lease has run out by then: it reloads the map before it serves again).
// Map reloads (sync_routing, take_ownership) wait for the migration in progress and run alone. Tier
// images are opened on first need (TierImages::ensure_open): a migration opens its source and
// destination before its intent, a reload every tier the map puts an extent in before it routes any
// extent, clean_intents and scrub the tiers they touch; a tier that cannot be opened fails the
// migration before anything changed (the extent stays where it was) or the reload. Synchronous:
// call from the engine's worker threads, never from an I/O thread. Each migration borrows one
// buffer of two extents (copy, and verify's read-back) from a CopyBufferPool, the gateway's unless
// the options name another: mapped memory reused across migrations and unmapped when the pool goes,
// never blocks of the C heap that stay in the arenas of the worker threads. A buffer that cannot be
// had fails the migration (-ENOMEM). Logs (common/log.h) every migration's outcome, each map load
// and each change of ownership: the callers do not log them again.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "ceph/copy_buffers.h"
#include "ceph/extent_gate.h"
#include "ceph/placement_map.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"
#include "engine/migration_record.h"

namespace rbdtier::ceph {

// Where a test may have the process killed (SIGKILL) to prove crash safety; kNone in production.
enum class CrashPoint { kNone, kAfterIntent, kDuringCopy, kAfterVerify, kAfterCommit, kAfterClean };
// "", intent, copy, verify, commit, clean
CrashPoint crash_point_from_name(const std::string& name);

struct ScrubReport {
    std::uint64_t extents_checked = 0;
    std::uint64_t intents_cleaned = 0;  // copies left by interrupted migrations, removed
    std::uint64_t stray_removed = 0;    // data where the map says it does not belong
    std::uint64_t crc_verified = 0;     // mapped extents whose data still matches the map's crc
    std::uint64_t crc_mismatch = 0;     // mapped, not written since migration, and different
    std::vector<std::string> problems;
};

// How a scrub reports its progress and is told to stop: steps_total is set once the scrub
// knows its work (each tier image's listing counts as many steps as the LUN has extents, each
// mapped extent's checksum one more), steps_done grows as it goes; once cancel is set the scrub
// stops at its next step with -ECANCELED. Shared between the scrub's thread and its observers.
struct ScrubControl {
    std::atomic<bool> cancel{false};
    std::atomic<std::uint64_t> steps_done{0};
    std::atomic<std::uint64_t> steps_total{0};
};

struct MigratorOptions {
    int max_copies = 3;
    std::chrono::milliseconds drain_timeout{5000};
    CrashPoint crash_at = CrashPoint::kNone;
    // Copy and verify I/O size per tier image (index; absent or 0: the whole extent in one op).
    // Smaller pieces keep one migration op from holding foreground I/O behind it for long (on
    // the OSD and on the client's connection to it): worth it where an access costs little, not
    // where every op costs a seek.
    std::vector<std::uint64_t> chunk_bytes;
    // Asked right before each commit (after the copy): an error refuses the commit (the copy is
    // dropped). For what the map's fence cannot see, e.g. that another gateway may be writing.
    std::function<Status()> may_commit;
    // Where the copy and verify buffers come from (null: CopyBufferPool::shared(), the
    // gateway's); the migrator holds it while it lives.
    std::shared_ptr<CopyBufferPool> copy_buffers;
};

class ExtentMigrator {
public:
    ExtentMigrator(TierImages& images, PlacementMap& map, ExtentGate& gate, std::uint64_t lun_size,
                   MigratorOptions options = {});

    void set_lun_size(std::uint64_t bytes) { lun_size_.store(bytes); }

    // Moves `extent` to tier image `to`; fills `record` whatever happens.
    Status migrate(std::uint64_t extent, std::size_t to, MigrationRecord& record);

    // Makes this gateway the LUN's owner (see above). Safe while I/O runs.
    Status take_ownership();
    // Waits for the migration in progress, then gives the fence up (the LUN's lock is being
    // released: nothing migrates after this returns).
    Status release_ownership();
    bool owner() const { return map_.fence_held(); }
    // Reloads the map and routes every extent where it says (a follower's view, or the owner's
    // after a notify it did not send). Waits for the migration in progress.
    Status sync_routing();
    // Removes what interrupted migrations left (the map's intents); the owner only.
    Status clean_intents(std::uint64_t* cleaned = nullptr);

    // The owner only, against the map re-read now: removes stray data (what the map does not
    // point at, intents first) and checks the crc32c of extents this migrator moved and nobody
    // wrote since. Safe while I/O runs. With `control`: progress is reported there, and a
    // cancel stops the scrub at its next step (-ECANCELED; what it did so far is in `report`).
    Status scrub(ScrubReport& report, ScrubControl* control = nullptr);
    // Extents whose write version at commit scrub() keeps (to check their crc32c).
    std::size_t committed_versions() const;

private:
    // A commit whose outcome is not known (PlacementMap::commit): the entry it would have stored
    // (its generation the expected entry's + 1; none: back home).
    struct UnknownCommit {
        std::optional<PlacementEntry> applied;
    };
    static constexpr int kLearnTries = 3;
    static constexpr std::chrono::milliseconds kLearnBackoff{200};

    Status route_to_map();  // with quiesce_ held exclusively
    // The tier the map as stored puts the extent in: reloads the map, up to kLearnTries times;
    // none if no reload worked or the stored entry names a pool that is not a tier.
    std::optional<std::size_t> learn_stored_tier(std::uint64_t extent);
    std::optional<std::size_t> loaded_tier(std::uint64_t extent) const;  // from the map in memory
    // Routes each extent of an unknown commit where the map in memory says, after its commit's
    // notify if the commit applied (its extent stays held until then), and ends its refusal.
    void settle_unknown_commits();
    // Reloads the map and settles the unknown commits, if there are any.
    void reload_and_settle();
    bool outcome_unknown(std::uint64_t extent) const;
    // Discards the copy of `extent` that `pool`'s tier image may hold, as the extent's intent
    // says, then clears the intent; the intent stays if either fails. The owner only, with the
    // extent busy and quiesce_ held. Refuses to discard where the map or the routing puts it.
    Status remove_leftover(std::uint64_t extent, const std::string& pool);
    struct Busy;  // marks an extent as being worked on, for the lifetime of the guard
    bool try_begin(std::uint64_t extent);
    void end(std::uint64_t extent);
    std::uint64_t extent_length(std::uint64_t extent) const;
    Status copy(std::size_t from, std::size_t to, std::uint64_t offset, std::uint64_t length,
                std::span<char> buffer, std::uint32_t& crc);
    Status verify(std::size_t to, std::uint64_t offset, std::uint64_t length, std::uint32_t crc,
                  std::span<char> buffer);
    void crash_if(CrashPoint point) const;
    // Moved at debug; not moved at warning (rate-limited) with the reason, unless there was
    // nothing to do (already there, being moved).
    void log_migration(const MigrationRecord& record, const Status& s) const;
    std::uint64_t chunk_for(std::size_t tier, std::uint64_t length) const;

    TierImages& images_;
    PlacementMap& map_;
    ExtentGate& gate_;
    std::atomic<std::uint64_t> lun_size_;
    MigratorOptions options_;
    // The buffers of copy, verify and scrub (options_.copy_buffers, or the gateway's).
    std::shared_ptr<CopyBufferPool> buffers_;

    // Shared by migrate() and scrub(), exclusive for a reload of the map and routing.
    std::shared_mutex quiesce_;
    mutable std::mutex mutex_;
    std::set<std::uint64_t> busy_;
    // write version of each extent when this migrator committed it away from home (to know it
    // is unwritten); an extent committed home has no crc to check and leaves
    std::map<std::uint64_t, std::uint64_t> committed_version_;
    // Extents whose commit's outcome is not known yet: held and refused in the gate.
    std::map<std::uint64_t, UnknownCommit> unknown_commits_;
};

}  // namespace rbdtier::ceph
