// Cluster: one connected librados client (rados_t), owned.
//
// connect() creates the handle with the client id (empty = "admin"), reads the conf file (an
// explicit path must be readable; no path = Ceph's default search, whose absence is not an
// error), applies CEPH_ARGS from the environment, then the given options (e.g.
// rados_osd_op_timeout, rbd_cache), and connects. The destructor shuts the client down; every
// IoContext and Image made from it must be destroyed first. Move-only. Thread-safe as librados is.
#pragma once

#include <rados/librados.h>

#include <string>
#include <utility>
#include <vector>

#include "ceph/status.h"

namespace rbdtier::ceph {

struct ClusterOptions {
    std::string id;         // client id without "client.", empty = default
    std::string conf_path;  // empty = default search path
    std::vector<std::pair<std::string, std::string>> conf;  // applied in order before connect
};

class Cluster {
public:
    static Result<Cluster> connect(const ClusterOptions& options);

    Cluster(Cluster&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Cluster& operator=(Cluster&& other) noexcept;
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;
    ~Cluster();

    rados_t handle() const { return handle_; }

    // Current value of a config option ("" if unknown).
    Result<std::string> conf_get(const std::string& option) const;
    // This client's address(es), as the lock owner/blocklist see them.
    Result<std::string> addresses() const;

private:
    explicit Cluster(rados_t handle) : handle_(handle) {}
    rados_t handle_ = nullptr;
};

}  // namespace rbdtier::ceph
