#include "handler/lun_commands.h"

#include <chrono>
#include <cstring>
#include <new>
#include <thread>

#include "common/log.h"
#include "handler/lun_lock.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

IoCommand* LunCommands::acquire(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                                std::uint64_t len) {
    IoCommand* c = free_.acquire();
    if (c == nullptr) {
        c = new (std::nothrow) IoCommand;
        if (c == nullptr) return nullptr;
        c->from_heap = true;
    }
    c->answers = this;
    c->dev = dev;
    c->cmd = cmd;
    c->kind = kind;
    c->offset = off;
    c->length = len;
    c->mismatch_offset = 0;
    c->read_back = nullptr;
    c->data_iov = nullptr;
    c->data_iov_cnt = 0;
    c->data_buf = nullptr;
    c->pattern = 0;
    c->gated = false;
    c->first_tier = 0;
    c->routed_image = nullptr;
    c->read_back_cnt = 0;
    c->caw_compare = nullptr;
    c->caw_verifying = false;
    c->initiator = 0;
    taken_.fetch_add(1, std::memory_order_relaxed);
    return c;
}

void LunCommands::recycle(IoCommand* c) {
    if (c->from_heap) {
        delete c;
    } else {
        free_.release(c);
    }
}

void LunCommands::discard(IoCommand* c) {
    recycle(c);
    given_back_.fetch_add(1, std::memory_order_release);
}

void LunCommands::answer(IoCommand* c, long rc, std::uint64_t end_us) {
    const IoStatus status = io_status_from_rbd(c->kind, rc);
    if (rc >= 0 && c->read_back != nullptr) {
        std::size_t left = c->length;
        const char* src = c->bounce.data();
        for (std::size_t i = 0; i < c->read_back_cnt && left > 0; ++i) {
            std::size_t n = c->read_back[i].iov_len < left ? c->read_back[i].iov_len : left;
            std::memcpy(c->read_back[i].iov_base, src, n);
            src += n;
            left -= n;
        }
    }
    if (status.tcmu_status == TCMU_STS_MISCOMPARE && host_.set_sense_info != nullptr &&
        c->cmd != nullptr && c->cmd->lib_cmd != nullptr) {
        host_.set_sense_info(c->cmd->lib_cmd->sense_buf,
                             static_cast<std::uint32_t>(miscompare_index(*c, object_size_)));
    }
    if (status.failure == IoFailure::kTimedOut && host_.notify_cmd_timed_out != nullptr) {
        host_.notify_cmd_timed_out(c->dev);
    } else if (status.failure == IoFailure::kFenced && host_.notify_lock_lost != nullptr) {
        host_.notify_lock_lost(c->dev);
    }
    if (c->kind != IoKind::kFlush) {
        if (LunIoMetrics* metrics = io_metrics_.load(std::memory_order_acquire);
            metrics && rc >= 0) {
            const std::size_t tier = c->first_tier;  // where the router sent it (0: untiered)
            metrics->record(tier,
                            c->kind == IoKind::kRead ? LunIoMetrics::kRead : LunIoMetrics::kWrite,
                            c->length, end_us - c->start_us);
        }
    }
    if (status.failure == IoFailure::kFenced)
        lock_.note_lock_lost("this gateway's client is blocklisted");
    // librbd held the exclusive lock of the image a command wrote to (taking it first if it had
    // to): the rounds ask at once whether this gateway holds the LUN's. Noted once the command
    // completed, not when it started: a round that asked before librbd took the lock would
    // consume the note and hear "not held".
    if (rc >= 0 && c->kind != IoKind::kRead && c->kind != IoKind::kFlush) lock_.note_may_take();
    complete(c, status.tcmu_status, rc);
}

void LunCommands::complete_now(IoCommand* c, int status) {
    complete(c, status, 0);
}

void LunCommands::complete(IoCommand* c, int status, long rc) {
    tcmu_device* dev = c->dev;
    tcmur_cmd* cmd = c->cmd;
    recycle(c);
    log_answer(cmd, status, rc);
    host_.complete(dev, cmd, status);
    // Last touch of *this: the LUN may close once every command taken is given back.
    given_back_.fetch_add(1, std::memory_order_release);
}

void LunCommands::fenced(IoCommand* c) {
    // As librbd answers a blocklisted client: the runner learns the lock is lost.
    lock_.note_lock_lost("this gateway's client is blocklisted (placement map fenced)");
    if (host_.notify_lock_lost != nullptr) host_.notify_lock_lost(c->dev);
}

int LunCommands::answered(const tcmur_cmd* cmd, int status) const {
    log_answer(cmd, status);
    return status;
}

void LunCommands::log_answer(const tcmur_cmd* cmd, int status, long rc) const {
    if (status == TCMU_STS_OK || status == TCMU_STS_ASYNC_HANDLED) return;
    const bool has_cdb = cmd != nullptr && cmd->lib_cmd != nullptr && cmd->lib_cmd->cdb != nullptr;
    log_scsi_answer(spec_, has_cdb ? cmd->lib_cmd->cdb[0] : 0, status, rc);
}

void LunCommands::wait_idle() const {
    while (in_flight() != 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace rbdtier
