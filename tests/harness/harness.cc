#include "harness.h"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "device_core.h"

namespace rbdtier::harness {
namespace detail {

DeviceCore::DeviceCore() {
    tcmur_device& r = dev.rdev;
    r.dev = &dev;
    r.failover_type = TCMUR_DEV_FAILOVER_ALL_ACTIVE;
    r.lock_state = TCMUR_DEV_LOCK_UNKNOWN;
    r.recovery_entry.next = r.recovery_entry.prev = &r.recovery_entry;
    r.work_queue.io_queue.n.next = r.work_queue.io_queue.n.prev = &r.work_queue.io_queue.n;
    r.cmds_list.n.next = r.cmds_list.n.prev = &r.cmds_list.n;
    pthread_mutex_init(&r.state_lock, nullptr);
    pthread_mutex_init(&r.work_queue.io_lock, nullptr);
    pthread_cond_init(&r.work_queue.io_cond, nullptr);
    pthread_mutex_init(&r.track_queue.track_lock, nullptr);
    pthread_spin_init(&r.lock, PTHREAD_PROCESS_PRIVATE);
    pthread_mutex_init(&r.caw_lock, nullptr);
    pthread_mutex_init(&r.format_lock, nullptr);
    dev.tcmu_private = &r;  // as tcmu-runner's dev_added(): tcmu_dev_set_private(dev, rdev)
    dev.core = this;
}

DeviceCore::~DeviceCore() {
    stop_lock_thread();
    stop_workers();
    tcmur_device& r = dev.rdev;
    pthread_mutex_destroy(&r.format_lock);
    pthread_mutex_destroy(&r.caw_lock);
    pthread_spin_destroy(&r.lock);
    pthread_mutex_destroy(&r.track_queue.track_lock);
    pthread_cond_destroy(&r.work_queue.io_cond);
    pthread_mutex_destroy(&r.work_queue.io_lock);
    pthread_mutex_destroy(&r.state_lock);
}

void DeviceCore::start_workers(int n) {
    for (int i = 0; i < n; ++i) {
        workers.emplace_back([this] {
            for (;;) {
                std::pair<WorkFn, tcmur_cmd*> job;
                {
                    std::unique_lock lk(wq_mu);
                    wq_cv.wait(lk, [this] { return wq_stop || !wq.empty(); });
                    if (wq.empty()) return;
                    job = wq.front();
                    wq.pop_front();
                }
                int rc = job.first(*this, job.second);
                if (rc != TCMU_STS_OK) tcmur_cmd_complete(&dev, job.second, rc);
            }
        });
    }
}

void DeviceCore::stop_workers() {
    {
        std::lock_guard lk(wq_mu);
        wq_stop = true;
    }
    wq_cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
}

void DeviceCore::start_lock_thread() {
    lock_thread = std::thread([this] {
        for (;;) {
            {
                std::unique_lock lk(ev_mu);
                ev_cv.wait(lk, [this] { return ev_stop || ev_pending; });
                if (ev_stop) return;
                ev_pending = false;
            }
            acquire_lock();
        }
    });
}

void DeviceCore::stop_lock_thread() {
    {
        std::lock_guard lk(ev_mu);
        ev_stop = true;
    }
    ev_cv.notify_all();
    if (lock_thread.joinable()) lock_thread.join();
}

void DeviceCore::drain_admitted() {
    std::unique_lock lk(idle_mu);
    idle_cv.wait(lk, [this] { return admitted == 0; });
}

bool DeviceCore::reopen_device() {
    tcmur_device& r = dev.rdev;
    pthread_mutex_lock(&r.state_lock);
    bool was_open = r.flags & TCMUR_DEV_FLAG_IS_OPEN;
    r.flags &= ~TCMUR_DEV_FLAG_IS_OPEN;
    pthread_mutex_unlock(&r.state_lock);
    if (was_open && handler->close) handler->close(&dev);
    if (handler->open && handler->open(&dev, true) != 0) return false;
    pthread_mutex_lock(&r.state_lock);
    r.flags |= TCMUR_DEV_FLAG_IS_OPEN;
    r.lock_lost = false;
    pthread_mutex_unlock(&r.state_lock);
    return true;
}

int DeviceCore::acquire_lock(uint16_t tag) {
    tcmur_device& r = dev.rdev;
    drain_admitted();  // no command may be in the handler while we (re)open and lock
    pthread_mutex_lock(&r.state_lock);
    bool reopen = r.lock_lost || !(r.flags & TCMUR_DEV_FLAG_IS_OPEN);
    pthread_mutex_unlock(&r.state_lock);
    int ret = TCMU_STS_HW_ERR;
    for (int retries = 0;; ++retries) {
        if (reopen && !reopen_device()) {
            ret = TCMU_STS_FENCED;
            break;
        }
        pthread_mutex_lock(&r.state_lock);
        const bool read_locking = r.lock_state == TCMUR_DEV_LOCK_READ_LOCKING;
        pthread_mutex_unlock(&r.state_lock);
        if (read_locking) {  // a read lock is only a (re)open
            ret = TCMU_STS_OK;
            break;
        }
        ret = handler->lock(&dev, tag);
        if (ret == TCMU_STS_FENCED && retries < 1) {
            reopen = true;
            continue;
        }
        break;
    }
    if (ret == TCMU_STS_TIMEOUT) tcmu_notify_conn_lost(&dev);
    pthread_mutex_lock(&r.state_lock);
    if (ret != TCMU_STS_OK)
        r.lock_state = TCMUR_DEV_LOCK_UNLOCKED;
    else if (r.lock_state == TCMUR_DEV_LOCK_READ_LOCKING)
        r.lock_state = TCMUR_DEV_LOCK_READ_LOCKED;
    else
        r.lock_state = TCMUR_DEV_LOCK_WRITE_LOCKED;
    pthread_mutex_unlock(&r.state_lock);
    tcmu_info_message(&dev, __func__, __LINE__, "lock acquisition %s (state %d)",
                      ret == TCMU_STS_OK ? "succeeded" : "failed", r.lock_state);
    {
        std::lock_guard lk(ev_mu);
        ++lock_generation;
    }
    ev_cv.notify_all();
    return ret;
}

void DeviceCore::command_done() {
    // Decrement under idle_mu so drain() (and the destructor after it) cannot run between
    // the decrement and the notification.
    std::lock_guard lk(idle_mu);
    if (in_flight.fetch_sub(1) == 1) idle_cv.notify_all();
}

namespace {

// aio_request_schedule(): run the callout inline (nr_threads == 0) or on an I/O thread.
int schedule(DeviceCore& d, tcmur_cmd* c, WorkFn fn) {
    if (d.handler->nr_threads <= 0) {
        int rc = fn(d, c);
        return rc == TCMU_STS_OK ? TCMU_STS_ASYNC_HANDLED : rc;
    }
    {
        std::lock_guard lk(d.wq_mu);
        d.wq.emplace_back(fn, c);
    }
    d.wq_cv.notify_one();
    return TCMU_STS_ASYNC_HANDLED;
}

// Completes a top-level command: status → SAM status + sense, user callback, accounting.
void finish(HarnessCmd* h, int rc) {
    if (h->admitted) {
        std::lock_guard lk(h->dev->idle_mu);
        if (--h->dev->admitted == 0) h->dev->idle_cv.notify_all();
    }
    Result r;
    r.tcmu_status = rc;
    r.scsi_status = apply_status(rc, h->core.lib.sense_buf);
    std::copy_n(h->core.lib.sense_buf, kFixedSenseLen, r.sense.begin());
    r.latency = std::chrono::steady_clock::now() - h->start;
    Completion done = std::move(h->done);
    DeviceCore* d = h->dev;
    delete h;
    if (done) done(r);
    d->command_done();
}

void generic_cbk(tcmu_device*, tcmur_cmd* c, int rc) {
    finish(owner_of(c), rc);
}

uint64_t lba_bytes(const DeviceCore& d, uint64_t lba) {
    return lba * d.dev.block_size;
}

int check_lbas(const DeviceCore& d, uint64_t lba, uint64_t cnt) {
    if (lba + cnt > d.dev.num_lbas || lba + cnt < lba) return TCMU_STS_RANGE;
    return TCMU_STS_OK;
}

// ---- READ / WRITE --------------------------------------------------------------------
int read_work(DeviceCore& d, tcmur_cmd* c) {
    tcmulib_cmd* lib = c->lib_cmd;
    return d.handler->read(&d.dev, c, lib->iovec, lib->iov_cnt,
                           tcmu_iovec_length(lib->iovec, lib->iov_cnt),
                           static_cast<off_t>(lba_bytes(d, cdb_lba(lib->cdb))));
}

int write_work(DeviceCore& d, tcmur_cmd* c) {
    tcmulib_cmd* lib = c->lib_cmd;
    return d.handler->write(&d.dev, c, lib->iovec, lib->iov_cnt,
                            tcmu_iovec_length(lib->iovec, lib->iov_cnt),
                            static_cast<off_t>(lba_bytes(d, cdb_lba(lib->cdb))));
}

int handle_rw(DeviceCore& d, HarnessCmd* h, bool is_write) {
    tcmulib_cmd& lib = h->core.lib;
    uint32_t sectors = cdb_xfer_length(lib.cdb);
    if (tcmu_iovec_length(lib.iovec, lib.iov_cnt) != lba_bytes(d, sectors)) return TCMU_STS_HW_ERR;
    if (int rc = check_lbas(d, cdb_lba(lib.cdb), sectors)) return rc;
    if (!(is_write ? d.handler->write : d.handler->read)) return TCMU_STS_INVALID_CMD;
    h->core.rcmd.done = generic_cbk;
    return schedule(d, &h->core.rcmd, is_write ? write_work : read_work);
}

// ---- UNMAP ---------------------------------------------------------------------------
void unmap_put(HarnessCmd* h, int rc) {
    int status;
    {
        std::lock_guard lk(h->unmap_mu);
        // Upstream (unmap_put) only records a failure when one was already recorded,
        // which loses the first error; we keep the first failure.
        if (h->unmap_status == TCMU_STS_OK && rc != TCMU_STS_OK) h->unmap_status = rc;
        if (--h->unmap_refs > 0) return;
        status = h->unmap_status;
    }
    finish(h, status);
}

void unmap_sub_cbk(tcmu_device*, tcmur_cmd* c, int rc) {
    auto* sub = reinterpret_cast<SubCmd*>(c);
    HarnessCmd* h = sub->owner;
    delete sub;
    unmap_put(h, rc);
}

int unmap_work(DeviceCore& d, tcmur_cmd* c) {
    auto* sub = reinterpret_cast<SubCmd*>(c);
    return d.handler->unmap(&d.dev, c, sub->off, sub->len);
}

// align_and_split_unmap(): one unmap callout per granule (or per max_unmap_len when the
// handler asked not to split).
int align_and_split_unmap(DeviceCore& d, HarnessCmd* h, uint64_t lba, uint64_t nlbas) {
    uint64_t gran, mask;
    if (!d.dev.split_unmaps) {
        gran = d.dev.max_unmap_len;
        mask = 0;
    } else {
        gran = d.dev.opt_unmap_gran;
        // Upstream uses align - 1 even for align 0 (underflow); treat 0 as "no alignment".
        mask = d.dev.unmap_gran_align ? d.dev.unmap_gran_align - 1 : 0;
    }
    if (gran == 0) gran = nlbas;
    uint64_t lbas = std::min(gran - (lba & mask), nlbas);
    int rc = TCMU_STS_NOT_HANDLED;
    while (nlbas) {
        auto* sub = new SubCmd{};
        sub->rcmd.lib_cmd = &h->core.lib;
        sub->rcmd.done = unmap_sub_cbk;
        sub->off = lba_bytes(d, lba);
        sub->len = lba_bytes(d, lbas);
        sub->owner = h;
        {
            std::lock_guard lk(h->unmap_mu);
            ++h->unmap_refs;
        }
        rc = schedule(d, &sub->rcmd, unmap_work);
        if (rc != TCMU_STS_ASYNC_HANDLED) {
            std::lock_guard lk(h->unmap_mu);
            --h->unmap_refs;
            delete sub;
            return rc;
        }
        nlbas -= lbas;
        lba += lbas;
        lbas = std::min(gran, nlbas);
    }
    return rc;
}

// Runs the descriptors (already validated for count) and always completes the command. An
// UNMAP's descriptors are limited to max_unmap_len blocks each (Block Limits VPD); a WRITE
// SAME with UNMAP is not (its limit is MAXIMUM WRITE SAME LENGTH, and upstream's
// handle_unmap_in_writesame() splits it whatever its length): `from_write_same`.
int run_unmap(DeviceCore& d, HarnessCmd* h, const std::vector<LbaRange>& ranges,
              bool from_write_same = false) {
    h->unmap_refs = 1;  // held while submitting
    h->unmap_status = TCMU_STS_OK;
    int rc = TCMU_STS_OK;
    for (const LbaRange& r : ranges) {
        if (!from_write_same && r.blocks > d.dev.max_unmap_len) {
            rc = TCMU_STS_INVALID_PARAM_LIST;
            break;
        }
        if ((rc = check_lbas(d, r.lba, r.blocks)) != TCMU_STS_OK) break;
        if (r.blocks) {
            rc = align_and_split_unmap(d, h, r.lba, r.blocks);
            if (rc != TCMU_STS_ASYNC_HANDLED) break;
        }
    }
    if (rc == TCMU_STS_ASYNC_HANDLED) rc = TCMU_STS_OK;
    unmap_put(h, rc);
    return TCMU_STS_ASYNC_HANDLED;
}

int handle_unmap(DeviceCore& d, HarnessCmd* h) {
    tcmulib_cmd& lib = h->core.lib;
    if (!d.handler->unmap) return TCMU_STS_INVALID_CMD;
    if (lib.cdb[1] & 0x01) return TCMU_STS_INVALID_CDB;  // ANCHOR not supported
    size_t len = cdb_xfer_length(lib.cdb);
    if (len == 0) return TCMU_STS_OK;
    if (len < 8) return TCMU_STS_INVALID_PARAM_LIST_LEN;
    std::vector<uint8_t> par(len);
    std::vector<iovec> iov(lib.iovec, lib.iovec + lib.iov_cnt);  // don't consume lib's
    size_t copied = tcmu_memcpy_from_iovec(par.data(), len, iov.data(), iov.size());
    UnmapParse p = parse_unmap_param_list(par.data(), copied, len);
    if (p.status != TCMU_STS_OK) return p.status;
    if (p.ranges.empty()) return TCMU_STS_OK;
    return run_unmap(d, h, p.ranges);
}

// ---- WRITE SAME ----------------------------------------------------------------------
int handler_writesame_work(DeviceCore& d, tcmur_cmd* c) {
    tcmulib_cmd* lib = c->lib_cmd;
    return d.handler->writesame(&d.dev, c, lba_bytes(d, cdb_lba(lib->cdb)),
                                lba_bytes(d, cdb_xfer_length(lib->cdb)), lib->iovec, lib->iov_cnt);
}

int emulated_writesame_work(DeviceCore& d, tcmur_cmd* c) {
    HarnessCmd* h = owner_of(c);
    c->iovec->iov_base = c->iov_base_copy;
    c->iovec->iov_len = c->requested;
    return d.handler->write(&d.dev, c, c->iovec, c->iov_cnt, c->requested,
                            static_cast<off_t>(lba_bytes(d, h->cur_lba)));
}

void emulated_writesame_cbk(tcmu_device* dev, tcmur_cmd* c, int rc) {
    HarnessCmd* h = owner_of(c);
    DeviceCore& d = *dev->core;
    if (rc != TCMU_STS_OK) return finish(h, rc);
    uint64_t written = c->requested / d.dev.block_size;
    h->cur_lba += written;
    h->lba_cnt -= written;
    if (h->lba_cnt == 0) return finish(h, TCMU_STS_OK);
    if (h->lba_cnt <= written) c->requested = lba_bytes(d, h->lba_cnt);
    if (schedule(d, c, emulated_writesame_work) != TCMU_STS_ASYNC_HANDLED)
        finish(h, TCMU_STS_WR_ERR);
}

int handle_writesame(DeviceCore& d, HarnessCmd* h) {
    tcmulib_cmd& lib = h->core.lib;
    tcmur_cmd& rc = h->core.rcmd;
    uint32_t bs = d.dev.block_size;
    uint64_t lba = cdb_lba(lib.cdb);
    uint32_t cnt = cdb_xfer_length(lib.cdb);
    if (lib.iov_cnt != 1 || lib.iovec->iov_len != bs) return TCMU_STS_INVALID_CDB;
    if (cnt == 0) return TCMU_STS_INVALID_CDB;  // WSNZ = 1
    if (int r = check_lbas(d, lba, cnt)) return r;

    if (d.handler->unmap && (lib.cdb[1] & 0x08)) {
        uint32_t align = d.dev.unmap_gran_align;
        // Not aligned (or no alignment advertised): plain write same, as upstream.
        if (align && lba % align == 0 && cnt % align == 0)
            return run_unmap(d, h, {LbaRange{lba, cnt}}, true);
    }
    if (d.handler->writesame) {
        rc.done = generic_cbk;
        return schedule(d, &rc, handler_writesame_work);
    }
    if (!d.handler->write) return TCMU_STS_INVALID_CMD;
    size_t max_xfer = static_cast<size_t>(d.dev.max_xfer_len) * bs;
    size_t length = 1024 * 1024;
    if (max_xfer) length = (length + max_xfer - 1) / max_xfer * max_xfer;
    length = std::min<size_t>(length, lba_bytes(d, cnt));
    h->buf.resize(length);
    for (size_t off = 0; off < length; off += bs)
        std::memcpy(h->buf.data() + off, lib.iovec->iov_base, bs);
    h->state_iov = {h->buf.data(), length};
    rc.iovec = &h->state_iov;
    rc.iov_cnt = 1;
    rc.iov_base_copy = h->buf.data();
    rc.requested = length;
    h->cur_lba = lba;
    h->lba_cnt = cnt;
    rc.done = emulated_writesame_cbk;
    return schedule(d, &rc, emulated_writesame_work);
}

// ---- COMPARE AND WRITE ---------------------------------------------------------------
int handler_caw_work(DeviceCore& d, tcmur_cmd* c) {
    tcmulib_cmd* lib = c->lib_cmd;
    size_t half = tcmu_iovec_length(lib->iovec, lib->iov_cnt) / 2;
    return d.handler->caw(&d.dev, c, lba_bytes(d, cdb_lba(lib->cdb)), half, lib->iovec,
                          lib->iov_cnt);
}

int caw_read_work(DeviceCore& d, tcmur_cmd* c) {
    return d.handler->read(&d.dev, c, c->iovec, c->iov_cnt, c->requested,
                           static_cast<off_t>(lba_bytes(d, cdb_lba(c->lib_cmd->cdb))));
}

int caw_write_work(DeviceCore& d, tcmur_cmd* c) {
    tcmulib_cmd* lib = c->lib_cmd;
    return d.handler->write(&d.dev, c, lib->iovec, lib->iov_cnt, c->requested,
                            static_cast<off_t>(lba_bytes(d, cdb_lba(lib->cdb))));
}

void caw_write_cbk(tcmu_device* dev, tcmur_cmd* c, int rc) {
    dev->core->caw_gate.release();
    finish(owner_of(c), rc);
}

void caw_read_cbk(tcmu_device* dev, tcmur_cmd* c, int rc) {
    DeviceCore& d = *dev->core;
    HarnessCmd* h = owner_of(c);
    tcmulib_cmd* lib = c->lib_cmd;
    if (rc == TCMU_STS_OK) {
        off_t miss = tcmu_iovec_compare(c->iov_base_copy, lib->iovec, c->requested);
        if (miss != -1) {
            tcmu_sense_set_info(lib->sense_buf, static_cast<uint32_t>(miss));
            rc = TCMU_STS_MISCOMPARE;
        } else {
            tcmu_cmd_seek(lib, c->requested);
            c->done = caw_write_cbk;
            rc = schedule(d, c, caw_write_work);
            if (rc == TCMU_STS_ASYNC_HANDLED) return;
        }
    }
    d.caw_gate.release();
    finish(h, rc);
}

int handle_caw(DeviceCore& d, HarnessCmd* h) {
    tcmulib_cmd& lib = h->core.lib;
    tcmur_cmd& rc = h->core.rcmd;
    uint8_t sectors = lib.cdb[13];
    if (sectors == 0) return TCMU_STS_OK;
    if (sectors > kMaxCawLength) return TCMU_STS_INVALID_CDB;
    if (tcmu_iovec_length(lib.iovec, lib.iov_cnt) != lba_bytes(d, 2u * sectors))
        return TCMU_STS_HW_ERR;
    if (int r = check_lbas(d, cdb_lba(lib.cdb), sectors)) return r;
    if (d.handler->caw) {
        rc.done = generic_cbk;
        return schedule(d, &rc, handler_caw_work);
    }
    if (!d.handler->read || !d.handler->write) return TCMU_STS_INVALID_CMD;
    size_t half = tcmu_iovec_length(lib.iovec, lib.iov_cnt) / 2;
    h->buf.assign(half, 0);
    h->state_iov = {h->buf.data(), half};
    rc.iovec = &h->state_iov;
    rc.iov_cnt = 1;
    rc.iov_base_copy = h->buf.data();
    rc.requested = half;
    rc.done = caw_read_cbk;
    d.caw_gate.acquire();
    int r = schedule(d, &rc, caw_read_work);
    if (r != TCMU_STS_ASYNC_HANDLED) d.caw_gate.release();
    return r;
}

// ---- WRITE AND VERIFY ----------------------------------------------------------------
// handle_write_verify(): the write through the handler's write, then a read of the same
// blocks through its read, compared with the Data-Out (MISCOMPARE with the offset).
int verify_read_work(DeviceCore& d, tcmur_cmd* c) {
    c->iovec->iov_base = c->iov_base_copy;  // the handler may have consumed it
    c->iovec->iov_len = c->requested;
    return d.handler->read(&d.dev, c, c->iovec, c->iov_cnt, c->requested,
                           static_cast<off_t>(lba_bytes(d, cdb_lba(c->lib_cmd->cdb))));
}

void verify_read_cbk(tcmu_device*, tcmur_cmd* c, int rc) {
    HarnessCmd* h = owner_of(c);
    if (rc == TCMU_STS_OK) {
        off_t miss = tcmu_iovec_compare(c->iov_base_copy, h->written.data(), c->requested);
        if (miss != -1) {
            tcmu_sense_set_info(c->lib_cmd->sense_buf, static_cast<uint32_t>(miss));
            rc = TCMU_STS_MISCOMPARE;
        }
    }
    finish(h, rc);
}

void verify_write_cbk(tcmu_device* dev, tcmur_cmd* c, int rc) {
    HarnessCmd* h = owner_of(c);
    if (rc != TCMU_STS_OK) return finish(h, rc);
    c->iovec = &h->state_iov;
    c->iov_cnt = 1;
    c->done = verify_read_cbk;
    rc = schedule(*dev->core, c, verify_read_work);
    if (rc != TCMU_STS_ASYNC_HANDLED) finish(h, rc);
}

int handle_write_verify(DeviceCore& d, HarnessCmd* h) {
    tcmulib_cmd& lib = h->core.lib;
    tcmur_cmd& rc = h->core.rcmd;
    uint32_t sectors = cdb_xfer_length(lib.cdb);
    size_t len = tcmu_iovec_length(lib.iovec, lib.iov_cnt);
    if (len != lba_bytes(d, sectors)) return TCMU_STS_HW_ERR;
    if (int r = check_lbas(d, cdb_lba(lib.cdb), sectors)) return r;
    if (!d.handler->read || !d.handler->write) return TCMU_STS_INVALID_CMD;
    h->written.assign(lib.iovec, lib.iovec + lib.iov_cnt);
    h->buf.assign(len, 0);
    h->state_iov = {h->buf.data(), len};
    rc.iov_base_copy = h->buf.data();
    rc.requested = len;
    rc.done = verify_write_cbk;
    return schedule(d, &rc, write_work);
}

// ---- SYNCHRONIZE CACHE ---------------------------------------------------------------
int flush_work(DeviceCore& d, tcmur_cmd* c) {
    return d.handler->flush(&d.dev, c);
}

// alua_check_state() for implicit failover (alua_implicit_transition): BUSY while a
// background thread takes the lock.
int alua_check(DeviceCore& d, bool is_read) {
    tcmur_device& r = d.dev.rdev;
    if (r.failover_type == TCMUR_DEV_FAILOVER_EXPLICIT) {  // alua_check_state(): explicit
        pthread_mutex_lock(&r.state_lock);
        const bool locked = r.lock_state == TCMUR_DEV_LOCK_WRITE_LOCKED;
        pthread_mutex_unlock(&r.state_lock);
        return locked ? TCMU_STS_OK : TCMU_STS_FENCED;
    }
    if (r.failover_type != TCMUR_DEV_FAILOVER_IMPLICIT || !d.handler->lock) return TCMU_STS_OK;
    int ret = TCMU_STS_OK;
    pthread_mutex_lock(&r.state_lock);
    switch (r.lock_state) {
        case TCMUR_DEV_LOCK_WRITE_LOCKED:
            break;
        case TCMUR_DEV_LOCK_WRITE_LOCKING:
        case TCMUR_DEV_LOCK_READ_LOCKING:
            ret = TCMU_STS_BUSY;
            break;
        default:
            if (is_read && r.lock_state == TCMUR_DEV_LOCK_READ_LOCKED) break;
            r.lock_state = is_read ? TCMUR_DEV_LOCK_READ_LOCKING : TCMUR_DEV_LOCK_WRITE_LOCKING;
            {
                std::lock_guard lk(d.ev_mu);
                d.ev_pending = true;
            }
            d.ev_cv.notify_all();
            ret = TCMU_STS_BUSY;
    }
    pthread_mutex_unlock(&r.state_lock);
    return ret;
}

bool alua_checked(uint8_t op) {
    switch (op) {
        case kRead6:
        case kRead10:
        case kRead12:
        case kRead16:
        case kWrite6:
        case kWrite10:
        case kWrite12:
        case kWrite16:
        case kWriteVerify10:
        case kWriteVerify16:
        case kUnmap:
        case kSyncCache10:
        case kSyncCache16:
        case kCompareAndWrite:
        case kWriteSame10:
        case kWriteSame16:
            return true;
        default:
            return false;
    }
}

int dispatch(DeviceCore& d, HarnessCmd* h) {
    const uint8_t op = h->cdb.opcode();
    if (alua_checked(op)) {
        const bool is_read = op == kRead6 || op == kRead10 || op == kRead12 || op == kRead16;
        if (int rc = alua_check(d, is_read)) return rc;
        std::lock_guard lk(d.idle_mu);
        ++d.admitted;
        h->admitted = true;
    }
    switch (op) {
        case kRead6:
        case kRead10:
        case kRead12:
        case kRead16:
            return handle_rw(d, h, false);
        case kWrite6:
        case kWrite10:
        case kWrite12:
        case kWrite16:
            return handle_rw(d, h, true);
        case kWriteVerify10:
        case kWriteVerify16:
            return handle_write_verify(d, h);
        case kUnmap:
            return handle_unmap(d, h);
        case kSyncCache10:
        case kSyncCache16:
            // tcmu-runner 1.5.4 answers GOOD when the handler has no flush.
            if (!d.handler->flush) return TCMU_STS_OK;
            h->core.rcmd.done = generic_cbk;
            return schedule(d, &h->core.rcmd, flush_work);
        case kCompareAndWrite:
            return handle_caw(d, h);
        case kWriteSame10:
        case kWriteSame16:
            return handle_writesame(d, h);
        default:
            return TCMU_STS_NOT_HANDLED;
    }
}

}  // namespace
}  // namespace detail

using detail::DeviceCore;
using detail::HarnessCmd;

std::string Result::describe() const {
    std::string s = status_name(tcmu_status);
    if (scsi_status == kCheckCondition) s += ", " + sense_view().describe();
    return s;
}

Device::Device(std::unique_ptr<DeviceCore> core) : core_(std::move(core)) {}

Device::~Device() {
    drain();
    core_->stop_lock_thread();
    if (core_->handler->close) core_->handler->close(&core_->dev);
    core_->stop_workers();
}

void Device::submit(Request req, Completion done) {
    DeviceCore& d = *core_;
    auto* h = new HarnessCmd;
    h->start = std::chrono::steady_clock::now();
    h->dev = &d;
    h->cdb = req.cdb;
    h->iov = std::move(req.iov);
    h->initiator = std::move(req.initiator);
    h->done = std::move(done);
    tcmulib_cmd& lib = h->core.lib;
    lib.cmd_id = d.next_cmd_id.fetch_add(1);
    lib.cdb = h->cdb.data();
    lib.iovec = h->iov.data();
    lib.iov_cnt = h->iov.size();
    lib.hm_private = &h->core.rcmd;
    h->core.rcmd.lib_cmd = &lib;
    h->core.owner = h;
    d.in_flight.fetch_add(1);
    int rc = detail::dispatch(d, h);
    if (rc == TCMU_STS_ASYNC_HANDLED)
        d.async_handled.fetch_add(1);
    else
        detail::finish(h, rc);
}

Result Device::execute(Request req) {
    const auto deadline = std::chrono::steady_clock::now() + core_->busy_retry;
    for (;;) {
        uint64_t gen;
        {
            std::lock_guard lk(core_->ev_mu);
            gen = core_->lock_generation;
        }
        Result r = execute_once(req);
        if (r.scsi_status != kBusy || std::chrono::steady_clock::now() >= deadline) return r;
        wait_before_retry(gen);
    }
}

void Device::wait_before_retry(uint64_t gen) {
    // A lock acquisition finishing ends the wait at once; otherwise retry after 10 ms, the
    // way an initiator retries BUSY.
    std::unique_lock lk(core_->ev_mu);
    core_->ev_cv.wait_for(lk, std::chrono::milliseconds(10),
                          [&] { return core_->lock_generation != gen || core_->ev_stop; });
}

Result Device::execute_once(const Request& req) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result> out;
    submit(req, [&](const Result& r) {
        std::lock_guard lk(mu);
        out = r;
        cv.notify_one();
    });
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return out.has_value(); });
    return *out;
}

