#include "ceph/placement_map.h"

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"

namespace rbdtier::ceph {
namespace {

std::string extent_key(std::uint64_t extent) {
    char key[17];
    std::snprintf(key, sizeof key, "%016" PRIx64, extent);
    return key;
}

std::optional<std::uint64_t> parse_key(std::string_view key) {
    std::uint64_t extent = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), extent, 16);
    if (ec != std::errc() || end != key.data() + key.size() || key.size() != 16) return {};
    return extent;
}

}  // namespace

std::string PlacementEntry::encode() const {
    char tail[48];
    std::snprintf(tail, sizeof tail, " gen=%" PRIu64 " crc=%08x", generation, crc);
    return "pool=" + pool + tail;
}

std::optional<PlacementEntry> PlacementEntry::decode(const std::string& text) {
    // pool=<name> gen=<n> crc=<hex>
    PlacementEntry e;
    const auto gen_at = text.rfind(" gen=");
    const auto crc_at = text.rfind(" crc=");
    if (text.rfind("pool=", 0) != 0 || gen_at == std::string::npos || crc_at == std::string::npos ||
        crc_at < gen_at || gen_at <= 5) {
        return {};
    }
    e.pool = text.substr(5, gen_at - 5);
    const char* g = text.data() + gen_at + 5;
    const char* c = text.data() + crc_at + 5;
    const char* end = text.data() + text.size();
    auto r1 = std::from_chars(g, text.data() + crc_at, e.generation);
    auto r2 = std::from_chars(c, end, e.crc, 16);
    if (r1.ec != std::errc() || r1.ptr != text.data() + crc_at || r2.ec != std::errc() ||
        r2.ptr != end) {
        return {};
    }
    return e;
}

PlacementMap::PlacementMap(PlacementMap&& other) noexcept
    : io_(std::move(other.io_)),
      image_(std::move(other.image_)),
      entries_(std::move(other.entries_)),
      version_(other.version_) {}

Result<PlacementMap> PlacementMap::load(IoContext io, const std::string& image) {
    PlacementMap map(std::move(io), image);
    std::lock_guard lock(map.mutex_);
    {  // The object exists from the first load on, so that other gateways can watch it.
        const std::string oid = object_name(image);
        std::uint64_t size = 0;
        time_t mtime = 0;
        int st = rados_stat(map.io_.handle(), oid.c_str(), &size, &mtime);
        if (st < 0 && st != -ENOENT) {
            return Status::error(st, "stat placement map " + map.io_.pool() + "/" + oid);
        }
        // Only when absent: a write to an existing map would change its version under the
        // gateway that owns it.
        if (st == -ENOENT) {
            WriteOp op(rados_create_write_op());
            if (!op) return Status::error(-ENOMEM, "create placement map " + oid);
            rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
            int rc = rados_write_op_operate(op.get(), map.io_.handle(), oid.c_str(), nullptr, 0);
            if (rc < 0) {
                return Status::error(rc, "create placement map " + map.io_.pool() + "/" + oid);
            }
        }
    }
    if (Status s = map.read_all(); !s) return s;
    return map;
}

Status PlacementMap::reload() {
    std::lock_guard lock(mutex_);
    return read_all();
}

Status PlacementMap::read_all() {
    const std::string oid = object_name(image_);
    auto snap = read_omap_snapshot(io_, oid, "placement map");
    if (!snap) return snap.status();
    std::map<std::uint64_t, PlacementEntry> entries;
    for (const auto& [k, v] : snap->entries) {
        auto extent = parse_key(k);
        auto entry = PlacementEntry::decode(v);
        if (!extent || !entry) {
            return Status::error(-EINVAL, "read placement map " + io_.pool() + "/" + oid +
                                              ": bad entry '" + k + "' = '" + v + "'");
        }
        entries[*extent] = std::move(*entry);
    }
    entries_ = std::move(entries);
    version_ = snap->version;
    return Status::ok();
}

std::optional<PlacementEntry> PlacementMap::find(std::uint64_t extent) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(extent);
    if (it == entries_.end()) return {};
    return it->second;
}

std::map<std::uint64_t, PlacementEntry> PlacementMap::entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
}

Status PlacementMap::commit(std::uint64_t extent, std::optional<PlacementEntry> next) {
    std::lock_guard lock(mutex_);
    const std::string oid = object_name(image_);
    const std::string key = extent_key(extent);
    auto context = [&] {
        return "commit placement of extent " + key + " in " + io_.pool() + "/" + oid;
    };

    const auto old = entries_.find(extent);
    const std::uint64_t old_generation = old == entries_.end() ? 0 : old->second.generation;
    if (next) next->generation = old_generation + 1;

    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, context());
    if (version_ == 0) {
        rados_write_op_create(op.get(), LIBRADOS_CREATE_EXCLUSIVE, nullptr);
    } else {
        rados_write_op_assert_version(op.get(), version_);
    }
    int cmp_rval = 0;
    std::string old_value;
    if (old != entries_.end()) {
        old_value = old->second.encode();
        rados_write_op_omap_cmp(op.get(), key.c_str(), LIBRADOS_CMPXATTR_OP_EQ, old_value.data(),
                                old_value.size(), &cmp_rval);
    }
    const char* keys[] = {key.c_str()};
    const size_t key_lens[] = {key.size()};
    std::string value;
    if (next) {
        value = next->encode();
        const char* vals[] = {value.data()};
        const size_t val_lens[] = {value.size()};
        rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    } else {
        rados_write_op_omap_rm_keys2(op.get(), keys, key_lens, 1);
    }
    int rc = rados_write_op_operate(op.get(), io_.handle(), oid.c_str(), nullptr, 0);
    if (rc >= 0 && cmp_rval < 0) rc = cmp_rval;
    if (rc < 0) {
        if (rc == -EEXIST) rc = -ECANCELED;  // somebody created the map since we read it
        return Status::error(rc, context());
    }
    version_ = rados_get_last_version(io_.handle());
    if (next) {
        entries_[extent] = std::move(*next);
    } else {
        entries_.erase(extent);
    }
    // Tell other gateways (watchers of the map object) to reload. Best effort: a gateway that
    // misses it reloads when it takes the exclusive lock, before it serves or migrates.
    char* reply = nullptr;
    size_t reply_len = 0;
    if (rados_notify2(io_.handle(), oid.c_str(), key.data(), key.size(), 3000, &reply,
                      &reply_len) >= 0 &&
        reply != nullptr) {
        rados_buffer_free(reply);
    }
    return Status::ok();
}

Status PlacementMap::remove() {
    std::lock_guard lock(mutex_);
    const std::string oid = object_name(image_);
    int rc = rados_remove(io_.handle(), oid.c_str());
    if (rc < 0 && rc != -ENOENT) return Status::error(rc, "remove placement map " + oid);
    entries_.clear();
    version_ = 0;
    return Status::ok();
}

}  // namespace rbdtier::ceph
