// PlacementMap: the only truth about where each extent of a tiered LUN lives.
//
// Kept in RADOS as the omap of one object, `rbdtier_map.<image>`, in the home image's pool. One
// key per extent that is not at home: "%016x" of the extent index -> "pool=<pool> gen=<n>
// crc=<crc32c hex>" (readable with `rados listomapvals`). An absent key means the home tier.
// load() reads every entry; commit() changes one entry with a guarded write: it applies only if
// nobody changed the object since this map last read or wrote it (object version) and the
// extent's stored value is still the one this map holds; otherwise nothing changes and the
// caller must reload(). Every successful commit bumps the extent's generation and notifies
// watchers of the object. Thread-safe; commits are serialised.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

struct PlacementEntry {
    std::string pool;              // the tier's pool; the data is in that pool's tier image
    std::uint64_t generation = 0;  // bumped by every commit of this extent
    std::uint32_t crc = 0;         // crc32c of the extent's data as migrated

    bool operator==(const PlacementEntry&) const = default;
    std::string encode() const;
    static std::optional<PlacementEntry> decode(const std::string& text);
};

class PlacementMap {
public:
    static std::string object_name(const std::string& image) { return "rbdtier_map." + image; }

    // `io` must be a context of its own (the map uses its last-version slot); the map owns it.
    // Creates the (empty) map object if there is none, so that gateways can watch it.
    static Result<PlacementMap> load(IoContext io, const std::string& image);

    PlacementMap(PlacementMap&& other) noexcept;
    PlacementMap(const PlacementMap&) = delete;
    PlacementMap& operator=(const PlacementMap&) = delete;

    const std::string& image() const { return image_; }
    const std::string& home_pool() const { return io_.pool(); }
    std::optional<PlacementEntry> find(std::uint64_t extent) const;
    std::map<std::uint64_t, PlacementEntry> entries() const;

    // Sets the extent's entry (nullopt: back home, the key is removed), guarded as above.
    // The new entry's generation is the stored one + 1, whatever `next.generation` says.
    // -ECANCELED / -ERANGE / -EOVERFLOW: somebody else changed the map; reload().
    Status commit(std::uint64_t extent, std::optional<PlacementEntry> next);
    Status reload();

    // Deletes the map object (explicit admin action only).
    Status remove();

private:
    PlacementMap(IoContext io, std::string image) : io_(std::move(io)), image_(std::move(image)) {}
    Status read_all();  // with mutex_ held

    IoContext io_;
    std::string image_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, PlacementEntry> entries_;
    std::uint64_t version_ = 0;  // object version seen last; 0 = object absent
};

}  // namespace rbdtier::ceph