namespace {
// The part [off, off + len) of an iovec array.
std::vector<iovec> slice(const std::vector<iovec>& iov, size_t off, size_t len) {
    std::vector<iovec> out;
    for (const iovec& v : iov) {
        if (len == 0) break;
        if (off >= v.iov_len) {
            off -= v.iov_len;
            continue;
        }
        size_t n = std::min(v.iov_len - off, len);
        out.push_back({static_cast<uint8_t*>(v.iov_base) + off, n});
        len -= n;
        off = 0;
    }
    return out;
}

size_t total(const std::vector<iovec>& iov) {
    size_t n = 0;
    for (const iovec& v : iov) n += v.iov_len;
    return n;
}
}  // namespace

Result Device::rw_split(bool is_write, uint64_t lba, std::vector<iovec> iov,
                        std::string_view initiator) {
    const size_t bs = block_size();
    const size_t len = total(iov);
    const size_t max_bytes = std::max<size_t>(1, max_xfer_len()) * bs;
    const uint64_t blocks = len / bs;  // a partial block is caught as a length mismatch
    auto make = [&](uint64_t l, uint32_t n) {
        return is_write ? make_write16(l, n) : make_read16(l, n);
    };
    if (len <= max_bytes)
        return execute(Request{make(lba, static_cast<uint32_t>(blocks)), std::move(iov),
                               std::string(initiator)});
    // Chunks are issued concurrently; a BUSY answer (implicit failover) retries them all.
    const auto deadline = std::chrono::steady_clock::now() + core_->busy_retry;
    for (;;) {
        uint64_t gen;
        {
            std::lock_guard lk(core_->ev_mu);
            gen = core_->lock_generation;
        }
        std::mutex mu;
        std::condition_variable cv;
        size_t pending = 0;
        std::optional<Result> failure;
        Result last;
        for (size_t off = 0; off < len; off += max_bytes) {
            size_t n = std::min(max_bytes, len - off);
            {
                std::lock_guard lk(mu);
                ++pending;
            }
            submit(Request{make(lba + off / bs, static_cast<uint32_t>(n / bs)), slice(iov, off, n),
                           std::string(initiator)},
                   [&](const Result& r) {
                       std::lock_guard lk(mu);
                       if (!r.ok() && !failure) failure = r;
                       last = r;
                       if (--pending == 0) cv.notify_one();
                   });
        }
        {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return pending == 0; });
        }
        if (!failure) return last;
        if (failure->scsi_status != kBusy || std::chrono::steady_clock::now() >= deadline)
            return *failure;
        wait_before_retry(gen);
    }
}

