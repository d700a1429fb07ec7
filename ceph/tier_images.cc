#include "ceph/tier_images.h"

#include <cerrno>

namespace rbdtier::ceph {

namespace {

// Uses a tier image only if it is tagged for `lun`; tags an untagged one (made by this
// code, which tags right after creating: a crash in between leaves it untagged).
Status check_tag(Image& tier, const LunIdentity& lun, const std::string& home_spec) {
    auto tag = tier.metadata_get(kTierImageTag);
    if (!tag) return tag.status();
    if (!tag->has_value()) return tier.metadata_set(kTierImageTag, lun.key());
    if (**tag != lun.key()) {
        return Status::error(-EPERM, "tier image " + tier.spec() + " is tagged for LUN " + **tag +
                                         ", not for " + home_spec + " (" + lun.key() +
                                         "): refusing to use it");
    }
    return Status::ok();
}

}  // namespace

Result<TierImages> TierImages::open(const Cluster& cluster, const std::string& home_pool,
                                    const std::string& ns, const std::string& image,
                                    const std::vector<std::string>& tier_pools,
                                    const std::function<bool(const std::string&)>& create_missing,
                                    Image* home) {
    std::vector<Tier> tiers;
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    Tier first{home_pool, std::move(*home_io), nullptr, home};
    if (home == nullptr) {
        auto opened = Image::open(first.io, image);
        if (!opened) return opened.status();
        first.owned = std::make_unique<Image>(std::move(*opened));
        first.image = first.owned.get();
    }
    auto info = first.image->stat();
    if (!info) return info.status();
    auto lun = LunIdentity::of(first.io, *first.image);
    if (!lun) return lun.status();
    const std::string home_spec = first.image->spec();
    tiers.push_back(std::move(first));

    const std::string name = lun->tier_image_name();
    for (const auto& pool : tier_pools) {
        if (pool == home_pool) continue;
        bool seen = false;
        for (const auto& t : tiers) seen = seen || t.pool == pool;
        if (seen) continue;
        if (tiers.size() == 255) return Status::error(-E2BIG, "tiers of " + image + ": too many");
        auto io = IoContext::open(cluster, pool);
        if (!io) return io.status().with_context("open tier " + pool + " of " + home_spec);
        auto tier = Image::open(*io, name);
        if (!tier && tier.status().code() == -ENOENT && create_missing && create_missing(pool)) {
            ImageCreateOptions options;
            options.order = info->order;
            if (Status s = create_image(*io, name, info->size, options);
                !s && s.code() != -EEXIST) {
                return s.with_context("create tier image of " + home_spec);
            }
            tier = Image::open(*io, name);
        }
        if (!tier) return tier.status().with_context("open tier " + pool + " of " + home_spec);
        if (Status s = check_tag(*tier, *lun, home_spec); !s) return s;
        auto tier_info = tier->stat();
        if (!tier_info) return tier_info.status();
        if (tier_info->object_size != info->object_size) {
            return Status::error(-EINVAL, "tier image " + tier->spec() +
                                              " has another object size than " + home_spec);
        }
        if (tier_info->size < info->size) {
            if (Status s = tier->resize(info->size); !s) return s;
        }
        auto owned = std::make_unique<Image>(std::move(*tier));
        Image* raw = owned.get();
        tiers.push_back(Tier{pool, std::move(*io), std::move(owned), raw});
    }
    return TierImages(std::move(tiers), info->object_size, std::move(*lun), image);
}

Result<std::vector<std::string>> TierImages::present(const Cluster& cluster, const LunIdentity& lun,
                                                     const std::vector<std::string>& pools,
                                                     const std::string& home_pool) {
    std::vector<std::string> found;
    const std::string name = lun.tier_image_name();
    for (const auto& pool : pools) {
        if (pool == home_pool) continue;
        auto io = IoContext::open(cluster, pool);
        if (!io) return io.status();
        auto tier = Image::open(*io, name);
        if (tier) {
            found.push_back(pool);
        } else if (tier.status().code() != -ENOENT) {
            return tier.status();
        }
    }
    return found;
}

std::optional<std::size_t> TierImages::index_of(const std::string& pool) const {
    for (std::size_t i = 0; i < tiers_.size(); ++i) {
        if (tiers_[i].pool == pool) return i;
    }
    return {};
}

Status TierImages::take_over() {
    for (auto& t : tiers_) {
        Image& image = *t.image;
        auto mine = image.is_exclusive_lock_owner();
        if (!mine) return mine.status();
        if (*mine) continue;
        auto owner = image.lock_owner();
        if (!owner) return owner.status();
        if (!owner->owner.empty()) {
            if (Status s = image.lock_break(owner->mode, owner->owner); !s && s.code() != -ENOENT) {
                return s;
            }
        }
        if (Status s = image.lock_acquire(RBD_LOCK_MODE_EXCLUSIVE); !s) return s;
    }
    return Status::ok();
}

Status TierImages::resize(std::uint64_t bytes) {
    for (auto& t : tiers_) {
        auto size = t.image->size();
        if (!size) return size.status();
        if (*size != bytes) {
            if (Status s = t.image->resize(bytes); !s) return s;
        }
    }
    return Status::ok();
}

Status TierImages::remove(const Cluster& cluster, const LunIdentity& lun,
                          const std::vector<std::string>& tier_pools,
                          const std::string& home_pool) {
    for (const auto& pool : tier_pools) {
        if (pool == home_pool) continue;
        auto io = IoContext::open(cluster, pool);
        if (!io) return io.status();
        if (Status s = remove_image(*io, lun.tier_image_name()); !s && s.code() != -ENOENT) {
            return s;
        }
    }
    return Status::ok();
}

}  // namespace rbdtier::ceph
