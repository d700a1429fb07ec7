#include "handler/io_command.h"

#include <cerrno>

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

}  // namespace rbdtier