Result Device::read(uint64_t lba, void* buf, size_t len, std::string_view initiator) {
    return rw_split(false, lba, {{buf, len}}, initiator);
}
Result Device::readv(uint64_t lba, std::vector<iovec> iov, std::string_view initiator) {
    return rw_split(false, lba, std::move(iov), initiator);
}
Result Device::write(uint64_t lba, const void* buf, size_t len, std::string_view initiator) {
    return rw_split(true, lba, {{const_cast<void*>(buf), len}}, initiator);
}
Result Device::writev(uint64_t lba, std::vector<iovec> iov, std::string_view initiator) {
    return rw_split(true, lba, std::move(iov), initiator);
}
Result Device::read10(uint32_t lba, void* buf, size_t len, std::string_view initiator) {
    return execute(Request{make_read10(lba, static_cast<uint16_t>(len / block_size())),
                           {{buf, len}},
                           std::string(initiator)});
}
Result Device::write10(uint32_t lba, const void* buf, size_t len, std::string_view initiator) {
    return execute(Request{make_write10(lba, static_cast<uint16_t>(len / block_size())),
                           {{const_cast<void*>(buf), len}},
                           std::string(initiator)});
}

Result Device::unmap(std::span<const LbaRange> ranges, std::string_view initiator) {
    std::vector<uint8_t> par = make_unmap_param_list(ranges);
    return execute(Request{make_unmap(static_cast<uint16_t>(par.size())),
                           {{par.data(), par.size()}},
                           std::string(initiator)});
}

