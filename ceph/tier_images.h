// TierImages: the RBD images that together hold one tiered LUN.
//
// Index 0 is the home image (`pool[/ns]/image`, the name the user gave); then one tier image per
// other pool the LUN may use, named from the LUN's identity (LunIdentity::tier_image_name) in
// that pool, of the same size and object size as the home image, and tagged with the LUN's key
// (image metadata kTierImageTag). Every byte of the LUN is in exactly one of them, as the
// PlacementMap says; `rbd du` and `rbd ls` see the data where it is. The Cluster must outlive
// the TierImages. Up to 255 images (ExtentGate's tier index).
//
// Two pools per image. pool(i) is where image i is: its header, and for the home image its
// identity, placement map and settings too; the map names tiers by it. data_pool(i) is where the
// image's data lives, what the tier is as storage (its media, latency, fullness and quota): for
// a tier image its pool, for the home image the pool it was created with as data pool
// (`rbd create --data-pool`, e.g. an erasure-coded or HDD pool), its own pool otherwise. open()
// makes no tier image in the home pool; the home image's data pool is the home tier's too, and
// the caller leaves it out of tier_pools (TieredLunStore, which knows whether the map already
// has data in a tier image there).
//
// Opened on first need. open() checks every tier image (creating and tagging a missing one
// where create_missing says so; refusing one tagged for another LUN, or of another object
// size), so a LUN that cannot use its tiers fails at open, but keeps open only the home image
// and the tier images `open_now` names (the caller names those the placement map
// puts an extent or an intent in: they must be there before the LUN serves). The others are
// checked from their header objects without being opened (read_image_header; opened only to
// create, tag or grow one): a librbd image, even opened and closed again, costs a few hundred
// KiB of the gateway's memory, and an idle LUN with every extent at home never needs them.
// ensure_open(i) opens one (checking it again, growing it to the home image's size, re-creating it
// only where create_missing allowed) and must be called before anything routes an extent to it,
// writes to it or reads it (image(i) of a closed image is an error, never an open): the migrator
// before a migration to or from it and before cleaning or scrubbing it, whoever follows the map
// before rerouting an extent to it. It is a control-path call (it talks to the cluster); never call
// it from the I/O path, which routes only to tiers the gate names, and those are open.
//
// Exclusive lock. take_over() breaks a previous owner's lock (blocklisting it) and takes the
// lock of every tier image open now. A tier image opened after a take_over(),
// while this client still holds the home image's lock, gets the same treatment inside
// ensure_open() before it is published, so before anything writes to it: a previous owner's
// lock on it is broken and this client takes it. A tier image opened while this client does not
// hold the home image's lock (a follower's reload, or ownership since released) is opened
// without taking its lock, as librbd's cooperative lock would have it. So whoever writes to a
// tier image as the LUN's owner holds its lock, and commits are fenced by the map
// (ExtentMigrator).
//
// Threads: image(i), opened(i) and is_open(i) may be called from any thread (an image once
// published stays open until the TierImages goes); open, ensure_open, take_over and resize are
// control-path calls, serialized among themselves.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
    // A tier image is created (and tagged) only where create_missing says so. Every tier image
    // is checked; those `open_now` names (all when it is empty) stay open. The headers of the
    // others are read through `header_reader` when given: another client of the same cluster,
    // kept by the process (so `cluster` opens no session to those tiers' OSDs; it must outlive
    // the call); a tier its header does not show ready is made ready (created, tagged, grown)
    // through that client too, and through `cluster` as without it when that fails or when its
    // header read failed.
    static Result<TierImages> open(const Cluster& cluster, const std::string& home_pool,
                                   const std::string& ns, const std::string& image,
                                   const std::vector<std::string>& tier_pools,
                                   const std::function<bool(const std::string&)>& create_missing,
                                   Image* home = nullptr,
                                   const std::function<bool(const std::string&)>& open_now = {},
                                   const Cluster* header_reader = nullptr);

    // The pools among `pools` (the home pool excepted) that hold an image named for `lun`, as
    // their header objects say (no image is opened).
    static Result<std::vector<std::string>> present(const Cluster& cluster, const LunIdentity& lun,
                                                    const std::vector<std::string>& pools,
                                                    const std::string& home_pool);

    const LunIdentity& lun() const { return lun_; }
    const std::string& home_name() const { return home_name_; }
    // The LUN's name in logs: its home image's "pool[/ns]/image".
    const std::string& lun_name() const { return opened(0)->spec(); }
    std::size_t count() const { return tiers_.size(); }
    // The image at `index` if it is open; else an error naming it (-EIO; -EINVAL for no such
    // tier), for the caller to carry to its edge. It never opens one: ensure_open() does, and a
    // caller that may meet a closed image calls it first. Any thread.
    Result<Image*> image(std::size_t index) const;
    // The image at `index` if it is open, else null. Lock-free (the I/O path).
    Image* opened(std::size_t index) const {
        return tiers_[index]->image.load(std::memory_order_acquire);
    }
    bool is_open(std::size_t index) const { return opened(index) != nullptr; }
    std::size_t open_count() const;
    // Opens the image at `index` unless it is open (see the top of this file).
    Status ensure_open(std::size_t index);
    // Where image `index` is (see the top of this file); index_of() finds an image by it.
    const std::string& pool(std::size_t index) const { return tiers_[index]->pool; }
    std::optional<std::size_t> index_of(const std::string& pool) const;
    // Where the data of tier `index` lives (see the top of this file).
    const std::string& data_pool(std::size_t index) const {
        return index == 0 ? home_data_pool_ : tiers_[index]->pool;
    }
    // data_pool() of every tier, by index: the LUN's tiers as admins name them.
    std::vector<std::string> data_pools() const;
    std::uint64_t object_size() const { return object_size_; }

    // Takes the exclusive lock of every open image, breaking (and so blocklisting) a previous
    // owner's: what a gateway does when it takes a LUN over, after a failover or a crash. Tier
    // images opened later get the same while this client holds the home image's lock.
    Status take_over();

    // Resizes every open tier image to `bytes` (the home image too); the others are grown to
    // the home image's size when opened.
    Status resize(std::uint64_t bytes);

    // Removes the tier images of `lun` from `tier_pools` (explicit admin action only).
    static Status remove(const Cluster& cluster, const LunIdentity& lun,
                         const std::vector<std::string>& tier_pools, const std::string& home_pool);

