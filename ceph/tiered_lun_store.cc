#include "ceph/tiered_lun_store.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

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
                                             Image* home) {
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
    own_home.reset();
    std::vector<std::string> others;
    for (const auto& p : tier_pools) {
        if (p != home_pool) others.push_back(p);
    }

    auto exists = PlacementMap::exists(*home_io, *lun);
    if (!exists) return exists.status();
    auto map_io = IoContext::open(cluster, home_pool, ns);
    if (!map_io) return map_io.status();
    std::optional<PlacementMap> map;
    if (!*exists) {
        if (Status s = refuse_legacy(*home_io, image, spec); !s) return s;
        auto present = TierImages::present(cluster, *lun, tier_pools, home_pool);
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
        auto created = PlacementMap::create(std::move(*map_io), *lun, others);
        if (created) {
            map.emplace(std::move(*created));
        } else if (created.status().code() == -EEXIST) {  // another gateway, just now
            auto again = IoContext::open(cluster, home_pool, ns);
            if (!again) return again.status();
            auto opened = PlacementMap::open(std::move(*again), *lun);
            if (!opened) return opened.status().with_context("open tiered LUN " + spec);
            map.emplace(std::move(*opened));
        } else {
            return created.status().with_context("open tiered LUN " + spec);
        }
    } else {
        auto opened = PlacementMap::open(std::move(*map_io), *lun);
        if (!opened) return opened.status().with_context("open tiered LUN " + spec);
        map.emplace(std::move(*opened));
    }

    // Every pool the map points at must be one of this LUN's tiers now, with its image.
    std::set<std::string> used;
    for (const auto& [extent, entry] : map->entries()) used.insert(entry.pool);
    for (const auto& [extent, pool] : map->intents()) used.insert(pool);
    for (const auto& pool : used) {
        if (pool != home_pool && !listed(others, pool)) {
            return Status::error(-EINVAL, spec + ": its placement map has data in pool " + pool +
                                              ", which tiers= does not list (add it back)");
        }
    }
    if (Status s = map->add_tiers(others); !s) return s.with_context("open tiered LUN " + spec);
    auto images = TierImages::open(
        cluster, home_pool, ns, image, tier_pools,
        [&](const std::string& pool) { return used.count(pool) == 0; }, home);
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