Result Device::write_same(uint64_t lba, uint32_t blocks, const void* block, bool unmap_bit,
                          std::string_view initiator) {
    return execute(Request{make_write_same16(lba, blocks, unmap_bit),
                           {{const_cast<void*>(block), block_size()}},
                           std::string(initiator)});
}

Result Device::compare_and_write(uint64_t lba, const void* compare, const void* write,
                                 uint8_t blocks, std::string_view initiator) {
    // One Data-Out buffer holding the verify data then the write data, as the kernel sends.
    size_t half = static_cast<size_t>(blocks) * block_size();
    std::vector<uint8_t> buf(2 * half);
    if (half) {
        std::memcpy(buf.data(), compare, half);
        std::memcpy(buf.data() + half, write, half);
    }
    return execute(Request{
        make_compare_and_write(lba, blocks), {{buf.data(), buf.size()}}, std::string(initiator)});
}

Result Device::sync(bool sixteen, std::string_view initiator) {
    return execute(
        Request{sixteen ? make_sync_cache16() : make_sync_cache10(), {}, std::string(initiator)});
}

void Device::drain() {
    std::unique_lock lk(core_->idle_mu);
    core_->idle_cv.wait(lk, [this] { return core_->in_flight.load() == 0; });
}

uint64_t Device::in_flight() const {
    return core_->in_flight.load();
}
uint64_t Device::async_handled() const {
    return core_->async_handled.load();
}
uint32_t Device::block_size() const {
    return core_->dev.block_size;
}
uint64_t Device::num_lbas() const {
    return core_->dev.num_lbas;
}
uint32_t Device::max_xfer_len() const {
    return core_->dev.max_xfer_len;
}
tcmu_device* Device::raw() const {
    return &core_->dev;
}
const tcmur_device& Device::runner_state() const {
    return core_->dev.rdev;
}