private:
    struct Tier {
        Tier(std::string p, std::optional<IoContext> c) : pool(std::move(p)), io(std::move(c)) {}
        std::string pool;
        // The pool's context; none for a home image the caller opened (served through its own).
        std::optional<IoContext> io;
        bool creatable = false;              // create_missing allowed making it
        std::unique_ptr<Image> owned;        // null for a home image opened by the caller
        std::atomic<Image*> image{nullptr};  // published once open; stable until destruction
    };
    // What open/ensure_open/take_over/resize share, serialized by `mutex`.
    struct Control {
        std::mutex mutex;
        bool taken_over = false;  // take_over() succeeded once: later opens take their lock
    };
    TierImages(std::vector<std::unique_ptr<Tier>> tiers, std::uint64_t object_size, LunIdentity lun,
               std::string home_name, std::string home_data_pool)
        : tiers_(std::move(tiers)),
          control_(std::make_unique<Control>()),
          object_size_(object_size),
          lun_(std::move(lun)),
          home_name_(std::move(home_name)),
          home_data_pool_(std::move(home_data_pool)) {}
    // Takes the exclusive lock of `image`, breaking another owner's (with control_ held).
    static Status take_lock(Image& image);

    std::vector<std::unique_ptr<Tier>> tiers_;
    std::unique_ptr<Control> control_;
    std::uint64_t object_size_ = 0;
    LunIdentity lun_;
    std::string home_name_;
    std::string home_data_pool_;
};

}  // namespace rbdtier::ceph
