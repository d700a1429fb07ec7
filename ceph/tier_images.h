// TierImages: the RBD images that together hold one tiered LUN.
//
// Index 0 is the home image (`pool[/ns]/image`, the name the user gave); then one tier image per
// other pool the LUN may use, named from the LUN's identity (LunIdentity::tier_image_name) in
// that pool, of the same size and object size as the home image, and tagged with the LUN's key
// (image metadata kTierImageTag). open() creates missing tier images when asked and tags them;
// it refuses a tier image tagged for another LUN. resize() keeps them all at the LUN's size.
// Every byte of the LUN is in exactly one of them, as the PlacementMap says; `rbd du` and
// `rbd ls` see the data where it is. The Cluster must outlive the TierImages. Up to 255 images
// (ExtentGate's tier index). Not thread-safe for open/take_over/resize (control path).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

class TierImages {
public:
    // tier_pools: every pool the LUN may use, in any order; the home pool may be among them.
    // `home`, if given, is the already open home image (it must outlive the TierImages): one
    // client must not open an image twice, or its two handles fight over the exclusive lock.
    // A tier image is created (and tagged) only where create_missing says so.
    static Result<TierImages> open(const Cluster& cluster, const std::string& home_pool,
                                   const std::string& ns, const std::string& image,
                                   const std::vector<std::string>& tier_pools,
                                   const std::function<bool(const std::string&)>& create_missing,
                                   Image* home = nullptr);

    // The pools among `pools` (the home pool excepted) that hold an image named for `lun`.
    static Result<std::vector<std::string>> present(const Cluster& cluster, const LunIdentity& lun,
                                                    const std::vector<std::string>& pools,
                                                    const std::string& home_pool);

    const LunIdentity& lun() const { return lun_; }
    const std::string& home_name() const { return home_name_; }
    // The LUN's name in logs: its home image's "pool[/ns]/image".
    const std::string& lun_name() const { return tiers_[0].image->spec(); }
    std::size_t count() const { return tiers_.size(); }
    Image& image(std::size_t index) { return *tiers_[index].image; }
    const std::string& pool(std::size_t index) const { return tiers_[index].pool; }
    const IoContext& io(std::size_t index) const { return tiers_[index].io; }
    std::optional<std::size_t> index_of(const std::string& pool) const;
    std::uint64_t object_size() const { return object_size_; }

    // Takes the exclusive lock of every image, breaking (and so blocklisting) a previous
    // owner's: what a gateway does when it takes a LUN over, after a failover or a crash.
    Status take_over();

    // Resizes every tier image to `bytes` (the home image too).
    Status resize(std::uint64_t bytes);

    // Removes the tier images of `lun` from `tier_pools` (explicit admin action only).
    static Status remove(const Cluster& cluster, const LunIdentity& lun,
                         const std::vector<std::string>& tier_pools, const std::string& home_pool);

private:
    struct Tier {
        std::string pool;
        IoContext io;
        std::unique_ptr<Image> owned;  // null for a home image opened by the caller
        Image* image = nullptr;        // stable across moves of the TierImages
    };
    TierImages(std::vector<Tier> tiers, std::uint64_t object_size, LunIdentity lun,
               std::string home_name)
        : tiers_(std::move(tiers)),
          object_size_(object_size),
          lun_(std::move(lun)),
          home_name_(std::move(home_name)) {}

    std::vector<Tier> tiers_;
    std::uint64_t object_size_ = 0;
    LunIdentity lun_;
    std::string home_name_;
};

}  // namespace rbdtier::ceph