int Device::report_target_port_groups(std::vector<PortGroupState>* groups) {
    detail::DeviceCore& d = *core_;
    if (!d.explicit_alua || !d.handler->get_lock_tag) return TCMU_STS_INVALID_CMD;
    uint16_t owner = TCMU_INVALID_LOCK_TAG;
    int rc = d.handler->get_lock_tag(&d.dev, &owner);
    // tcmu_get_lock_tag(): a fenced (blocklisted) client is replaced by reopening, once.
    if (rc == TCMU_STS_FENCED) {
        d.drain_admitted();
        if (d.reopen_device()) rc = d.handler->get_lock_tag(&d.dev, &owner);
    }
    if (rc == TCMU_STS_NO_LOCK_HOLDERS) {
        owner = TCMU_INVALID_LOCK_TAG;
    } else if (rc != TCMU_STS_OK) {
        return rc;
    }
    tcmur_device& r = d.dev.rdev;
    groups->clear();
    for (uint16_t id : d.explicit_alua->ids) {
        groups->push_back({id, id == owner ? kAluaActiveOptimized : kAluaStandby});
        // alua_sync_state(): another gateway took the lock from the local group, so the runner
        // no longer counts it as held.
        if (id == d.explicit_alua->local && id != owner) {
            pthread_mutex_lock(&r.state_lock);
            if (r.lock_state == TCMUR_DEV_LOCK_WRITE_LOCKED) r.lock_state = TCMUR_DEV_LOCK_UNLOCKED;
            pthread_mutex_unlock(&r.state_lock);
        }
    }
    return TCMU_STS_OK;
}

