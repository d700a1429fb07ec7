// TierImages: the RBD images that together hold one tiered LUN.
//
// Index 0 is the home image (`pool/image`, the name the user gave); then one tier image per
// other pool the LUN may use, named `<image>.rbdtier` in that pool, of the same size and object
// size as the home image. open() creates missing tier images when asked (first open of a LUN
// with tiering); resize() keeps them all at the LUN's size. Every byte of the LUN is in exactly
// one of them, as the PlacementMap says; `rbd du` and `rbd ls` see the data where it is.
// The Cluster must outlive the TierImages. Up to 255 images (ExtentGate's tier index).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

class TierImages {
public:
    static std::string tier_image_name(const std::string& image) { return image + ".rbdtier"; }

    // tier_pools: every pool the LUN may use, in any order; the home pool may be among them.
    // `home`, if given, is the already open home image (it must outlive the TierImages): one
    // client must not open an image twice, or its two handles fight over the exclusive lock.
    static Result<TierImages> open(const Cluster& cluster, const std::string& home_pool,
                                   const std::string& image,
                                   const std::vector<std::string>& tier_pools, bool create_missing,
                                   Image* home = nullptr);

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

    // Removes the tier images of `image` from `tier_pools` (explicit admin action only).
    static Status remove(const Cluster& cluster, const std::string& image,
                         const std::vector<std::string>& tier_pools, const std::string& home_pool);

private:
    struct Tier {
        std::string pool;
        IoContext io;
        std::unique_ptr<Image> owned;  // null for a home image opened by the caller
        Image* image = nullptr;        // stable across moves of the TierImages
    };
    explicit TierImages(std::vector<Tier> tiers, std::uint64_t object_size)
        : tiers_(std::move(tiers)), object_size_(object_size) {}

    std::vector<Tier> tiers_;
    std::uint64_t object_size_ = 0;
};

}  // namespace rbdtier::ceph
