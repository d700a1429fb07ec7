#include "ceph/tier_images.h"

#include <cerrno>
#include <optional>

namespace rbdtier::ceph {

namespace {

// Refuses a tier image tagged for another LUN, or of another object size than the home image.
// `tag` is the image's kTierImageTag, if any; `tier_spec` its "pool[/ns]/image".
Status check_belongs(const std::string& tier_spec, const std::optional<std::string>& tag,
                     std::uint64_t tier_object_size, const LunIdentity& lun,
                     std::uint64_t object_size, const std::string& home_spec) {
    if (tag && *tag != lun.key()) {
        return Status::error(-EPERM, "tier image " + tier_spec + " is tagged for LUN " + *tag +
                                         ", not for " + home_spec + " (" + lun.key() +
                                         "): refusing to use it");
    }
    if (tier_object_size != object_size) {
        return Status::error(
            -EINVAL, "tier image " + tier_spec + " has another object size than " + home_spec);
    }
    return Status::ok();
}

// Whether a tier image is known to be missing (its header read found none) before open_tier().
enum class TierImageSeen { unknown, missing };

// Opens the LUN's tier image `name` in `io` for writing, creating it first (of `home`'s size and
// order) when it is missing and `create` says so; uses it only if it is tagged for `lun` (tags
// an untagged one: made by this code, which tags right after creating, so a crash in between
// leaves it untagged) and has the home image's object size; grows it to the home image's size.
// One known missing is not opened before it is created (an open that fails costs as much as one
// that succeeds, ceph/image.h).
Result<Image> open_tier(const IoContext& io, const std::string& name, const LunIdentity& lun,
                        const ImageInfo& home, const std::string& home_spec, bool create,
                        TierImageSeen seen = TierImageSeen::unknown) {
    Result<Image> tier =
        seen == TierImageSeen::missing
            ? Result<Image>(Status::error(-ENOENT, "open image " + io.where() + "/" + name))
            : Image::open(io, name);
    if (!tier && tier.status().code() == -ENOENT && create) {
        ImageCreateOptions options;
        options.order = home.order;
        if (Status s = create_image(io, name, home.size, options); !s && s.code() != -EEXIST) {
            return s.with_context("create tier image of " + home_spec);
        }
        tier = Image::open(io, name);
    }
    if (!tier) return tier.status();
    auto tag = tier->metadata_get(kTierImageTag);
    if (!tag) return tag.status();
    auto info = tier->stat();
    if (!info) return info.status();
    if (Status s =
            check_belongs(tier->spec(), *tag, info->object_size, lun, home.object_size, home_spec);
        !s)
        return s;
    if (!tag->has_value()) {
        if (Status s = tier->metadata_set(kTierImageTag, lun.key()); !s) return s;
    }
    if (info->size < home.size) {
        if (Status s = tier->resize(home.size); !s) return s;
    }
    return std::move(*tier);
}

// Checks the LUN's tier image `name` in `io` as open_tier() does and leaves it closed. Its
// header, read without opening the image (read_image_header) through `header_io` (the same pool
// through another client, or `io` itself), answers when the image is there, tagged and big
// enough; otherwise open_tier() makes it so through `header_io` when that client answered (so
// the LUN's own client opens no session to the tier's OSDs before it uses the tier), else, or
// when that fails, through `io`.
Status check_tier(const IoContext& io, const IoContext& header_io, const std::string& name,
                  const LunIdentity& lun, const ImageInfo& home, const std::string& home_spec,
                  bool create) {
    auto seen = read_image_header(header_io, name, kTierImageTag);
    if (seen && *seen) {
        const ImageHeader& header = **seen;
        if (Status s = check_belongs(io.where() + "/" + name, header.metadata, header.object_size,
                                     lun, home.object_size, home_spec);
            !s)
            return s;
        if (header.metadata && header.size >= home.size) return Status::ok();
    } else if (!seen && &header_io == &io) {
        return seen.status();
    }
    const TierImageSeen known = seen && !*seen ? TierImageSeen::missing : TierImageSeen::unknown;
    if (seen && &header_io != &io) {
        auto made = open_tier(header_io, name, lun, home, home_spec, create, known);
        if (made && made->close()) return Status::ok();
    }
    auto made = open_tier(io, name, lun, home, home_spec, create, known);
    if (!made) return made.status();
    return made->close();
}

}  // namespace

Result<TierImages> TierImages::open(const Cluster& cluster, const std::string& home_pool,
                                    const std::string& ns, const std::string& image,
                                    const std::vector<std::string>& tier_pools,
                                    const std::function<bool(const std::string&)>& create_missing,
                                    Image* home,
                                    const std::function<bool(const std::string&)>& open_now,
                                    const Cluster* header_reader) {
    std::vector<std::unique_ptr<Tier>> tiers;
    auto home_io = IoContext::open(cluster, home_pool, ns);
    if (!home_io) return home_io.status();
    std::unique_ptr<Image> owned_home;
    if (home == nullptr) {
        auto opened = Image::open(*home_io, image);
        if (!opened) return opened.status();
        owned_home = std::make_unique<Image>(std::move(*opened));
        home = owned_home.get();
    }
    auto info = home->stat();
    if (!info) return info.status();
    auto lun = LunIdentity::of(*home_io, *home);
    if (!lun) return lun.status();
    auto data_pool = data_pool_of(cluster, *home);
    if (!data_pool) return data_pool.status();
    const std::string home_spec = home->spec();
    // A home image the caller opened is served through the caller's context: none kept here.
    auto first = std::make_unique<Tier>(
        home_pool, owned_home ? std::optional<IoContext>(std::move(*home_io)) : std::nullopt);
    first->owned = std::move(owned_home);
    first->image.store(home, std::memory_order_release);
    tiers.push_back(std::move(first));

    const std::string name = lun->tier_image_name();
    for (const auto& pool : tier_pools) {
        if (pool == home_pool) continue;
        bool seen = false;
        for (const auto& t : tiers) seen = seen || t->pool == pool;
        if (seen) continue;
        if (tiers.size() == 255) return Status::error(-E2BIG, "tiers of " + image + ": too many");
        auto io = IoContext::open(cluster, pool);
        if (!io) return io.status().with_context("open tier " + pool + " of " + home_spec);
        auto tier = std::make_unique<Tier>(pool, std::move(*io));
        tier->creatable = create_missing && create_missing(pool);
        if (!open_now || open_now(pool)) {
            auto opened = open_tier(*tier->io, name, *lun, *info, home_spec, tier->creatable);
            if (!opened)
                return opened.status().with_context("open tier " + pool + " of " + home_spec);
            tier->owned = std::make_unique<Image>(std::move(*opened));
            tier->image.store(tier->owned.get(), std::memory_order_release);
        } else {
            std::optional<IoContext> reader;
            if (header_reader != nullptr) {
                auto io = IoContext::open(*header_reader, pool);
                if (io) reader.emplace(std::move(*io));
            }
            if (Status s = check_tier(*tier->io, reader ? *reader : *tier->io, name, *lun, *info,
                                      home_spec, tier->creatable);
                !s)
                return s.with_context("open tier " + pool + " of " + home_spec);
        }
        tiers.push_back(std::move(tier));
    }
    return TierImages(std::move(tiers), info->object_size, std::move(*lun), image,
                      std::move(*data_pool));
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
        // From its header, without opening it; a format-1 image of that name is there too.
        auto header = read_image_header(*io, name, kTierImageTag);
        if (header ? header->has_value() : header.status().code() == -EOPNOTSUPP) {
            found.push_back(pool);
        } else if (!header) {
            return header.status();
        }
    }
    return found;
}