int Device::set_target_port_group(uint16_t id, uint8_t state) {
    detail::DeviceCore& d = *core_;
    if (!d.explicit_alua) return TCMU_STS_INVALID_CMD;
    const auto& ids = d.explicit_alua->ids;
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) return TCMU_STS_EXPL_TRANSITION_ERR;
    if (id != d.explicit_alua->local) return TCMU_STS_HW_ERR;  // a remote group cannot change
    tcmur_device& r = d.dev.rdev;
    if (state == kAluaActiveOptimized) {
        pthread_mutex_lock(&r.state_lock);
        r.lock_state = TCMUR_DEV_LOCK_WRITE_LOCKING;
        pthread_mutex_unlock(&r.state_lock);
        const int rc = d.acquire_lock(id);
        if (rc == TCMU_STS_HW_ERR) return TCMU_STS_EXPL_TRANSITION_ERR;
        return rc == TCMU_STS_OK ? TCMU_STS_OK : TCMU_STS_BUSY;
    }
    if (state == kAluaStandby) {
        const int rc = d.handler->unlock ? d.handler->unlock(&d.dev) : TCMU_STS_OK;
        pthread_mutex_lock(&r.state_lock);
        r.lock_state = TCMUR_DEV_LOCK_UNLOCKED;
        pthread_mutex_unlock(&r.state_lock);
        return rc;
    }
    return TCMU_STS_INVALID_PARAM_LIST;
}

