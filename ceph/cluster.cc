#include "ceph/cluster.h"

#include <array>
#include <cerrno>
#include <cstdlib>

namespace rbdtier::ceph {

namespace {

// Owns a rados_t until connect() has succeeded.
struct PendingHandle {
    rados_t handle = nullptr;
    ~PendingHandle() {
        if (handle != nullptr) rados_shutdown(handle);
    }
};

}  // namespace

Result<Cluster> Cluster::connect(const ClusterOptions& options) {
    PendingHandle pending;
    const char* id = options.id.empty() ? nullptr : options.id.c_str();
    int rc = rados_create(&pending.handle, id);
    if (rc < 0) {
        pending.handle = nullptr;
        return Status::error(rc, "create rados client" + (id ? " " + options.id : std::string()));
    }
    if (options.conf_path.empty()) {
        (void)rados_conf_read_file(pending.handle, nullptr);  // defaults are optional
    } else {
        rc = rados_conf_read_file(pending.handle, options.conf_path.c_str());
        if (rc < 0) return Status::error(rc, "read ceph config " + options.conf_path);
    }
    rc = rados_conf_parse_env(pending.handle, nullptr);
    if (rc < 0) return Status::error(rc, "parse CEPH_ARGS");
    for (const auto& [key, value] : options.conf) {
        rc = rados_conf_set(pending.handle, key.c_str(), value.c_str());
        if (rc < 0) return Status::error(rc, "set ceph option " + key + "=" + value);
    }
    rc = rados_connect(pending.handle);
    if (rc < 0) {
        return Status::error(
            rc, "connect to ceph cluster" +
                    (options.conf_path.empty() ? std::string() : " (" + options.conf_path + ")"));
    }
    return Cluster(std::exchange(pending.handle, nullptr));
}

Cluster& Cluster::operator=(Cluster&& other) noexcept {
    if (this != &other) {
        if (handle_ != nullptr) rados_shutdown(handle_);
        handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
}

Cluster::~Cluster() {
    if (handle_ != nullptr) rados_shutdown(handle_);
}

Result<std::string> Cluster::conf_get(const std::string& option) const {
    std::array<char, 4096> buf{};
    int rc = rados_conf_get(handle_, option.c_str(), buf.data(), buf.size());
    if (rc < 0) return Status::error(rc, "get ceph option " + option);
    return std::string(buf.data());
}

Result<std::string> Cluster::addresses() const {
    char* addrs = nullptr;
    int rc = rados_getaddrs(handle_, &addrs);
    if (rc < 0) return Status::error(rc, "get client addresses");
    std::string out(addrs != nullptr ? addrs : "");
    std::free(addrs);  // librados strdup()s it
    return out;
}

}  // namespace rbdtier::ceph
