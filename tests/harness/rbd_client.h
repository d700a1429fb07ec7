// rbd_client.h — minimal RAII client over the librados/librbd C APIs for tests and benches.
//
// Contract: RadosCluster connects with a ceph.conf (client.admin unless id given) and
// shuts down in its destructor; IoCtx and RbdImage close their handles. Failures throw
// std::runtime_error naming the call and strerror. Used by the battery (byte-exact
// read-back behind the handler's back) and by the librbd baseline of the benchmark.
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cstdint>
#include <string>

namespace rbdtier::harness {

class RadosCluster {
public:
    explicit RadosCluster(const std::string& conf_path, const std::string& id = "admin");
    ~RadosCluster();
    RadosCluster(const RadosCluster&) = delete;
    RadosCluster& operator=(const RadosCluster&) = delete;
    rados_t get() const { return cluster_; }

private:
    rados_t cluster_ = nullptr;
};

class IoCtx {
public:
    IoCtx(const RadosCluster& cluster, const std::string& pool);
    ~IoCtx();
    IoCtx(const IoCtx&) = delete;
    IoCtx& operator=(const IoCtx&) = delete;
    rados_ioctx_t get() const { return io_; }

private:
    rados_ioctx_t io_ = nullptr;
};

class RbdImage {
public:
    RbdImage(const IoCtx& io, const std::string& name);
    ~RbdImage();
    RbdImage(const RbdImage&) = delete;
    RbdImage& operator=(const RbdImage&) = delete;
    rbd_image_t get() const { return image_; }
    void read(uint64_t off, void* buf, size_t len) const;  // exact length or throws
    void write(uint64_t off, const void* buf, size_t len) const;

private:
    rbd_image_t image_ = nullptr;
};

// Creates an image of `size` bytes (default format and features); throws on failure.
void create_image(const IoCtx& io, const std::string& name, uint64_t size);
// Removes an image; returns the librbd error (0 on success), never throws.
int remove_image(const IoCtx& io, const std::string& name);

// Throws std::runtime_error("<what>: <strerror(-rc)>") when rc < 0.
void check_rc(int rc, const std::string& what);

}  // namespace rbdtier::harness
