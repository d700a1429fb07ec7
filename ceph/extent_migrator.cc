#include "ceph/extent_migrator.h"

#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "ceph/checksum.h"
#include "common/log.h"

namespace rbdtier::ceph {
namespace {

std::uint64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool all_zero(const char* p, std::size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

}  // namespace

CrashPoint crash_point_from_name(const std::string& name) {
    if (name == "intent") return CrashPoint::kAfterIntent;
    if (name == "copy") return CrashPoint::kDuringCopy;
    if (name == "verify") return CrashPoint::kAfterVerify;
    if (name == "commit") return CrashPoint::kAfterCommit;
    if (name == "clean") return CrashPoint::kAfterClean;
    return CrashPoint::kNone;
}

struct ExtentMigrator::Busy {
    ExtentMigrator& m;
    std::uint64_t extent;
    ~Busy() { m.end(extent); }
};

ExtentMigrator::ExtentMigrator(TierImages& images, PlacementMap& map, ExtentGate& gate,
                               std::uint64_t lun_size, MigratorOptions options)
    : images_(images),
      map_(map),
      gate_(gate),
      lun_size_(lun_size),
      options_(std::move(options)),
      buffers_(options_.copy_buffers ? options_.copy_buffers : CopyBufferPool::shared()) {}

bool ExtentMigrator::try_begin(std::uint64_t extent) {
    std::lock_guard lock(mutex_);
    return busy_.insert(extent).second;
}

void ExtentMigrator::end(std::uint64_t extent) {
    std::lock_guard lock(mutex_);
    busy_.erase(extent);
}

std::uint64_t ExtentMigrator::extent_length(std::uint64_t extent) const {
    const std::uint64_t offset = extent * images_.object_size();
    const std::uint64_t size = lun_size_.load();
    return offset >= size ? 0 : std::min(images_.object_size(), size - offset);
}

void ExtentMigrator::crash_if(CrashPoint point) const {
    if (options_.crash_at == point && point != CrashPoint::kNone) std::raise(SIGKILL);
}

std::uint64_t ExtentMigrator::chunk_for(std::size_t tier, std::uint64_t length) const {
    const std::uint64_t c = tier < options_.chunk_bytes.size() ? options_.chunk_bytes[tier] : 0;
    return c == 0 ? std::max<std::uint64_t>(length, 1) : std::max<std::uint64_t>(c, 4096);
}

Status ExtentMigrator::copy(std::size_t from, std::size_t to, std::uint64_t offset,
                            std::uint64_t length, std::span<char> buffer, std::uint32_t& crc) {
    auto source = images_.image(from);
    if (!source) return source.status().with_context("copy");
    auto target = images_.image(to);
    if (!target) return target.status().with_context("copy");
    const Image& from_image = **source;
    const Image& to_image = **target;
    rbd_image_t src = from_image.handle();
    rbd_image_t dst = to_image.handle();
    const std::uint64_t read_chunk = chunk_for(from, length);
    for (std::uint64_t at = 0; at < length; at += read_chunk) {
        const std::uint64_t n = std::min(read_chunk, length - at);
        const ssize_t got = rbd_read(src, offset + at, n, buffer.data() + at);
        if (got < 0) return Status::error(static_cast<int>(got), "copy: read " + from_image.spec());
        if (static_cast<std::uint64_t>(got) != n) {
            return Status::error(-EIO, "copy: short read from " + from_image.spec());
        }
    }
    crc = crc32c(buffer.data(), length);
    int rc = 0;
    if (all_zero(buffer.data(), length)) {
        rc = rbd_discard(dst, offset, length);  // keep sparse extents sparse
    } else {
        const std::uint64_t write_chunk = chunk_for(to, length);
        for (std::uint64_t at = 0; at < length && rc == 0; at += write_chunk) {
            const std::uint64_t n = std::min(write_chunk, length - at);
            const ssize_t put = rbd_write(dst, offset + at, n, buffer.data() + at);
            rc =
                put < 0 ? static_cast<int>(put) : (static_cast<std::uint64_t>(put) == n ? 0 : -EIO);
        }
    }
    if (rc < 0) return Status::error(rc, "copy: write " + to_image.spec());
    crash_if(CrashPoint::kDuringCopy);
    if ((rc = rbd_flush(dst)) < 0) return Status::error(rc, "copy: flush " + to_image.spec());
    return Status::ok();
}

Status ExtentMigrator::verify(std::size_t to, std::uint64_t offset, std::uint64_t length,
                              std::uint32_t crc, std::span<char> buffer) {
    auto target = images_.image(to);
    if (!target) return target.status().with_context("verify");
    const Image& image = **target;
    const std::uint64_t chunk = chunk_for(to, length);
    for (std::uint64_t at = 0; at < length; at += chunk) {
        const std::uint64_t n = std::min(chunk, length - at);
        const ssize_t got = rbd_read(image.handle(), offset + at, n, buffer.data() + at);
        if (got < 0) return Status::error(static_cast<int>(got), "verify: read " + image.spec());
        if (static_cast<std::uint64_t>(got) != n) {
            return Status::error(-EIO, "verify: short read from " + image.spec());
        }
    }
    if (crc32c(buffer.data(), length) != crc) {
        return Status::error(-EIO, "verify: checksum mismatch in " + image.spec());
    }
    return Status::ok();
}

Status ExtentMigrator::migrate(std::uint64_t extent, std::size_t to, MigrationRecord& record) {
    const auto started = std::chrono::steady_clock::now();
    record.extent = extent;
    record.start_unix_ms = now_unix_ms();
    auto finish = [&](Status s, std::string outcome) {
        record.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count();
        record.outcome = s ? std::string("moved") : std::move(outcome) + ": " + s.message();
        log_migration(record, s);
        return s;
    };
    if (extent >= gate_.extents() || to >= images_.count()) {
        return finish(Status::error(-EINVAL, "extent or tier out of range"), "refused");
    }
    std::shared_lock quiesce(quiesce_);
    if (!map_.fence_held()) {
        return finish(Status::error(-ESTALE, "this gateway does not own the LUN"), "refused");
    }
    reload_and_settle();
    if (outcome_unknown(extent)) {
        return finish(Status::error(-EAGAIN, "the outcome of its last commit is not known yet"),
                      "refused");
    }
    if (!try_begin(extent))
        return finish(Status::error(-EBUSY, "extent is being moved"), "refused");
    Busy busy{*this, extent};

    // The source is what the map says, and the commit compares against exactly that entry.
    const std::optional<PlacementEntry> source = map_.find(extent);
    const auto from_index = source ? images_.index_of(source->pool) : std::optional<std::size_t>(0);
    if (!from_index) {
        return finish(Status::error(-EINVAL, "the map puts the extent in pool " + source->pool +
                                                 ", not a tier of this LUN"),
                      "refused");
    }
    const std::size_t from = *from_index;
    // The record names the tiers by the pools their data lives in, as the engine does.
    record.from = images_.data_pool(from);
    record.to = images_.data_pool(to);
    if (from == to) return finish(Status::error(-EALREADY, "extent already there"), "refused");
    if (gate_.tier(extent) != from) {
        return finish(
            Status::error(-ESTALE, "the extent is routed to " + images_.pool(gate_.tier(extent)) +
                                       " but mapped to " + images_.pool(from)),
            "refused");
    }
    // A gateway that watches the map but does not answer (it died and the OSD has not dropped
    // its watch yet, or its watch is broken) would hold the commit's notify, and with it the
    // extent's I/O, for up to kCommitNotifyTimeout: nothing moves while one does not answer.
    if (const NotifyOutcome probe = map_.probe_watchers();
        probe.error < 0 || !probe.silent_notifiers.empty()) {
        return finish(Status::error(probe.error < 0 ? probe.error : -ETIMEDOUT,
                                    "a gateway watching the LUN's map did not answer"),
                      "refused");
    }
    const std::uint64_t offset = extent * images_.object_size();
    const std::uint64_t length = extent_length(extent);
    record.bytes = length;
    // Tier images are opened on first need (TierImages): here, before anything is written.
    for (const std::size_t tier : {from, to}) {
        if (Status s = images_.ensure_open(tier); !s) return finish(s, "refused");
    }

    // One buffer for the copy and its read-back, borrowed for this migration (before the
    // intent: without it nothing is left to clean).
    auto buffer = buffers_->acquire(2 * length);
    if (!buffer) return finish(buffer.status().with_context("copy buffer"), "refused");
    // The extent's intent is the one record of a copy left elsewhere (by a migration whose clean
    // failed, or by an owner that died): that copy goes first, or nothing moves.
    if (const auto left = map_.intent(extent); left && *left != images_.pool(to)) {
        if (Status s = remove_leftover(extent, *left); !s) return finish(s, "refused");
    }
    if (Status s = map_.set_intent(extent, images_.pool(to)); !s) return finish(s, "refused");
    crash_if(CrashPoint::kAfterIntent);
    const std::span<char> data = buffer->bytes().first(length);
    const std::span<char> check = buffer->bytes().subspan(length, length);
    // A copy nobody will point at is removed at once, with its intent; if either fails the
    // intent stays for the next owner. Only while the map as stored still has the entry the copy
    // started from and this intent: never after losing the LUN (the new owner may use the copy)
    // nor after a commit whose reply was lost but that was applied.
    auto drop_copy = [&] {
        if (!map_.confirm_intent(extent, images_.pool(to))) return;
        auto target = images_.image(to);
        if (target && rbd_discard((*target)->handle(), offset, length) == 0) {
            (void)map_.clear_intent(extent);
        }
    };
    const auto drain = [&] {
        gate_.hold(extent);
        if (gate_.wait_drained(extent, std::chrono::steady_clock::now() + options_.drain_timeout)) {
            return true;
        }
        gate_.release(extent);
        return false;
    };
    for (record.copies = 1; record.copies <= options_.max_copies; ++record.copies) {
        // Writes that land during a copy make it stale; the last try holds them off instead.
        const bool held_copy = record.copies == options_.max_copies;
        if (held_copy && !drain()) {
            drop_copy();
            return finish(Status::error(-ETIMEDOUT, "drain extent"), "copy failed");
        }
        const std::uint64_t version = gate_.write_version(extent);
        std::uint32_t crc = 0;
        Status s = copy(from, to, offset, length, data, crc);
        if (s) s = verify(to, offset, length, crc, check);
        if (!s) {
            if (held_copy) gate_.release(extent);
            drop_copy();
            return finish(s, "copy failed");
        }
        crash_if(CrashPoint::kAfterVerify);

        if (!held_copy && !drain()) {
            drop_copy();
            return finish(Status::error(-ETIMEDOUT, "drain extent"), "commit failed");
        }
        if (gate_.write_version(extent) != version) {  // written during the copy: copy again
            gate_.release(extent);
            continue;
        }
        if (options_.may_commit) {
            if (Status refused = options_.may_commit(); !refused) {
                gate_.release(extent);
                drop_copy();
                return finish(refused, "commit refused");
            }
        }
        std::optional<PlacementEntry> next;
        if (to != 0) next = PlacementEntry{images_.pool(to), 0, crc};
        NotifyOutcome notified;
        s = map_.commit(extent, source, next, images_.pool(from), &notified);
        std::optional<std::size_t> stored = from;  // the tier the map as stored puts the extent in
        if (!s && s.code() != -ESTALE && s.code() != -ECANCELED) {
            // The commit may have applied (its reply was lost): the extent stays held until the
            // map as stored says where it is, and is routed there.
            UnknownCommit unknown{next};
            if (unknown.applied)
                unknown.applied->generation = (source ? source->generation : 0) + 1;
            stored = learn_stored_tier(extent);
            if (!stored) {
                {
                    std::lock_guard lock(mutex_);
                    unknown_commits_[extent] = unknown;
                }
                gate_.refuse_held(extent);
                return finish(s.with_context("the stored map could not be read after it (the "
                                             "extent's I/O is refused until it is)"),
                              "commit outcome unknown");
            }
            if (map_.find(extent) == unknown.applied) {
                notified = map_.notify_commit(extent);
                s = Status::ok();
            }
        }
        if (!s) {
            // Lost the LUN, or the map changed behind this gateway: the copy's fate is the
            // intent's (the owner's take_ownership or scrub removes it).
            gate_.release(extent, static_cast<ExtentGate::TierIndex>(*stored));
            if (s.code() != -ESTALE && s.code() != -ECANCELED) drop_copy();
            return finish(s, "commit failed");
        }
        crash_if(CrashPoint::kAfterCommit);
        const std::uint64_t committed_version = gate_.write_version(extent);
        gate_.release(extent, static_cast<ExtentGate::TierIndex>(to));
        record.crc = crc;
        auto entry = map_.find(extent);
        record.generation = entry ? entry->generation : 0;
        {
            std::lock_guard lock(mutex_);
            if (to == 0)
                committed_version_.erase(extent);  // at home: no map entry, no crc to check
            else
                committed_version_[extent] = committed_version;
        }
        if (!notified.silent_notifiers.empty()) {
            // A gateway that did not acknowledge may still read the source: keep it (and its
            // intent) until the owner cleans intents again.
            return finish(Status::ok(), "moved");
        }
        // Clean: nothing routes to `from` any more, and nothing was in flight at the switch.
        auto source = images_.image(from);
        const int rc =
            source ? rbd_discard((*source)->handle(), offset, length) : source.status().code();
        if (rc < 0) {
            const std::string what = source ? (*source)->spec() : source.status().message();
            return finish(Status::error(rc, "clean " + what +
                                                " (its intent stays: the owner removes it later)"),
                          "moved, clean failed");
        }
        crash_if(CrashPoint::kAfterClean);
        (void)map_.clear_intent(extent);
        return finish(Status::ok(), "moved");
    }
    drop_copy();
    return finish(Status::error(-EAGAIN, "extent kept being written during the copy"), "gave up");
}

void ExtentMigrator::log_migration(const MigrationRecord& r, const Status& s) const {
    const auto said = [&r](log::Emitter& line) {
        line << "extent " << r.extent;
        if (!r.from.empty()) line << " from " << r.from << " to " << r.to;
    };
    const auto why = [&r](log::Emitter& line) {
        if (!r.reason.empty()) line << " (" << r.reason << ")";
    };
    const std::string& lun = images_.lun_name();
    if (s && r.outcome == "moved") {
        RBDTIER_LOG_DEBUG(lun, "moved " << said << ": " << r.bytes << " bytes in "
                                        << static_cast<double>(r.duration_us) / 1000 << " ms, "
                                        << r.copies << (r.copies == 1 ? " copy" : " copies")
                                        << why);
    } else if (s.code() == -EALREADY || s.code() == -EBUSY) {
        // The extent is there already, or a migration of it is under way: nothing went wrong.
        RBDTIER_LOG_DEBUG(lun, "did not move " << said << ": " << r.outcome << why);
    } else {
        RBDTIER_LOG_LIMITED(log::Level::kWarning, lun,
                            "did not move " << said << ": " << r.outcome << why);
    }
}

std::optional<std::size_t> ExtentMigrator::loaded_tier(std::uint64_t extent) const {
    const auto entry = map_.find(extent);
    return entry ? images_.index_of(entry->pool) : std::optional<std::size_t>(0);
}

std::optional<std::size_t> ExtentMigrator::learn_stored_tier(std::uint64_t extent) {
    for (int attempt = 0; attempt < kLearnTries; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(kLearnBackoff * attempt);
        if (Status s = map_.reload(); !s) {
            RBDTIER_LOG_WARNING(images_.lun_name(), "extent " << extent
                                                              << ": the outcome of its commit "
                                                                 "is not known and "
                                                              << s.message());
            continue;
        }
        return loaded_tier(extent);
    }
    return std::nullopt;
}

bool ExtentMigrator::outcome_unknown(std::uint64_t extent) const {
    std::lock_guard lock(mutex_);
    return unknown_commits_.contains(extent);
}

void ExtentMigrator::settle_unknown_commits() {
    std::map<std::uint64_t, UnknownCommit> unknown;
    {
        std::lock_guard lock(mutex_);
        unknown.swap(unknown_commits_);
    }
    for (const auto& [extent, commit] : unknown) {
        const auto tier = loaded_tier(extent);
        if (!tier) {
            std::lock_guard lock(mutex_);
            unknown_commits_.emplace(extent, commit);
            continue;
        }
        const bool applied = map_.find(extent) == commit.applied;
        if (applied) (void)map_.notify_commit(extent);
        gate_.release(extent, static_cast<ExtentGate::TierIndex>(*tier));
        RBDTIER_LOG_INFO(images_.lun_name(),
                         "extent " << extent << ": its commit whose outcome was not known "
                                   << (applied ? "applied" : "did not apply") << "; served from "
                                   << images_.pool(*tier) << " again");
    }
}

void ExtentMigrator::reload_and_settle() {
    {
        std::lock_guard lock(mutex_);
        if (unknown_commits_.empty()) return;
    }
    if (map_.reload()) settle_unknown_commits();
}

Status ExtentMigrator::route_to_map() {
    const auto entries = map_.entries();
    const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
    for (const auto& [extent, entry] : entries) {
        const auto index = images_.index_of(entry.pool);
        if (!index) {
            return Status::error(-EINVAL, "placement map of " + images_.home_name() +
                                              " puts extent " + std::to_string(extent) +
                                              " in pool " + entry.pool +
                                              ", which is not among its tiers");
        }
        // Nothing routes to a tier image before it is open.
        if (Status s = images_.ensure_open(*index); !s) {
            return s.with_context("placement map of " + images_.home_name() + " puts extent " +
                                  std::to_string(extent) + " in pool " + entry.pool);
        }
    }
    settle_unknown_commits();
    for (std::uint64_t e = 0; e < gate_.extents(); ++e) {
        auto it = entries.find(e);
        const std::size_t tier = it == entries.end() ? 0 : *images_.index_of(it->second.pool);
        (void)gate_.reroute(e, static_cast<ExtentGate::TierIndex>(tier), deadline);
    }
    RBDTIER_LOG_INFO(images_.lun_name(), "placement map loaded: " << entries.size() << " of "
                                                                  << gate_.extents()
                                                                  << " extents away from home");
    return Status::ok();
}

Status ExtentMigrator::sync_routing() {
    std::unique_lock quiesce(quiesce_);
    if (Status s = map_.reload(); !s) return s;
    return route_to_map();
}

Status ExtentMigrator::take_ownership() {
    {
        std::unique_lock quiesce(quiesce_);
        if (Status s = map_.acquire_fence(); !s) return s;
        if (Status s = route_to_map(); !s) return s;
    }
    std::uint64_t cleaned = 0;
    if (Status s = clean_intents(&cleaned); !s) return s;
    RBDTIER_LOG_INFO(images_.lun_name(), "owns the LUN's placement: map fenced, "
                                             << cleaned
                                             << " copies left by interrupted migrations removed");
    return Status::ok();
}

Status ExtentMigrator::release_ownership() {
    std::unique_lock quiesce(quiesce_);
    const bool held = map_.fence_held();
    Status s = map_.release_fence();
    if (s && held) RBDTIER_LOG_INFO(images_.lun_name(), "gave up the LUN's placement");
    return s;
}

Status ExtentMigrator::clean_intents(std::uint64_t* cleaned) {
    std::shared_lock quiesce(quiesce_);
    if (!map_.fence_held()) return Status::error(-ESTALE, "clean intents: not the LUN's owner");
    reload_and_settle();
    for (const auto& [extent, pool] : map_.intents()) {
        // A migration of ours is using it, or its intent may be older than the stored one.
        if (outcome_unknown(extent) || !try_begin(extent)) continue;
        Busy busy{*this, extent};
        if (Status s = remove_leftover(extent, pool); !s) return s;
        if (cleaned != nullptr) ++*cleaned;
    }
    return Status::ok();
}

Status ExtentMigrator::remove_leftover(std::uint64_t extent, const std::string& pool) {
    const std::string what = "remove the copy of extent " + std::to_string(extent) + " left in " +
                             pool + " (its intent stays)";
    // Compared with the map this gateway holds and the routing, then confirmed against the map
    // as stored, under the fence: nothing is discarded where either map or the routing puts it.
    if (!map_.fence_held()) return Status::error(-ESTALE, what + ": not the LUN's owner");
    const auto entry = map_.find(extent);
    const std::string mapped = entry ? entry->pool : images_.pool(0);
    const auto index = images_.index_of(pool);
    if (index && pool != mapped && extent < gate_.extents()) {
        if (gate_.tier(extent) == *index) {
            return Status::error(-ESTALE, what + ": the extent is served from there");
        }
        const std::uint64_t offset = extent * images_.object_size();
        const std::uint64_t length = extent_length(extent);
        if (length > 0) {
            if (Status s = images_.ensure_open(*index); !s) return s.with_context(what);
            auto copy = images_.image(*index);
            if (!copy) return copy.status().with_context(what);
            if (Status s = map_.confirm_intent(extent, pool); !s) return s.with_context(what);
            if (int rc = rbd_discard((*copy)->handle(), offset, length); rc < 0) {
                return Status::error(rc, what + ": discard in " + (*copy)->spec());
            }
        }
    }
    return map_.clear_intent(extent);
}

Status ExtentMigrator::scrub(ScrubReport& report, ScrubControl* control) {
    const auto cancelled = [control] { return control && control->cancel.load(); };
    const auto step = [control](std::uint64_t n) {
        if (control) control->steps_done.fetch_add(n);
    };
    const Status kCancelled = Status::error(-ECANCELED, "scrub");
    if (!map_.fence_held()) {
        return Status::error(-ESTALE,
                             "scrub: this gateway does not own the LUN (only the owner "
                             "scrubs, against the map it holds under its lock)");
    }
    if (Status s = map_.reload(); !s) return s.with_context("scrub");
    if (Status s = clean_intents(&report.intents_cleaned); !s) return s.with_context("scrub");
    std::shared_lock quiesce(quiesce_);
    const std::uint64_t object_size = images_.object_size();
    const std::uint64_t size = lun_size_.load();
    const auto entries = map_.entries();
    auto mapped_index = [&](std::uint64_t extent) -> std::size_t {
        auto it = entries.find(extent);
        if (it == entries.end()) return 0;
        return images_.index_of(it->second.pool).value_or(0);
    };
    report.extents_checked = (size + object_size - 1) / object_size;
    if (control) control->steps_total = images_.count() * report.extents_checked + entries.size();
    auto scrub_buffer = buffers_->acquire(object_size);
    if (!scrub_buffer) return scrub_buffer.status().with_context("scrub");
    const std::span<char> buffer = scrub_buffer->bytes();
    for (std::size_t i = 0; i < images_.count(); ++i) {
        if (cancelled()) return kCancelled;
        // Stray data may be in a tier image this gateway never needed: scrub looks at them all.
        if (Status s = images_.ensure_open(i); !s) return s.with_context("scrub");
        auto opened = images_.image(i);
        if (!opened) return opened.status().with_context("scrub");
        const Image& image = **opened;
        std::vector<std::uint64_t> allocated;
        auto collect = [](std::uint64_t off, std::size_t, int exists, void* arg) -> int {
            if (exists) static_cast<std::vector<std::uint64_t>*>(arg)->push_back(off);
            return 0;
        };
        int rc = rbd_diff_iterate2(image.handle(), nullptr, 0, size, 0, 1, collect, &allocated);
        if (rc < 0) return Status::error(rc, "scrub: list data of " + image.spec());
        for (std::uint64_t off : allocated) {
            if (cancelled()) return kCancelled;
            const std::uint64_t extent = off / object_size;
            if (mapped_index(extent) == i || !try_begin(extent)) continue;
            Busy busy{*this, extent};
            // Re-check under the busy mark: a migration may have committed meanwhile.
            if (!map_.fence_held()) return Status::error(-ESTALE, "scrub: lost the LUN");
            auto now = map_.find(extent);
            const std::size_t where = now ? images_.index_of(now->pool).value_or(0) : 0;
            if (where == i || gate_.tier(extent) == i) continue;
            if (map_.intent(extent)) continue;  // a migration's, cleaned with it
            rc = rbd_discard(image.handle(), extent * object_size,
                             std::min(object_size, size - extent * object_size));
            if (rc < 0) {
                report.problems.push_back("discard stray extent " + std::to_string(extent) +
                                          " in " + image.spec() + ": " + std::strerror(-rc));
                continue;
            }
            ++report.stray_removed;
        }
        step(report.extents_checked);
    }
    std::map<std::uint64_t, std::uint64_t> committed;
    {
        std::lock_guard lock(mutex_);
        committed = committed_version_;
    }
    for (const auto& [extent, entry] : entries) {
        if (cancelled()) return kCancelled;
        step(1);
        auto it = committed.find(extent);
        if (it == committed.end() || gate_.write_version(extent) != it->second) continue;
        if (!try_begin(extent)) continue;
        Busy busy{*this, extent};
        const std::size_t where = images_.index_of(entry.pool).value_or(0);
        const std::uint64_t length = extent_length(extent);
        auto holder = images_.image(where);
        const ssize_t got =
            holder ? rbd_read((*holder)->handle(), extent * object_size, length, buffer.data())
                   : holder.status().code();
        if (got < 0 || static_cast<std::uint64_t>(got) != length) {
            report.problems.push_back("read extent " + std::to_string(extent) + " for its crc");
            continue;
        }
        if (gate_.write_version(extent) != it->second) continue;  // written while we read
        if (crc32c(buffer.data(), length) == entry.crc) {
            ++report.crc_verified;
        } else {
            ++report.crc_mismatch;
            report.problems.push_back("extent " + std::to_string(extent) + " in " + entry.pool +
                                      " does not match its crc32c");
        }
    }
    return Status::ok();
}

std::size_t ExtentMigrator::committed_versions() const {
    std::lock_guard lock(mutex_);
    return committed_version_.size();
}

}  // namespace rbdtier::ceph
