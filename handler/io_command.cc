#include "handler/io_command.h"

#include <cerrno>

#include "ceph/completion.h"

namespace rbdtier {

long issue_io(IoCommand* c, rbd_image_t image, std::uint64_t off, std::uint64_t len, const iovec* v,
              int cnt, rbd_completion_t comp) {
    char* buf = c->data_buf != nullptr ? c->data_buf + (off - c->offset) : nullptr;
    switch (c->kind) {
        case IoKind::kRead:
            return v != nullptr ? rbd_aio_readv(image, v, cnt, off, comp)
                                : rbd_aio_read(image, off, len, buf, comp);
        case IoKind::kWrite:
            return v != nullptr ? rbd_aio_writev(image, v, cnt, off, comp)
                                : rbd_aio_write(image, off, len, buf, comp);
        case IoKind::kFlush:
            return rbd_aio_flush(image, comp);
        case IoKind::kUnmap:
            return rbd_aio_discard(image, off, len, comp);
        case IoKind::kWriteSame:
            return rbd_aio_writesame(image, off, len, c->data_buf, c->pattern, comp, 0);
        case IoKind::kCompareAndWrite:
            c->routed_image = image;
            return rbd_aio_compare_and_write(image, off, len, c->data_buf, c->data_buf + len, comp,
                                             &c->mismatch_offset, 0);
    }
    return -EINVAL;
}

IoEvent completed_event(const IoCommand& c, LunId lun, std::uint64_t end_us) noexcept {
    IoEvent event;
    event.time_us = end_us;
    event.offset = c.offset;
    event.length = static_cast<std::uint32_t>(c.length);
    event.latency_us = static_cast<std::uint32_t>(end_us - c.start_us);
    event.lun = lun;
    event.initiator = c.initiator;
    event.op = c.kind == IoKind::kRead    ? IoOp::kRead
               : c.kind == IoKind::kUnmap ? IoOp::kUnmap
                                          : IoOp::kWrite;
    return event;
}

namespace {

// First stage of locating a miscompare: read the range back (the command completes when the
// read does). False if the read could not be queued (nothing read then).
bool start_miscompare_read(IoCommand* c, rbd_callback_t done) {
    c->caw_verifying = true;
    if (c->routed_image == nullptr || !fit(c->verify, c->length)) {
        c->verify.clear();
        return false;
    }
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, done, &handle) < 0) {
        c->verify.clear();  // nothing read: miscompare_index() falls back to librbd's offset
        return false;
    }
    ceph::Completion completion = ceph::Completion::adopt(handle);
    if (rbd_aio_read(c->routed_image, c->offset, c->length, c->verify.data(), completion.handle()) <
        0) {
        c->verify.clear();
        return false;
    }
    (void)completion.detach();
    return true;
}

}  // namespace

bool reading_back_miscompare(IoCommand* c, long& rc, rbd_callback_t done) {
    if (c->kind != IoKind::kCompareAndWrite) return false;
    if (!c->caw_verifying && rc == -EILSEQ) return start_miscompare_read(c, done);
    if (c->caw_verifying) {
        if (rc < 0) c->verify.clear();  // read-back failed: use librbd's offset
        rc = -EILSEQ;                   // the command's outcome is the miscompare
    }
    return false;
}

// librbd 16 reports a COMPARE AND WRITE miscompare at (start of the object + index) rather
// than at (offset + index) as documented, so the offset it gives is not trusted: the range is
// read back and compared. Without a usable read-back, librbd's value is interpreted both ways.
std::uint64_t miscompare_index(const IoCommand& c, std::uint64_t object_size) {
    if (c.caw_verifying && c.verify.size() == c.length && c.caw_compare != nullptr) {
        for (std::size_t i = 0; i < c.length; ++i) {
            if (c.verify[i] != c.caw_compare[i]) return i;
        }
    }
    const std::uint64_t reported = c.mismatch_offset;
    if (reported >= c.offset && reported - c.offset < c.length) return reported - c.offset;
    const std::uint64_t object = object_size != 0 ? object_size : 1;
    const std::uint64_t base = c.offset - c.offset % object;
    if (reported >= base && reported - base < c.length) return reported - base;
    return 0;
}

}  // namespace rbdtier
