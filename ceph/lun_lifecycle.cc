#include "ceph/lun_lifecycle.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "ceph/extent_pins.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/omap_snapshot.h"
#include "ceph/placement_map.h"
#include "ceph/tenant_registry.h"

namespace rbdtier::ceph {
namespace {

constexpr std::uint64_t kExportBatch = 16;  // extents read between two reads of the map
constexpr int kMaxRereads = 100;            // per batch: a migration storm, not progress

bool all_zero(const char* p, std::size_t n) {
    return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

Status write_all(int fd, const char* data, std::size_t length, std::uint64_t offset) {
    while (length > 0) {
        const ssize_t put = ::pwrite(fd, data, length, static_cast<off_t>(offset));
        if (put < 0) {
            if (errno == EINTR) continue;
            return Status::error(-errno, "write the export at offset " + std::to_string(offset));
        }
        data += put;
        length -= static_cast<std::size_t>(put);
        offset += static_cast<std::uint64_t>(put);
    }
    return Status::ok();
}

// A tier image of the LUN, opened read-only; the IoContext outlives the Image.
struct ReadOnlyTier {
    IoContext io;
    Image image;
};

Result<std::unique_ptr<ReadOnlyTier>> open_tier(const Cluster& cluster, const std::string& pool,
                                                const LunIdentity& lun) {
    auto io = IoContext::open(cluster, pool);
    if (!io) return io.status();
    auto image = Image::open_read_only(*io, lun.tier_image_name());
    if (!image) return image.status();
    auto tag = image->metadata_get(kTierImageTag);
    if (!tag) return tag.status();
    if (!tag->has_value() || **tag != lun.key()) {
        return Status::error(-EINVAL,
                             "tier image " + image->spec() + " is not tagged for LUN " + lun.key());
    }
    return std::make_unique<ReadOnlyTier>(ReadOnlyTier{std::move(*io), std::move(*image)});
}

std::optional<PlacementEntry> entry_of(const std::map<std::uint64_t, PlacementEntry>& entries,
                                       std::uint64_t extent) {
    auto it = entries.find(extent);
    if (it == entries.end()) return std::nullopt;
    return it->second;
}

}  // namespace

Result<bool> home_pinned(const Image& home) {
    auto value = home.metadata_get(kHomePinKey);
    if (!value) return value.status();
    return value->has_value() && **value == kHomePinValue;
}

bool home_pinned(const std::map<std::string, std::string>& metadata) {
    auto it = metadata.find(kHomePinKey);
    return it != metadata.end() && it->second == kHomePinValue;
}

Status set_home_pinned(Image& home, bool pinned) {
    if (pinned) return home.metadata_set(kHomePinKey, kHomePinValue);
    return home.metadata_remove(kHomePinKey);
}

Status check_home_holds_all(const IoContext& home_io, const Image& home_image,
                            const HomeImageRef& home) {
    auto lun = LunIdentity::of(home_io, home_image);
    if (!lun) return lun.status();
    const std::string oid = lun->map_object_name();
    auto snapshot = read_omap_snapshot(home_io, oid, "placement map");
    if (!snapshot) return snapshot.status().with_context("placement map of " + home.spec());
    if (snapshot->version == 0) return Status::ok();  // no map: never tiered, or removed
    PlacementOmapDecode map = decode_placement_omap(snapshot->entries, lun->key());
    if (!map.map)
        return Status::error(-EINVAL,
                             "placement map of " + home.spec() + " (" + oid + "): " + map.error);
    const auto& entries = map.map->entries;
    if (entries.empty()) return Status::ok();
    std::map<std::string, std::uint64_t> per_pool;
    for (const auto& [extent, entry] : entries) ++per_pool[entry.pool];
    std::string pools;
    for (const auto& [pool, count] : per_pool)
        pools += (pools.empty() ? "" : ", ") + pool + ": " + std::to_string(count);
    return Status::error(-EBUSY, std::to_string(entries.size()) + " extents in tier pools (" +
                                     pools + ") of " + home.spec() +
                                     " are not in its home image: open it with its tiers "
                                     "(tiers= in the cfgstring, or rbd image-meta set " +
                                     home.spec() +
                                     " rbdtier.tiers), or bring them home first with rbdtier "
                                     "lun evacuate");
}

Result<LunExport> export_lun(const Cluster& cluster, const HomeImageRef& home, int fd,
                             const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
    auto home_io = IoContext::open(cluster, home.pool, home.ns);
    if (!home_io) return home_io.status();
    auto home_image = Image::open_read_only(*home_io, home.image);
    if (!home_image) return home_image.status();
    auto lun = LunIdentity::of(*home_io, *home_image);
    if (!lun) return lun.status();
    auto info = home_image->stat();
    if (!info) return info.status();
    auto map_io = IoContext::open(cluster, home.pool, home.ns);
    if (!map_io) return map_io.status();
    std::optional<PlacementMap> map;
    if (auto opened = PlacementMap::open(std::move(*map_io), *lun)) {
        map.emplace(std::move(*opened));
    } else if (opened.status().code() != -ENOENT) {
        return opened.status();
    }
    std::map<std::string, std::unique_ptr<ReadOnlyTier>> tiers;
    if (map) {
        for (const auto& pool : map->header().tiers) {
            if (pool == home.pool) continue;
            auto tier = open_tier(cluster, pool, *lun);
            if (!tier) return tier.status();
            tiers.emplace(pool, std::move(*tier));
        }
    }
    auto image_of = [&](const std::optional<PlacementEntry>& entry) -> Image* {
        if (!entry) return &*home_image;
        auto it = tiers.find(entry->pool);
        return it == tiers.end() ? nullptr : &it->second->image;
    };

    LunExport out;
    out.size_bytes = info->size;
    out.placement_map = map.has_value();
    const std::uint64_t object_size = info->object_size;
    out.extents = (info->size + object_size - 1) / object_size;
    std::vector<char> buffer(object_size);
    std::map<std::uint64_t, PlacementEntry> current;  // the map as last read
    if (map) current = map->entries();
    std::set<std::uint64_t> written;  // extents whose bytes are in the file (not a hole)
    for (std::uint64_t first = 0; first < out.extents; first += kExportBatch) {
        const std::uint64_t end = std::min(first + kExportBatch, out.extents);
        std::vector<std::uint64_t> pending;
        for (std::uint64_t e = first; e < end; ++e) pending.push_back(e);
        for (int attempt = 0; !pending.empty(); ++attempt) {
            if (attempt == kMaxRereads) {
                return Status::error(
                    -EAGAIN, "export " + home.spec() + ": extents " + std::to_string(first) + "-" +
                                 std::to_string(end - 1) + " kept moving while being read");
            }
            const auto before = current;
            for (std::uint64_t e : pending) {
                const auto entry = entry_of(before, e);
                Image* image = image_of(entry);
                if (image == nullptr) {
                    return Status::error(-EINVAL, "the placement map of " + home.spec() +
                                                      " puts extent " + std::to_string(e) +
                                                      " in pool " + entry->pool +
                                                      ", which is not among its tiers");
                }
                const std::uint64_t offset = e * object_size;
                const std::uint64_t length = std::min(object_size, info->size - offset);
                const ssize_t got = rbd_read(image->handle(), offset, length, buffer.data());
                if (got < 0) return Status::error(static_cast<int>(got), "read " + image->spec());
                if (static_cast<std::uint64_t>(got) != length)
                    return Status::error(-EIO, "short read from " + image->spec());
                // A hole reads as zeros; an extent written by an earlier try is overwritten.
                if (!all_zero(buffer.data(), length) || written.count(e) != 0) {
                    if (Status s = write_all(fd, buffer.data(), length, offset); !s) return s;
                    written.insert(e);
                }
                if (attempt == 0 && entry) ++out.extents_away;
            }
            if (!map) break;  // nothing moves a LUN that is not tiered
            if (Status s = map->reload(); !s) return s.with_context("export " + home.spec());
            current = map->entries();
            std::vector<std::uint64_t> moved;
            for (std::uint64_t e : pending)
                if (entry_of(before, e) != entry_of(current, e)) moved.push_back(e);
            out.reread_extents += moved.size();
            pending = std::move(moved);
        }
        if (progress) progress(end, out.extents);
    }
    if (::ftruncate(fd, static_cast<off_t>(info->size)) != 0)
        return Status::error(-errno, "size the export of " + home.spec());
    if (::fsync(fd) != 0) return Status::error(-errno, "sync the export of " + home.spec());
    return out;
}

Result<LunRemoval> remove_lun_tiering(const Cluster& cluster, const HomeImageRef& home,
                                      const std::vector<std::string>& tier_pools, bool force,
                                      const std::vector<std::string>& tenant_pools) {
    auto home_io = IoContext::open(cluster, home.pool, home.ns);
    if (!home_io) return home_io.status();
    LunIdentity lun;
    {
        auto home_image = Image::open_read_only(*home_io, home.image);
        if (!home_image) return home_image.status();
        auto watchers = home_image->watcher_count();
        if (!watchers) return watchers.status();
        if (*watchers > 0) {
            return Status::error(-EBUSY, home.spec() + " is open in " + std::to_string(*watchers) +
                                             " client(s) (a gateway serving the LUN): close it "
                                             "on every gateway first");
        }
        auto id = LunIdentity::of(*home_io, *home_image);
        if (!id) return id.status();
        lun = std::move(*id);
    }
    LunRemoval out;
    std::vector<std::string> pools;
    auto map_io = IoContext::open(cluster, home.pool, home.ns);
    if (!map_io) return map_io.status();
    auto map = PlacementMap::open(std::move(*map_io), lun);
    if (map) {
        out.map_object = map->object_name();
        out.extents_discarded = map->entries().size();
        pools = map->header().tiers;
        if (out.extents_discarded > 0 && !force) {
            return Status::error(-EBUSY, std::to_string(out.extents_discarded) + " extents of " +
                                             home.spec() +
                                             " live in tier images: evacuate the LUN first "
                                             "(rbdtier lun evacuate), or force the removal and "
                                             "lose them");
        }
    } else if (!force) {
        return Status::error(
            map.status().code(),
            "placement map of " + home.spec() + ": " + map.status().message() +
                (map.status().code() == -ENOENT ? " (not tiered, or removed already)" : "") +
                "; forcing removes the tier images named for the LUN anyway");
    }
    for (const auto& p : tier_pools)
        if (std::find(pools.begin(), pools.end(), p) == pools.end()) pools.push_back(p);
    for (const auto& pool : pools) {
        if (pool == home.pool) continue;
        auto io = IoContext::open(cluster, pool);
        if (!io) return io.status();
        const Status s = remove_image(*io, lun.tier_image_name());
        if (s) out.tier_pools.push_back(pool);
        if (!s && s.code() != -ENOENT) return s;
    }
    if (Status s = PlacementMap::remove(*home_io, lun); !s && s.code() != -ENOENT) return s;
    auto home_image = Image::open(*home_io, home.image);
    if (!home_image) return home_image.status();
    if (Status s = set_home_pinned(*home_image, false); !s) return s;
    if (Status s = write_extent_pins(*home_image, {}); !s) return s;
    // The tenant registry lists the LUN under its home pool as the gateway names it.
    const std::string registry_home = home.ns.empty() ? home.pool : home.pool + "/" + home.ns;
    std::set<std::string> registries(tenant_pools.begin(), tenant_pools.end());
    registries.insert(home.pool);
    registries.insert(pools.begin(), pools.end());
    for (const auto& pool : registries) {
        if (Status s = unregister_tenant_lun(cluster, pool, registry_home, home.image); !s)
            return s;
    }
    return out;
}

}  // namespace rbdtier::ceph
