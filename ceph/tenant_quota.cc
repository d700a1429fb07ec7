#include "ceph/tenant_quota.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "ceph/io_context.h"
#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"
#include "ceph/tenant_store.h"
#include "ceph/tier_images.h"

namespace rbdtier::ceph {
namespace {

// An RBD image opened read-only (no exclusive lock), closed on scope exit.
class ReadOnlyImage {
public:
    ReadOnlyImage() = default;
    ReadOnlyImage(const ReadOnlyImage&) = delete;
    ReadOnlyImage& operator=(const ReadOnlyImage&) = delete;
    ~ReadOnlyImage() {
        if (image_ != nullptr) rbd_close(image_);
    }
    int open(rados_ioctx_t io, const std::string& name) {
        return rbd_open_read_only(io, name.c_str(), &image_, nullptr);
    }
    rbd_image_t get() const { return image_; }

private:
    rbd_image_t image_ = nullptr;
};

// All entries of the registry whose key starts with `prefix`.
Status read_registry(const IoContext& io, const std::string& prefix,
                     std::map<std::string, std::string>& entries) {
    auto snap = read_omap_snapshot(io, TenantQuota::kRegistryObject, "tenant LUNs", prefix);
    if (!snap) return snap.status();
    entries = std::move(snap->entries);
    return Status::ok();
}

// The cluster's id (to keep the measurements of two clusters apart); "" if it cannot be read.
std::string cluster_fsid(const Cluster& cluster) {
    char fsid[64] = {};
    if (rados_cluster_fsid(cluster.handle(), fsid, sizeof fsid - 1) < 0) return "";
    return fsid;
}

std::string lun_suffix(const TenantLunRef& lun) {
    return tenant_registry_suffix(lun.home_pool, lun.image);
}

}  // namespace

Result<std::uint64_t> allocated_bytes(const Cluster& cluster, const std::string& pool,
                                      const std::string& image) {
    auto io = IoContext::open(cluster, pool);
    if (!io) return io.status();
    ReadOnlyImage img;
    if (int rc = img.open(io->handle(), image); rc < 0) {
        return Status::error(rc, "open " + pool + "/" + image + " read-only");
    }
    std::uint64_t size = 0;
    if (int rc = rbd_get_size(img.get(), &size); rc < 0) {
        return Status::error(rc, "size of " + pool + "/" + image);
    }
    std::uint64_t bytes = 0;
    auto count = [](std::uint64_t, std::size_t len, int exists, void* arg) -> int {
        if (exists) *static_cast<std::uint64_t*>(arg) += len;
        return 0;
    };
    if (int rc = rbd_diff_iterate2(img.get(), nullptr, 0, size, 0, 1, count, &bytes); rc < 0) {
        return Status::error(rc, "allocation of " + pool + "/" + image);
    }
    return bytes;
}

Result<std::uint64_t> AllocationCache::allocated(const std::string& fsid, const std::string& pool,
                                                 const std::string& image, const Measure& measure) {
    const auto key = std::make_tuple(fsid, pool, image);
    if (const auto bytes = entries_.find(key, std::chrono::steady_clock::now())) return *bytes;
    auto bytes = measure();
    if (!bytes) return bytes;
    entries_.store(key, *bytes, std::chrono::steady_clock::now());
    return bytes;
}

std::size_t AllocationCache::size() const {
    return entries_.size();
}

std::shared_ptr<AllocationCache> AllocationCache::process() {
    static const auto cache = std::make_shared<AllocationCache>(kProcessMaxAge);
    return cache;
}

TenantQuota::TenantQuota(const Cluster& cluster, std::string tenant_pool, std::string tenant,
                         TenantLunRef self, std::shared_ptr<AllocationCache> allocations)
    : cluster_(cluster),
      tenant_pool_(std::move(tenant_pool)),
      tenant_(std::move(tenant)),
      self_(std::move(self)),
      allocations_(std::move(allocations)) {}

Status TenantQuota::register_self() {
    auto io = IoContext::open(cluster_, tenant_pool_);
    if (!io) return io.status();
    std::map<std::string, std::string> all;
    if (Status s = read_registry(*io, "", all); !s) return s;
    const std::string key = tenant_ + lun_suffix(self_);
    // This LUN under another tenant.
    std::vector<std::string> stale = tenant_registry_keys_of(all, lun_suffix(self_));
    std::erase(stale, key);
    const std::string value =
        nlohmann::json{{"tiers", self_.tiers}, {"tier_image", self_.tier_image}}.dump();
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "register LUN");
    std::vector<const char*> stale_keys;
    std::vector<size_t> stale_lens;
    for (const auto& k : stale) {
        stale_keys.push_back(k.c_str());
        stale_lens.push_back(k.size());
    }
    if (!stale.empty()) {
        rados_write_op_omap_rm_keys2(op.get(), stale_keys.data(), stale_lens.data(),
                                     stale_keys.size());
    }
    const char* keys[] = {key.c_str()};
    const char* vals[] = {value.data()};
    const size_t key_lens[] = {key.size()};
    const size_t val_lens[] = {value.size()};
    rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    const int rc = rados_write_op_operate2(op.get(), io->handle(), kRegistryObject, nullptr, 0);
    if (rc < 0) {
        return Status::error(rc, "register " + self_.home_pool + "/" + self_.image +
                                     " under tenant " + tenant_ + " in " + tenant_pool_ + "/" +
                                     kRegistryObject);
    }
    return Status::ok();
}

