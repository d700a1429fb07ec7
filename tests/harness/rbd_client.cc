#include "rbd_client.h"

#include <cstring>
#include <stdexcept>

namespace rbdtier::harness {

void check_rc(int rc, const std::string& what) {
    if (rc < 0) throw std::runtime_error(what + ": " + std::strerror(-rc));
}

RadosCluster::RadosCluster(const std::string& conf_path, const std::string& id) {
    check_rc(rados_create(&cluster_, id.c_str()), "rados_create");
    try {
        check_rc(rados_conf_read_file(cluster_, conf_path.c_str()),
                 "rados_conf_read_file " + conf_path);
        check_rc(rados_connect(cluster_), "rados_connect");
    } catch (...) {
        rados_shutdown(cluster_);
        throw;
    }
}

RadosCluster::~RadosCluster() {
    rados_shutdown(cluster_);
}

IoCtx::IoCtx(const RadosCluster& cluster, const std::string& pool) {
    check_rc(rados_ioctx_create(cluster.get(), pool.c_str(), &io_), "rados_ioctx_create " + pool);
}

IoCtx::~IoCtx() {
    rados_ioctx_destroy(io_);
}

RbdImage::RbdImage(const IoCtx& io, const std::string& name) {
    check_rc(rbd_open(io.get(), name.c_str(), &image_, nullptr), "rbd_open " + name);
}

RbdImage::~RbdImage() {
    rbd_close(image_);
}

void RbdImage::read(uint64_t off, void* buf, size_t len) const {
    ssize_t n = rbd_read(image_, off, len, static_cast<char*>(buf));
    check_rc(static_cast<int>(n < 0 ? n : 0), "rbd_read");
    if (static_cast<size_t>(n) != len) throw std::runtime_error("rbd_read: short read");
}

void RbdImage::write(uint64_t off, const void* buf, size_t len) const {
    ssize_t n = rbd_write(image_, off, len, static_cast<const char*>(buf));
    check_rc(static_cast<int>(n < 0 ? n : 0), "rbd_write");
    if (static_cast<size_t>(n) != len) throw std::runtime_error("rbd_write: short write");
}

void create_image(const IoCtx& io, const std::string& name, uint64_t size) {
    int order = 0;  // default object size
    check_rc(rbd_create(io.get(), name.c_str(), size, &order), "rbd_create " + name);
}

int remove_image(const IoCtx& io, const std::string& name) {
    return rbd_remove(io.get(), name.c_str());
}

}  // namespace rbdtier::harness