std::optional<std::size_t> TierImages::index_of(const std::string& pool) const {
    for (std::size_t i = 0; i < tiers_.size(); ++i) {
        if (tiers_[i]->pool == pool) return i;
    }
    return {};
}

std::size_t TierImages::open_count() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < tiers_.size(); ++i) n += is_open(i) ? 1 : 0;
    return n;
}

Result<Image*> TierImages::image(std::size_t index) const {
    if (index >= tiers_.size()) {
        return Status::error(
            -EINVAL, "tier " + std::to_string(index) + " of " + lun_name() + ": no such tier");
    }
    if (Image* image = opened(index)) return image;
    return Status::error(-EIO, "tier image in " + tiers_[index]->pool + " of " + lun_name() +
                                   " used while it is not open");
}

Status TierImages::ensure_open(std::size_t index) {
    if (index >= tiers_.size()) {
        return Status::error(
            -EINVAL, "tier " + std::to_string(index) + " of " + lun_name() + ": no such tier");
    }
    if (is_open(index)) return Status::ok();
    std::lock_guard lock(control_->mutex);
    Tier& t = *tiers_[index];
    if (is_open(index)) return Status::ok();  // opened meanwhile
    Image& home = *opened(0);
    const std::string context = "open tier " + t.pool + " of " + home.spec();
    auto info = home.stat();
    if (!info) return info.status().with_context(context);
    auto opened = open_tier(*t.io, lun_.tier_image_name(), lun_, *info, home.spec(), t.creatable);
    if (!opened) return opened.status().with_context(context);
    if (control_->taken_over) {
        // This client took the LUN over: the image gets the lock the take-over gave the others,
        // as long as this client still owns the LUN (holds the home image's lock).
        auto owner = home.is_exclusive_lock_owner();
        if (!owner) return owner.status().with_context(context);
        if (*owner) {
            if (Status s = take_lock(*opened); !s) return s.with_context(context);
        }
    }
    t.owned = std::make_unique<Image>(std::move(*opened));
    t.image.store(t.owned.get(), std::memory_order_release);
    return Status::ok();
}

Status TierImages::take_lock(Image& image) {
    auto mine = image.is_exclusive_lock_owner();
    if (!mine) return mine.status();
    if (*mine) return Status::ok();
    auto owner = image.lock_owner();
    if (!owner) return owner.status();
    if (!owner->owner.empty()) {
        if (Status s = image.lock_break(owner->mode, owner->owner); !s && s.code() != -ENOENT) {
            return s;
        }
    }
    return image.lock_acquire(RBD_LOCK_MODE_EXCLUSIVE);
}

Status TierImages::take_over() {
    std::lock_guard lock(control_->mutex);
    for (std::size_t i = 0; i < tiers_.size(); ++i) {
        if (Image* image = opened(i)) {
            if (Status s = take_lock(*image); !s) return s;
        }
    }
    control_->taken_over = true;
    return Status::ok();
}

Status TierImages::resize(std::uint64_t bytes) {
    std::lock_guard lock(control_->mutex);
    for (std::size_t i = 0; i < tiers_.size(); ++i) {
        Image* image = opened(i);
        if (image == nullptr) continue;
        auto size = image->size();
        if (!size) return size.status();
        if (*size != bytes) {
            if (Status s = image->resize(bytes); !s) return s;
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

std::vector<std::string> TierImages::data_pools() const {
    std::vector<std::string> pools;
    pools.reserve(tiers_.size());
    for (std::size_t i = 0; i < tiers_.size(); ++i) pools.push_back(data_pool(i));
    return pools;
}

}  // namespace rbdtier::ceph
