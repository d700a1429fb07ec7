// IoContext: an open rados_ioctx_t on one pool, owned.
//
// open() looks the pool up by name ("open pool hdd-a: No such file or directory" if absent).
// The Cluster it came from must outlive it. Move-only. Later: omap and guarded operations on
// the placement-map object are added here.
#pragma once

#include <rados/librados.h>

#include <string>
#include <utility>

#include "ceph/cluster.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

class IoContext {
public:
    static Result<IoContext> open(const Cluster& cluster, const std::string& pool);

    IoContext(IoContext&& other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), pool_(std::move(other.pool_)) {}
    IoContext& operator=(IoContext&& other) noexcept;
    IoContext(const IoContext&) = delete;
    IoContext& operator=(const IoContext&) = delete;
    ~IoContext();

    rados_ioctx_t handle() const { return handle_; }
    const std::string& pool() const { return pool_; }

private:
    IoContext(rados_ioctx_t handle, std::string pool) : handle_(handle), pool_(std::move(pool)) {}
    rados_ioctx_t handle_ = nullptr;
    std::string pool_;
};

}  // namespace rbdtier::ceph
