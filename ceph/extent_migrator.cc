#include "ceph/extent_migrator.h"

#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "ceph/checksum.h"

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
    if (name == "copy") return CrashPoint::kDuringCopy;
    if (name == "verify") return CrashPoint::kAfterVerify;
    if (name == "commit") return CrashPoint::kAfterCommit;
    return CrashPoint::kNone;
}

struct ExtentMigrator::Busy {
    ExtentMigrator& m;
    std::uint64_t extent;
    ~Busy() { m.end(extent); }
};

ExtentMigrator::ExtentMigrator(TierImages& images, PlacementMap& map, ExtentGate& gate,
                               std::uint64_t lun_size, MigratorOptions options)
    : images_(images), map_(map), gate_(gate), lun_size_(lun_size), options_(options) {}

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
                            std::uint64_t length, std::vector<char>& buffer, std::uint32_t& crc) {
    rbd_image_t src = images_.image(from).handle();
    rbd_image_t dst = images_.image(to).handle();
    const std::uint64_t read_chunk = chunk_for(from, length);
    for (std::uint64_t at = 0; at < length; at += read_chunk) {
        const std::uint64_t n = std::min(read_chunk, length - at);
        const ssize_t got = rbd_read(src, offset + at, n, buffer.data() + at);
        if (got < 0)
            return Status::error(static_cast<int>(got), "copy: read " + images_.image(from).spec());
        if (static_cast<std::uint64_t>(got) != n) {
            return Status::error(-EIO, "copy: short read from " + images_.image(from).spec());
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
    if (rc < 0) return Status::error(rc, "copy: write " + images_.image(to).spec());
    crash_if(CrashPoint::kDuringCopy);
    if ((rc = rbd_flush(dst)) < 0)
        return Status::error(rc, "copy: flush " + images_.image(to).spec());
    return Status::ok();
}

Status ExtentMigrator::verify(std::size_t to, std::uint64_t offset, std::uint64_t length,
                              std::uint32_t crc, std::vector<char>& buffer) {
    const std::uint64_t chunk = chunk_for(to, length);
    for (std::uint64_t at = 0; at < length; at += chunk) {
        const std::uint64_t n = std::min(chunk, length - at);
        const ssize_t got =
            rbd_read(images_.image(to).handle(), offset + at, n, buffer.data() + at);
        if (got < 0) {
            return Status::error(static_cast<int>(got), "verify: read " + images_.image(to).spec());
        }
        if (static_cast<std::uint64_t>(got) != n) {
            return Status::error(-EIO, "verify: short read from " + images_.image(to).spec());
        }
    }
    if (crc32c(buffer.data(), length) != crc) {
        return Status::error(-EIO, "verify: checksum mismatch in " + images_.image(to).spec());
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
        return s;
    };
    if (extent >= gate_.extents() || to >= images_.count()) {
        return finish(Status::error(-EINVAL, "extent or tier out of range"), "refused");
    }
    if (!try_begin(extent))
        return finish(Status::error(-EBUSY, "extent is being moved"), "refused");
    Busy busy{*this, extent};

    const std::size_t from = gate_.tier(extent);
    record.from = images_.pool(from);
    record.to = images_.pool(to);
    if (from == to) return finish(Status::error(-EALREADY, "extent already there"), "refused");
    const std::uint64_t offset = extent * images_.object_size();
    const std::uint64_t length = extent_length(extent);
    record.bytes = length;

    std::vector<char> data(length), check(length);
    // A copy nobody will point at is removed at once (scrub would remove it too).
    auto drop_copy = [&] { (void)rbd_discard(images_.image(to).handle(), offset, length); };
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
        std::optional<PlacementEntry> next;
        if (to != 0) next = PlacementEntry{images_.pool(to), 0, crc};
        s = map_.commit(extent, next);
        if (!s && (s.code() == -ERANGE || s.code() == -EOVERFLOW || s.code() == -ECANCELED)) {
            // The map object changed since this gateway read it (another gateway opened the
            // LUN, or committed). If the extent is still where we think, commit on the fresh map.
            if (map_.reload()) {
                const auto now = map_.find(extent);
                const std::size_t mapped = now ? images_.index_of(now->pool).value_or(~0ul) : 0;
                if (mapped == from) s = map_.commit(extent, next);
            }
        }
        if (!s) {
            gate_.release(extent);
            drop_copy();
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
            committed_version_[extent] = committed_version;
        }
        // Clean: nothing routes to `from` any more, and nothing was in flight at the switch.
        int rc = rbd_discard(images_.image(from).handle(), offset, length);
        if (rc < 0) {
            return finish(Status::error(rc, "clean " + images_.image(from).spec() +
                                                " (scrub will remove the stale copy)"),
                          "moved, clean failed");
        }
        return finish(Status::ok(), "moved");
    }
    drop_copy();
    return finish(Status::error(-EAGAIN, "extent kept being written during the copy"), "gave up");
}

Status ExtentMigrator::scrub(ScrubReport& report) {
    const std::uint64_t object_size = images_.object_size();
    const std::uint64_t size = lun_size_.load();
    const auto entries = map_.entries();
    auto mapped_index = [&](std::uint64_t extent) -> std::size_t {
        auto it = entries.find(extent);
        if (it == entries.end()) return 0;
        return images_.index_of(it->second.pool).value_or(0);
    };
    report.extents_checked = (size + object_size - 1) / object_size;
    std::vector<char> buffer(object_size);
    for (std::size_t i = 0; i < images_.count(); ++i) {
        std::vector<std::uint64_t> allocated;
        auto collect = [](std::uint64_t off, std::size_t, int exists, void* arg) -> int {
            if (exists) static_cast<std::vector<std::uint64_t>*>(arg)->push_back(off);
            return 0;
        };
        int rc = rbd_diff_iterate2(images_.image(i).handle(), nullptr, 0, size, 0, 1, collect,
                                   &allocated);
        if (rc < 0) return Status::error(rc, "scrub: list data of " + images_.image(i).spec());
        for (std::uint64_t off : allocated) {
            const std::uint64_t extent = off / object_size;
            if (mapped_index(extent) == i || !try_begin(extent)) continue;
            Busy busy{*this, extent};
            // Re-check under the busy mark: a migration may have committed meanwhile.
            auto now = map_.find(extent);
            const std::size_t where = now ? images_.index_of(now->pool).value_or(0) : 0;
            if (where == i || gate_.tier(extent) == i) continue;
            rc = rbd_discard(images_.image(i).handle(), extent * object_size,
                             std::min(object_size, size - extent * object_size));
            if (rc < 0) {
                report.problems.push_back("discard stray extent " + std::to_string(extent) +
                                          " in " + images_.image(i).spec() + ": " +
                                          std::strerror(-rc));
                continue;
            }
            ++report.stray_removed;
        }
    }
    std::map<std::uint64_t, std::uint64_t> committed;
    {
        std::lock_guard lock(mutex_);
        committed = committed_version_;
    }
    for (const auto& [extent, entry] : entries) {
        auto it = committed.find(extent);
        if (it == committed.end() || gate_.write_version(extent) != it->second) continue;
        if (!try_begin(extent)) continue;
        Busy busy{*this, extent};
        const std::size_t where = images_.index_of(entry.pool).value_or(0);
        const std::uint64_t length = extent_length(extent);
        const ssize_t got =
            rbd_read(images_.image(where).handle(), extent * object_size, length, buffer.data());
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

}  // namespace rbdtier::ceph
