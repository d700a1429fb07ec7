// RAII for librados compound operations, omap iterators, aio completions and reply buffers:
// ReadOp and WriteOp own a rados_read_op_t / rados_write_op_t (made with rados_create_read_op /
// rados_create_write_op) and release it; OmapIter ends the omap iteration an operation filled in
// (out()); AioCompletion owns a rados_completion_t (rados_aio_create_completion2) and releases it
// (the caller waits for the op first: a completion released in flight is librados's to free);
// ReplyBuffer owns a reply librados allocated (its data and size passed as a call's out
// parameters) and frees it with rados_buffer_free.
#pragma once

#include <rados/librados.h>

#include <cstddef>
#include <memory>
#include <type_traits>

namespace rbdtier::ceph {

struct ReadOpRelease {
    void operator()(rados_read_op_t op) const { rados_release_read_op(op); }
};
struct WriteOpRelease {
    void operator()(rados_write_op_t op) const { rados_release_write_op(op); }
};
using ReadOp = std::unique_ptr<std::remove_pointer_t<rados_read_op_t>, ReadOpRelease>;
using WriteOp = std::unique_ptr<std::remove_pointer_t<rados_write_op_t>, WriteOpRelease>;
struct AioRelease {
    void operator()(rados_completion_t c) const { rados_aio_release(c); }
};
using AioCompletion = std::unique_ptr<std::remove_pointer_t<rados_completion_t>, AioRelease>;

struct ReplyBuffer {
    ReplyBuffer() = default;
    ReplyBuffer(const ReplyBuffer&) = delete;
    ReplyBuffer& operator=(const ReplyBuffer&) = delete;
    ~ReplyBuffer() {
        if (data != nullptr) rados_buffer_free(data);
    }
    char* data = nullptr;
    std::size_t size = 0;
};

class OmapIter {
public:
    OmapIter() = default;
    OmapIter(const OmapIter&) = delete;
    OmapIter& operator=(const OmapIter&) = delete;
    ~OmapIter() {
        if (iter_ != nullptr) rados_omap_get_end(iter_);
    }
    rados_omap_iter_t* out() { return &iter_; }
    rados_omap_iter_t get() const { return iter_; }

private:
    rados_omap_iter_t iter_ = nullptr;
};

}  // namespace rbdtier::ceph
