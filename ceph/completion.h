// Completion: an owned librbd aio completion (rbd_completion_t), released exactly once.
//
// Life of one async op: create() -> pass handle() to rbd_aio_*; if submission failed, let the
// Completion go out of scope (released); if it succeeded, detach() it (the in-flight op now
// owns it) and, in the callback, adopt() the handle librbd passes back so it is released when
// the callback returns. wait() is for synchronous use (tests, control path). No allocation of
// ours: librbd allocates the completion itself.
#pragma once

#include <rbd/librbd.h>
#include <sys/types.h>

#include <utility>

#include "ceph/status.h"

namespace rbdtier::ceph {

class Completion {
public:
    // callback may be null (then use wait()).
    static Result<Completion> create(void* arg, rbd_callback_t callback);
    // Takes ownership of a completion handed back by librbd to a callback.
    static Completion adopt(rbd_completion_t handle) { return Completion(handle); }

    Completion(Completion&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Completion& operator=(Completion&& other) noexcept;
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;
    ~Completion() { reset(); }

    rbd_completion_t handle() const { return handle_; }
    // Gives up ownership: the submitted op will hand it back to the callback.
    rbd_completion_t detach() { return std::exchange(handle_, nullptr); }

    ssize_t return_value() const { return rbd_aio_get_return_value(handle_); }
    void wait() const { (void)rbd_aio_wait_for_complete(handle_); }
    bool is_complete() const { return rbd_aio_is_complete(handle_) != 0; }

private:
    explicit Completion(rbd_completion_t handle) : handle_(handle) {}
    void reset() {
        if (handle_ != nullptr) rbd_aio_release(std::exchange(handle_, nullptr));
    }
    rbd_completion_t handle_ = nullptr;
};

inline Result<Completion> Completion::create(void* arg, rbd_callback_t callback) {
    rbd_completion_t handle = nullptr;
    int rc = rbd_aio_create_completion(arg, callback, &handle);
    if (rc < 0) return Status::error(rc, "create aio completion");
    return Completion(handle);
}

inline Completion& Completion::operator=(Completion&& other) noexcept {
    if (this != &other) {
        reset();
        handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
}

}  // namespace rbdtier::ceph