// ---- Harness -------------------------------------------------------------------------

namespace {
std::mutex& load_mutex() {
    static std::mutex mu;  // serialises handler_init() → tcmur_register_handler()
    return mu;
}
}  // namespace

Harness::Harness(const std::string& so_path) : path_(so_path) {
    std::lock_guard lk(load_mutex());
    dl_ = dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!dl_) throw std::runtime_error("dlopen " + so_path + ": " + dlerror());
    auto init = reinterpret_cast<int (*)()>(dlsym(dl_, "handler_init"));
    if (!init) {
        dlclose(dl_);
        throw std::runtime_error(so_path + " has no handler_init");
    }
    detail::g_registered_handler.store(nullptr);
    int rc = init();
    handler_ = detail::g_registered_handler.exchange(nullptr);
    if (rc != 0 || !handler_) {
        dlclose(dl_);
        throw std::runtime_error(so_path + ": handler_init failed (" + std::to_string(rc) +
                                 (handler_ ? ")" : ", nothing registered)"));
    }
    if (handler_->init) {
        if (int r = handler_->init(); r != 0) {
            dlclose(dl_);
            throw std::runtime_error(so_path + ": handler init() failed: " + std::to_string(r));
        }
    }
}

Harness::~Harness() {
    if (handler_ && handler_->destroy) handler_->destroy();
    // Like tcmu-runner, the plugin stays mapped: handlers (and the Ceph libraries they pull
    // in) keep threads and static state that do not survive being unloaded.
}

