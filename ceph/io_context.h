// IoContext: an open rados_ioctx_t on one pool (and RADOS namespace), owned.
//
// open() looks the pool up by name ("open pool hdd-a: No such file or directory" if absent) and
// sets the namespace (RBD namespaces are RADOS namespaces; "" is the default one). The Cluster
// it came from must outlive it. Move-only; not for concurrent use of its last-version slot.
#pragma once

#include <rados/librados.h>

#include <cstdint>
#include <string>
#include <utility>

#include "ceph/cluster.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

class IoContext {
public:
    static Result<IoContext> open(const Cluster& cluster, const std::string& pool,
                                  const std::string& ns = {});
    // Another context on the same pool and namespace of the same cluster connection, with a
    // last-version slot of its own (for a reader that runs beside this context's writers).
    Result<IoContext> duplicate() const;

    IoContext(IoContext&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)),
          pool_(std::move(other.pool_)),
          ns_(std::move(other.ns_)) {}
    IoContext& operator=(IoContext&& other) noexcept;
    IoContext(const IoContext&) = delete;
    IoContext& operator=(const IoContext&) = delete;
    ~IoContext();

    rados_ioctx_t handle() const { return handle_; }
    const std::string& pool() const { return pool_; }
    const std::string& ns() const { return ns_; }
    std::int64_t pool_id() const { return rados_ioctx_get_id(handle_); }
    // "pool" or "pool/ns", for messages and specs.
    std::string where() const { return ns_.empty() ? pool_ : pool_ + "/" + ns_; }

private:
    IoContext(rados_ioctx_t handle, std::string pool, std::string ns)
        : handle_(handle), pool_(std::move(pool)), ns_(std::move(ns)) {}
    rados_ioctx_t handle_ = nullptr;
    std::string pool_;
    std::string ns_;
};

}  // namespace rbdtier::ceph
