#include "ceph/tiered_lun_store.h"

#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

#include "ceph/checksum.h"

namespace rbdtier::ceph {
namespace {

bool listed(const std::vector<std::string>& pools, const std::string& pool) {
    return std::find(pools.begin(), pools.end(), pool) != pools.end();
}

// Refuses a LUN whose tiering data is in the format-1 layout (named after the image).
Status refuse_legacy(const IoContext& home_io, const std::string& image, const std::string& spec) {
    const std::string legacy = legacy_map_object_name(image);
    std::uint64_t size = 0;
    time_t mtime = 0;
    int rc = rados_stat(home_io.handle(), legacy.c_str(), &size, &mtime);
    if (rc == -ENOENT) return Status::ok();
    if (rc < 0) return Status::error(rc, "stat " + home_io.where() + "/" + legacy);
    return Status::error(-EPERM, spec + " has format-1 tiering data (" + home_io.where() + "/" +
                                     legacy + ", tier images " + legacy_tier_image_name(image) +
                                     ", which other LUNs of the same name may share): refusing "
                                     "to use or change it");
}

}  // namespace

Result<TieredLunStore> open_tiered_lun_store(const Cluster& cluster, const std::string& home_pool,
                                             const std::string& ns, const std::string& image,
                                             const std::vector<std::string>& tier_pools,
                                             Image* home, const Cluster* header_reader) {
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    std::optional<Image> own_home;  // only to learn the identity; TierImages opens its own
    if (home == nullptr) {
        auto opened = Image::open(*home_io, image);
        if (!opened) return opened.status();
        own_home.emplace(std::move(*opened));
    }
    const Image& home_image = home != nullptr ? *home : *own_home;
    const std::string spec = home_image.spec();
    auto lun = LunIdentity::of(*home_io, home_image);
    if (!lun) return lun.status();
    auto data_pool = data_pool_of(cluster, home_image);
    if (!data_pool) return data_pool.status();
    own_home.reset();
    // The pools of the LUN's tier images: those listed but the home pool and the home image's
    // data pool (both the home tier's); the data pool only while the map has no data in a tier
    // image there (one made before it was told apart from the home pool).
    const auto tier_image_pools = [&](const std::set<std::string>& used) {
        std::vector<std::string> out;
        for (const auto& p : tier_pools) {
            if (p == home_pool || (p == *data_pool && used.count(p) == 0) || listed(out, p))
                continue;
            out.push_back(p);
        }
        return out;
    };
    std::vector<std::string> others = tier_image_pools({});

    // One read answers both whether the map exists and what it holds.
    auto map_io = IoContext::open(cluster, home_pool, ns);
    if (!map_io) return map_io.status();
    auto opened = PlacementMap::open(std::move(*map_io), *lun);
    if (!opened && opened.status().code() != -ENOENT)
        return opened.status().with_context("open tiered LUN " + spec);
    std::optional<PlacementMap> map;
    if (opened) {
        map.emplace(std::move(*opened));
    } else {
        if (Status s = refuse_legacy(*home_io, image, spec); !s) return s;
        // Read through the header reader when given, so that the LUN's client opens no session
        // to the tiers' OSDs; through `cluster` when that read fails.
        auto present = [&] {
            if (header_reader != nullptr) {
                auto seen = TierImages::present(*header_reader, *lun, tier_pools, home_pool);
                if (seen) return seen;
            }
            return TierImages::present(cluster, *lun, tier_pools, home_pool);
        }();
        if (!present) return present.status();
        if (!present->empty()) {
            return Status::error(-ENOENT, spec + ": tier image " + present->front() + "/" +
                                              lun->tier_image_name() +
                                              " exists but the placement "
                                              "map " +
                                              home_io->where() + "/" + lun->map_object_name() +
                                              " is missing: nothing was deleted; run `rbdtier lun "
                                              "repair " +
                                              spec + "`");
        }
        auto create_io = IoContext::open(cluster, home_pool, ns);
        if (!create_io) return create_io.status();
        auto created = PlacementMap::create(std::move(*create_io), *lun, others);
        if (created) {
            map.emplace(std::move(*created));
        } else if (created.status().code() == -EEXIST) {  // another gateway, just now
            auto again = IoContext::open(cluster, home_pool, ns);
            if (!again) return again.status();
            auto reopened = PlacementMap::open(std::move(*again), *lun);
            if (!reopened) return reopened.status().with_context("open tiered LUN " + spec);
            map.emplace(std::move(*reopened));
        } else {
            return created.status().with_context("open tiered LUN " + spec);
        }
    }

    // Every pool the map points at must be one of this LUN's tiers now, with its image.
    std::set<std::string> used;
    for (const auto& [extent, entry] : map->entries()) used.insert(entry.pool);
    for (const auto& [extent, pool] : map->intents()) used.insert(pool);
    others = tier_image_pools(used);
    for (const auto& pool : used) {
        if (pool != home_pool && !listed(others, pool)) {
            return Status::error(-EINVAL, spec + ": its placement map has data in pool " + pool +
                                              ", which tiers= does not list (add it back)");
        }
    }
    if (Status s = map->add_tiers(others); !s) return s.with_context("open tiered LUN " + spec);
    // Tier images the map puts data (or an intent) in are open before the LUN serves; the
    // others are opened on first need.
    auto images = TierImages::open(
        cluster, home_pool, ns, image, others,
        [&](const std::string& pool) { return used.count(pool) == 0; }, home,
        [&](const std::string& pool) { return used.count(pool) != 0; }, header_reader);
    if (!images) return images.status().with_context("open tiered LUN " + spec);
    return TieredLunStore{std::move(*images), std::move(*map)};
}

Result<LunIdentity> identity_of(const Cluster& cluster, const std::string& home_pool,
                                const std::string& ns, const std::string& image) {
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    auto home = Image::open(*home_io, image);
    if (!home) return home.status();
    return LunIdentity::of(*home_io, *home);
}

Result<PlacementMap> read_placement_map(const Cluster& cluster, const std::string& home_pool,
                                        const std::string& ns, const std::string& image) {
    auto lun = identity_of(cluster, home_pool, ns, image);
    if (!lun) return lun.status();
    auto map_io = IoContext::open(cluster, home_pool, ns);
    if (!map_io) return map_io.status();
    return PlacementMap::open(std::move(*map_io), *lun);
}

namespace {

// Extents (object indexes) with data in `image`.
Result<std::set<std::uint64_t>> allocated_extents(Image& image, std::uint64_t size,
                                                  std::uint64_t object_size) {
    std::vector<std::uint64_t> offsets;
    auto collect = [](std::uint64_t off, std::size_t, int exists, void* arg) -> int {
        if (exists) static_cast<std::vector<std::uint64_t>*>(arg)->push_back(off);
        return 0;
    };
    int rc = rbd_diff_iterate2(image.handle(), nullptr, 0, size, 0, 1, collect, &offsets);
    if (rc < 0) return Status::error(rc, "list data of " + image.spec());
    std::set<std::uint64_t> extents;
    for (std::uint64_t off : offsets) extents.insert(off / object_size);
    return extents;
}

Status read_extent(Image& image, std::uint64_t offset, std::vector<char>& out) {
    const ssize_t got = rbd_read(image.handle(), offset, out.size(), out.data());
    if (got < 0) return Status::error(static_cast<int>(got), "read " + image.spec());
    if (static_cast<std::size_t>(got) != out.size()) {
        return Status::error(-EIO, "short read from " + image.spec());
    }
    return Status::ok();
}

}  // namespace

Result<MapRepair> repair_placement_map(const Cluster& cluster, const std::string& home_pool,
                                       const std::string& ns, const std::string& image,
                                       const std::vector<std::string>& candidate_pools,
                                       bool write) {
    const std::string spec = home_pool + "/" + (ns.empty() ? "" : ns + "/") + image;
    auto lun = identity_of(cluster, home_pool, ns, image);
    if (!lun) return lun.status();
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    auto exists = PlacementMap::exists(*home_io, *lun);
    if (!exists) return exists.status();
    if (*exists) {
        return Status::error(-EEXIST, spec + " has a placement map (" + lun->map_object_name() +
                                          "): nothing to repair");
    }
    MapRepair repair;
    auto present = TierImages::present(cluster, *lun, candidate_pools, home_pool);
    if (!present) return present.status();
    repair.tier_pools = *present;
    auto images = TierImages::open(cluster, home_pool, ns, image, *present, {});
    if (!images) return images.status();
    auto size = images->opened(0)->size();
    if (!size) return size.status();
    const std::uint64_t object_size = images->object_size();
    std::map<std::uint64_t, std::vector<std::size_t>> holders;
    for (std::size_t i = 0; i < images->count(); ++i) {
        auto tier = images->image(i);
        if (!tier) return tier.status();
        auto extents = allocated_extents(**tier, *size, object_size);
        if (!extents) return extents.status();
        for (std::uint64_t e : *extents) holders[e].push_back(i);
    }
    std::map<std::uint64_t, std::uint32_t> crc;
    for (const auto& [extent, where] : holders) {
        const std::uint64_t offset = extent * object_size;
        std::vector<char> first(std::min(object_size, *size - offset)), other(first.size());
        if (Status s = read_extent(*images->opened(where.front()), offset, first); !s) return s;
        bool same = true;
        for (std::size_t k = 1; k < where.size() && same; ++k) {
            if (Status s = read_extent(*images->opened(where[k]), offset, other); !s) return s;
            same = other == first;
        }
        if (!same) {
            for (std::size_t i : where) repair.ambiguous[extent].push_back(images->pool(i));
            continue;
        }
        // One copy, or equal copies: the first tier image holding it (home if only home).
        const std::size_t chosen =
            where.size() > 1 && where.front() == 0 ? where[1] : where.front();
        if (chosen != 0) {
            repair.placed[extent] = images->pool(chosen);
            crc[extent] = crc32c(first.data(), first.size());
        }
    }
    if (!write || !repair.ambiguous.empty()) return repair;

    auto map_io = IoContext::open(cluster, home_pool, ns);
    if (!map_io) return map_io.status();
    auto map = PlacementMap::create(std::move(*map_io), *lun, repair.tier_pools);
    if (!map) return map.status().with_context("repair " + spec);
    if (Status s = map->acquire_fence(); !s) return s.with_context("repair " + spec);
    for (const auto& [extent, pool] : repair.placed) {
        Status s = map->commit(extent, std::nullopt, PlacementEntry{pool, 0, crc[extent]}, pool);
        if (s) s = map->clear_intent(extent);
        if (!s) return s.with_context("repair " + spec);
    }
    if (Status s = map->release_fence(); !s) return s;
    repair.written = true;
    return repair;
}

Status remove_tiered_lun_store(const Cluster& cluster, const std::string& home_pool,
                               const std::string& ns, const std::string& image,
                               const std::vector<std::string>& tier_pools) {
    auto lun = identity_of(cluster, home_pool, ns, image);
    if (!lun) return lun.status();
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    std::vector<std::string> pools = tier_pools;
    if (auto map_io = IoContext::open(cluster, home_pool, ns)) {
        if (auto map = PlacementMap::open(std::move(*map_io), *lun)) {
            for (const auto& p : map->header().tiers) {
                if (!listed(pools, p)) pools.push_back(p);
            }
        }
    }
    if (Status s = TierImages::remove(cluster, *lun, pools, home_pool); !s) return s;
    return PlacementMap::remove(*home_io, *lun);
}

}  // namespace rbdtier::ceph