std::optional<std::string> Harness::check_config(const std::string& cfg) const {
    if (!handler_->check_config) return std::nullopt;
    std::string full = subtype() + "/" + cfg;
    char* reason = nullptr;
    if (handler_->check_config(full.c_str(), &reason)) {
        std::free(reason);
        return std::nullopt;
    }
    std::string why = reason ? reason : "check_config refused the cfgstring (no reason given)";
    std::free(reason);
    return why;
}

std::unique_ptr<Device> Harness::open(const DeviceConfig& cfg) {
    if (cfg.block_size == 0 || cfg.size_bytes % cfg.block_size != 0)
        throw std::runtime_error("size must be a non-zero multiple of the block size");
    if (auto why = cfg.check_config ? check_config(cfg.cfg) : std::nullopt)
        throw std::runtime_error("check_config: " + *why);
    auto core = std::make_unique<DeviceCore>();
    core->handler = handler_;
    tcmu_device& dev = core->dev;
    // As tcmu-runner's dev_added() before calling open().
    dev.block_size = cfg.block_size;
    dev.num_lbas = cfg.size_bytes / cfg.block_size;
    dev.max_xfer_len = cfg.max_xfer_len;
    dev.max_unmap_len = kMaxUnmapLbaCount;
    dev.opt_unmap_gran = cfg.max_xfer_len;
    dev.split_unmaps = true;
    dev.unmap_gran_align = 0;
    dev.opt_xcopy_rw_len = cfg.max_xfer_len;
    dev.unmap_enabled = true;
    dev.cfgstring = subtype() + "/" + cfg.cfg;
    core->busy_retry = cfg.busy_retry;
    if (cfg.explicit_alua) {
        if (cfg.implicit_failover) throw std::runtime_error("implicit and explicit failover");
        dev.rdev.failover_type = TCMUR_DEV_FAILOVER_EXPLICIT;
        core->explicit_alua = cfg.explicit_alua;
    }
    if (cfg.implicit_failover) {
        dev.rdev.failover_type = TCMUR_DEV_FAILOVER_IMPLICIT;
        core->start_lock_thread();
    }
    if (handler_->nr_threads > 0) core->start_workers(handler_->nr_threads);
    if (handler_->open) {
        int rc = handler_->open(&dev, false);
        if (rc != 0)
            throw std::runtime_error("open(" + dev.cfgstring + ") failed: " + std::strerror(-rc));
    }
    dev.rdev.flags |= TCMUR_DEV_FLAG_IS_OPEN;
    return std::unique_ptr<Device>(new Device(std::move(core)));
}

}  // namespace rbdtier::harness
