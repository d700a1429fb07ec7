// Image: an open RBD image (rbd_image_t), owned; plus create/remove helpers on an IoContext.
//
// open() opens "pool/image" (or "pool/image@snap", read-only); open_read_only() opens the writable
// head read-only: no exclusive lock, no watch on the header (so it does not count among the
// image's watchers, the gateways serving it). The IoContext (and its Cluster)
// must outlive the Image. The destructor closes the image, waiting for in-flight aio; call
// close() to see the error instead. Metadata, size and lock calls are synchronous (control
// path); the data path uses handle() with rbd_aio_* directly. Move-only.
//
// An open, even one that fails because the image is missing, builds a librbd image context (a
// copy of the client's configuration among it: thousands of allocations, a few hundred KiB),
// so control paths that only ask whether an image is there, or how big it is, read its header
// (read_image_header) instead; opens_attempted() counts the opens this process asked for.
#pragma once

#include <rbd/librbd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

struct ImageInfo {
    std::uint64_t size = 0;         // bytes
    std::uint64_t object_size = 0;  // bytes (the extent size)
    std::uint64_t num_objects = 0;
    int order = 0;
};

struct LockOwner {
    rbd_lock_mode_t mode = RBD_LOCK_MODE_EXCLUSIVE;
    std::string owner;  // empty when nobody holds the lock
};

class Image {
public:
    // snapshot empty = the writable head.
    static Result<Image> open(const IoContext& io, const std::string& name,
                              const std::string& snapshot = {});
    static Result<Image> open_read_only(const IoContext& io, const std::string& name);
    // The opens (open, open_read_only) this process has asked librbd for, failed ones too.
    // Any thread.
    static std::uint64_t opens_attempted();

    Image(Image&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), spec_(std::move(other.spec_)) {}
    Image& operator=(Image&& other) noexcept;
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;
    ~Image();

    rbd_image_t handle() const { return handle_; }
    const std::string& spec() const { return spec_; }  // "pool[/ns]/image[@snap]"

    Status close();
    Result<std::uint64_t> size() const;
    Result<ImageInfo> stat() const;
    Result<std::uint64_t> features() const;
    Result<std::string> id() const;  // the RBD image id: stable across renames
    Status resize(std::uint64_t bytes);

    // Image metadata (rbd image-meta): std::nullopt when the key is absent.
    Result<std::optional<std::string>> metadata_get(const std::string& key) const;
    Status metadata_set(const std::string& key, const std::string& value);
    Status metadata_remove(const std::string& key);  // an absent key is no error

    // Exclusive lock (ALUA failover).
    Result<bool> is_exclusive_lock_owner() const;
    Status lock_acquire(rbd_lock_mode_t mode = RBD_LOCK_MODE_EXCLUSIVE);
    Status lock_release();
    Result<LockOwner> lock_owner() const;  // the first owner, if any
    Status lock_break(rbd_lock_mode_t mode, const std::string& owner);
    // Clients watching the image's header: one per client that has the image open (each gateway
    // serving it), however many watches that client holds on the header.
    Result<std::size_t> watcher_count() const;

private:
    Image(rbd_image_t handle, std::string spec) : handle_(handle), spec_(std::move(spec)) {}
    rbd_image_t handle_ = nullptr;
    std::string spec_;
};

struct ImageCreateOptions {
    int order = 22;                         // 4 MiB objects
    std::optional<std::uint64_t> features;  // default: the cluster's default features
    // The pool of the image's data objects (`rbd create --data-pool`); empty: the image's own
    // pool, which holds its header either way.
    std::string data_pool;
};

// The pool holding the data objects of `image`, opened through a context of `cluster`: its own
// pool (its header's) unless it was created with a data pool. From the client's OSD map (no
// round trip).
Result<std::string> data_pool_of(const Cluster& cluster, const Image& image);

Status create_image(const IoContext& io, const std::string& name, std::uint64_t size,
                    const ImageCreateOptions& options = {});
Status remove_image(const IoContext& io, const std::string& name);

// What a format-2 image's header object holds, read without opening the image.
struct ImageHeader {
    std::uint64_t size = 0;               // bytes, of the writable head
    std::uint64_t object_size = 0;        // bytes
    std::optional<std::string> metadata;  // the image metadata value asked for; none when unset
};

// Reads image `name`'s size, object size and its image metadata `metadata_key` through the RBD
// object class (the calls librbd's open makes: the image id from rbd_id.<name>, then size and
// metadata from rbd_header.<id>), without opening it: no image context, watch or lock, so it
// costs the gateway next to nothing. std::nullopt when no image of that name is there; an
// -EOPNOTSUPP error saying so when a format-1 image is (its header object NAME.rbd: one more
// round trip, taken only when there is no format-2 image). Synchronous (control path).
Result<std::optional<ImageHeader>> read_image_header(const IoContext& io, const std::string& name,
                                                     const std::string& metadata_key);

}  // namespace rbdtier::ceph