Status TenantQuota::unregister_self() {
    auto io = IoContext::open(cluster_, tenant_pool_);
    if (!io) return io.status();
    const std::string key = tenant_ + lun_suffix(self_);
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "unregister LUN");
    const char* keys[] = {key.c_str()};
    const size_t key_lens[] = {key.size()};
    rados_write_op_omap_rm_keys2(op.get(), keys, key_lens, 1);
    const int rc = rados_write_op_operate2(op.get(), io->handle(), kRegistryObject, nullptr, 0);
    if (rc < 0 && rc != -ENOENT) {
        return Status::error(
            rc, "unregister " + self_.home_pool + "/" + self_.image + " from tenant " + tenant_);
    }
    return Status::ok();
}

Result<std::vector<TenantLunRef>> TenantQuota::luns() const {
    auto io = IoContext::open(cluster_, tenant_pool_);
    if (!io) return io.status();
    std::map<std::string, std::string> entries;
    if (Status s = read_registry(*io, tenant_ + "/", entries); !s) return s;
    std::vector<TenantLunRef> out;
    for (const auto& [key, value] : entries) {
        // <tenant>/<home pool>/<image>: the image name holds no '/'.
        const auto last = key.rfind('/');
        const auto first = key.find('/');
        if (first == std::string::npos || last <= first) continue;
        TenantLunRef lun;
        lun.home_pool = key.substr(first + 1, last - first - 1);
        lun.image = key.substr(last + 1);
        const auto j = nlohmann::json::parse(value, nullptr, false);
        if (j.is_object() && j.contains("tiers") && j["tiers"].is_array()) {
            for (const auto& t : j["tiers"])
                if (t.is_string()) lun.tiers.push_back(t.get<std::string>());
        }
        if (j.is_object() && j.contains("tier_image") && j["tier_image"].is_string()) {
            lun.tier_image = j["tier_image"].get<std::string>();
        }
        out.push_back(std::move(lun));
    }
    return out;
}

Result<TenantRoom> TenantQuota::refresh() const {
    TenantRoom room;
    auto io = IoContext::open(cluster_, tenant_pool_);
    if (!io) return io.status();
    TenantStore store(*io);
    auto tenant = store.get(tenant_);
    if (!tenant) {
        if (tenant.status().code() == -ENOENT) return room;  // unknown tenant: no quota
        return tenant.status();
    }
    room.tenant_found = true;
    room.quota = tenant->quota_bytes;
    room.bandwidth_weight = tenant->bandwidth_weight;
    auto luns = this->luns();
    if (!luns) return luns.status();
    const std::string fsid = allocations_ ? cluster_fsid(cluster_) : std::string();
    for (const TenantLunRef& lun : *luns) {
        if (lun.home_pool == self_.home_pool && lun.image == self_.image) continue;
        if (lun.tier_image.empty()) continue;  // registered by a format-1 gateway: not used
        for (const std::string& pool : lun.tiers) {
            if (pool == lun.home_pool || room.quota.count(pool) == 0) continue;
            const auto measure = [&]() -> Result<std::uint64_t> {
                measurements_.fetch_add(1);
                return allocated_bytes(cluster_, pool, lun.tier_image);
            };
            auto bytes = allocations_ ? allocations_->allocated(fsid, pool, lun.tier_image, measure)
                                      : measure();
            if (!bytes) {
                if (bytes.status().code() == -ENOENT) continue;  // LUN removed since
                return bytes.status();
            }
            room.luns[lun.name()][pool] += *bytes;
        }
    }
    return room;
}

}  // namespace rbdtier::ceph
