// lun_export: writes the bytes of a tiered LUN, as an initiator sees them, to a file (host side of
// the end-to-end test; `rbd export` of the home image alone misses every extent that has moved).
//
// Contract: lun_export --conf CEPH_CONF --pool HOME_POOL --image IMAGE [--size BYTES]
//                      (--out FILE|- | --map-only)
//   Loads the LUN's placement map (`rbdtier_map.<image id>`, omap in HOME_POOL), opens the home
//   image read-only (no header watch: a gateway counts the image's watchers to tell whether
//   another gateway serves the LUN, and this tool must not look like one) and its tier images in
//   every pool the map names (never creates any), and writes the first BYTES (default: the home
//   image's size) of the LUN to FILE, each extent read with librbd from the image the map says
//   holds it. Then prints one summary line
//     "lun_export: extents=N away=A [<pool>=<count>...]"
//   and one line per extent away from home, "lun_export: away <extent> <pool> gen=<n>", on stdout
//   (on stderr when FILE is "-"). --map-only prints the same lines without reading any data (cheap
//   enough to watch the map while the LUN is in use). Exit status 0 on success; otherwise one
//   message on stderr, 1.
#include <rbd/librbd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/placement_map.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"

namespace rbdtier {
namespace {

struct ExportRequest {
    std::string conf;
    std::string pool;
    std::string image;
    std::uint64_t size = 0;  // 0 = the home image's size
    std::string out;
    bool map_only = false;
};

ceph::Status export_lun(const ExportRequest& request, std::ostream& summary) {
    auto cluster = ceph::Cluster::connect({.id = {}, .conf_path = request.conf, .conf = {}});
    if (!cluster) return cluster.status();
    auto home_io = ceph::IoContext::open(*cluster, request.pool);
    if (!home_io) return home_io.status();
    auto home = ceph::Image::open_read_only(*home_io, request.image);
    if (!home) return home.status();
    auto lun = ceph::LunIdentity::of(*home_io, *home);
    if (!lun) return lun.status();
    auto map_io = ceph::IoContext::open(*cluster, request.pool);
    if (!map_io) return map_io.status();
    auto map = ceph::PlacementMap::open(std::move(*map_io), *lun);
    if (!map) return map.status().with_context("load placement map of " + request.image);
    const auto entries = map->entries();

    std::vector<std::string> pools;
    for (const auto& [extent, entry] : entries) pools.push_back(entry.pool);
    auto images =
        ceph::TierImages::open(*cluster, request.pool, "", request.image, pools, {}, &*home);
    if (!images) return images.status();

    auto home_size = images->opened(0)->size();
    if (!home_size) return home_size.status();
    const std::uint64_t size = request.size == 0 ? *home_size : request.size;
    if (size > *home_size) {
        return ceph::Status::error(-EINVAL, "--size " + std::to_string(size) +
                                                " is beyond the image's " +
                                                std::to_string(*home_size) + " bytes");
    }

    std::FILE* out = nullptr;
    if (!request.map_only) {
        out = request.out == "-" ? stdout : std::fopen(request.out.c_str(), "wb");
        if (out == nullptr) return ceph::Status::error(-errno, "open " + request.out);
    }
    struct Closer {
        std::FILE* file;
        ~Closer() {
            if (file != nullptr && file != stdout) std::fclose(file);
        }
    } closer{out};

    const std::uint64_t extent_bytes = images->object_size();
    std::vector<char> buffer(extent_bytes);
    std::uint64_t extents = 0;
    std::map<std::string, std::uint64_t> away_per_pool;
    for (std::uint64_t offset = 0; offset < size; offset += extent_bytes, ++extents) {
        const std::uint64_t extent = offset / extent_bytes;
        const std::uint64_t length = std::min(extent_bytes, size - offset);
        std::size_t tier = 0;
        if (auto entry = map->find(extent)) {
            auto index = images->index_of(entry->pool);
            if (!index) {
                return ceph::Status::error(-EINVAL, "extent " + std::to_string(extent) +
                                                        " is in pool " + entry->pool +
                                                        ", which has no tier image");
            }
            tier = *index;
            if (tier != 0) ++away_per_pool[entry->pool];
        }
        if (request.map_only) continue;
        auto image = images->image(tier);
        if (!image) return image.status();
        const ssize_t got = rbd_read((*image)->handle(), offset, length, buffer.data());
        const std::string what =
            "read extent " + std::to_string(extent) + " from " + (*image)->spec();
        if (got < 0) return ceph::Status::error(static_cast<int>(got), what);
        if (static_cast<std::uint64_t>(got) != length) {
            return ceph::Status::error(-EIO, what + ": short read");
        }
        if (std::fwrite(buffer.data(), 1, length, out) != length) {
            return ceph::Status::error(-EIO, "write " + request.out);
        }
    }
    if (out != nullptr && std::fflush(out) != 0)
        return ceph::Status::error(-EIO, "write " + request.out);

    std::uint64_t away = 0;
    for (const auto& [pool, count] : away_per_pool) away += count;
    summary << "lun_export: extents=" << extents << " away=" << away;
    for (const auto& [pool, count] : away_per_pool) summary << ' ' << pool << '=' << count;
    summary << '\n';
    for (const auto& [extent, entry] : entries) {
        if (entry.pool == request.pool) continue;
        summary << "lun_export: away " << extent << ' ' << entry.pool << " gen=" << entry.generation
                << '\n';
    }
    return ceph::Status::ok();
}

}  // namespace
}  // namespace rbdtier

int main(int argc, char** argv) {
    rbdtier::ExportRequest request;
    CLI::App app{"Write a tiered LUN's bytes, each extent from the tier image holding it"};
    app.add_option("--conf", request.conf, "ceph.conf of the cluster")->required();
    app.add_option("--pool", request.pool, "the LUN's home pool")->required();
    app.add_option("--image", request.image, "the LUN's home image")->required();
    app.add_option("--size", request.size, "bytes to export (default: the image's size)");
    auto* out = app.add_option("--out", request.out, "output file, - for stdout");
    auto* map_only = app.add_flag("--map-only", request.map_only, "print the placement only");
    out->excludes(map_only);
    CLI11_PARSE(app, argc, argv);
    if (request.out.empty() && !request.map_only) {
        std::cerr << "lun_export: give --out FILE (or - for stdout) or --map-only\n";
        return 2;
    }

    std::ostream& summary = request.out == "-" ? std::cerr : std::cout;
    if (rbdtier::ceph::Status s = rbdtier::export_lun(request, summary); !s) {
        std::cerr << "lun_export: " << s.message() << '\n';
        return 1;
    }
    return 0;
}
