// runner_abi.cc — the C functions tcmu-runner 1.5.4 and libtcmu export to handler plugins,
// defined with C linkage for the harness executable to export (see handler/tcmu_abi.h).

#include <pthread.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "device_core.h"
#include "handler/tcmu_abi.h"
#include "harness.h"
#include "scsi.h"
#include "sense.h"

namespace rbdtier::harness::detail {
std::atomic<tcmur_handler*> g_registered_handler{nullptr};
}  // namespace rbdtier::harness::detail

namespace {
// Log threshold from RBDTIER_HARNESS_LOG: 1 crit, 2 err (default), 3 warn, 4 info, 5 dbg.
int log_threshold() {
    static const int level = [] {
        const char* e = std::getenv("RBDTIER_HARNESS_LOG");
        return e ? std::atoi(e) : 2;
    }();
    return level;
}

// What a LogCapture keeps (null while none exists).
std::mutex g_capture_mutex;
std::optional<std::vector<std::string>> g_capture;

void vlog(int level, const char* tag, tcmu_device* dev, const char* func, int line, const char* fmt,
          va_list ap) {
    bool capturing = false;
    {
        std::lock_guard lock(g_capture_mutex);
        capturing = g_capture.has_value();
    }
    if (level > log_threshold() && !capturing) return;
    char msg[1024];
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = std::strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
    if (capturing) {
        std::lock_guard lock(g_capture_mutex);
        if (g_capture) g_capture->push_back(std::string(tag) + " " + func + ": " + msg);
    }
    if (level > log_threshold()) return;
    std::fprintf(stderr, "[tcmu %s] %s%s%s:%d: %s\n", tag, dev ? dev->uio_name : "", dev ? " " : "",
                 func, line, msg);
}
}  // namespace

namespace rbdtier::harness {

LogCapture::LogCapture() {
    std::lock_guard lock(g_capture_mutex);
    g_capture.emplace();
}

LogCapture::~LogCapture() {
    std::lock_guard lock(g_capture_mutex);
    g_capture.reset();
}

std::vector<std::string> LogCapture::lines() const {
    std::lock_guard lock(g_capture_mutex);
    return g_capture.value_or(std::vector<std::string>{});
}

}  // namespace rbdtier::harness

extern "C" {

#define RBDTIER_LOG_FN(name, level, tag)                                                         \
    void name(struct tcmu_device* dev, const char* funcname, int linenr, const char* fmt, ...) { \
        va_list ap;                                                                              \
        va_start(ap, fmt);                                                                       \
        vlog(level, tag, dev, funcname, linenr, fmt, ap);                                        \
        va_end(ap);                                                                              \
    }
RBDTIER_LOG_FN(tcmu_crit_message, 1, "crit")
RBDTIER_LOG_FN(tcmu_err_message, 2, "err")
RBDTIER_LOG_FN(tcmu_warn_message, 3, "warn")
RBDTIER_LOG_FN(tcmu_info_message, 4, "info")
RBDTIER_LOG_FN(tcmu_dbg_message, 5, "dbg")
RBDTIER_LOG_FN(tcmu_dbg_scsi_cmd_message, 5, "dbg")
#undef RBDTIER_LOG_FN

int tcmur_register_handler(struct tcmur_handler* handler) {
    rbdtier::harness::detail::g_registered_handler.store(handler);
    return 0;
}

bool tcmur_unregister_handler(struct tcmur_handler* handler) {
    tcmur_handler* expected = handler;
    return rbdtier::harness::detail::g_registered_handler.compare_exchange_strong(expected,
                                                                                  nullptr);
}

void tcmur_cmd_complete(struct tcmu_device* dev, void* data, int rc) {
    auto* cmd = static_cast<tcmur_cmd*>(data);
    cmd->done(dev, cmd, rc);
}

void tcmur_dev_set_private(struct tcmu_device* dev, void* priv) {
    dev->rdev.hm_private = priv;
}
void* tcmur_dev_get_private(struct tcmu_device* dev) {
    return dev->rdev.hm_private;
}

int tcmur_dev_update_size(struct tcmu_device* dev, uint64_t new_size) {
    if (dev->block_size == 0 || new_size % dev->block_size != 0) return -EINVAL;
    dev->num_lbas = new_size / dev->block_size;
    return 0;
}

void tcmu_notify_conn_lost(struct tcmu_device* dev) {
    pthread_mutex_lock(&dev->rdev.state_lock);
    dev->rdev.conn_lost_cnt++;
    pthread_mutex_unlock(&dev->rdev.state_lock);
    tcmu_warn_message(dev, __func__, __LINE__, "handler reported connection lost");
}

void tcmu_notify_lock_lost(struct tcmu_device* dev) {
    // As tcmu-runner: ignored while a write lock is being (re)acquired (stale completions);
    // otherwise the next command triggers a reopen and a new lock acquisition.
    // (tcmu-runner also calls the handler's report_event; the harness does not.)
    pthread_mutex_lock(&dev->rdev.state_lock);
    if (dev->rdev.lock_state != TCMUR_DEV_LOCK_WRITE_LOCKING) {
        dev->rdev.lock_lost = true;
        dev->rdev.lock_state = TCMUR_DEV_LOCK_UNLOCKED;
        dev->rdev.lock_lost_cnt++;
    }
    pthread_mutex_unlock(&dev->rdev.state_lock);
    tcmu_info_message(dev, __func__, __LINE__, "handler reported lock lost");
}

void tcmu_notify_cmd_timed_out(struct tcmu_device* dev) {
    pthread_mutex_lock(&dev->rdev.state_lock);
    dev->rdev.cmd_timed_out_cnt++;
    pthread_mutex_unlock(&dev->rdev.state_lock);
    tcmu_warn_message(dev, __func__, __LINE__, "handler reported a command timeout");
}

void* tcmu_dev_get_private(struct tcmu_device* dev) {
    return dev->tcmu_private;
}
void tcmu_dev_set_private(struct tcmu_device* dev, void* priv) {
    dev->tcmu_private = priv;
}
const char* tcmu_dev_get_uio_name(struct tcmu_device* dev) {
    return dev->uio_name;
}
char* tcmu_dev_get_cfgstring(struct tcmu_device* dev) {
    return dev->cfgstring.data();
}
void tcmu_dev_set_num_lbas(struct tcmu_device* dev, uint64_t num_lbas) {
    dev->num_lbas = num_lbas;
}
uint64_t tcmu_dev_get_num_lbas(struct tcmu_device* dev) {
    return dev->num_lbas;
}
void tcmu_dev_set_block_size(struct tcmu_device* dev, uint32_t bs) {
    dev->block_size = bs;
}
uint32_t tcmu_dev_get_block_size(struct tcmu_device* dev) {
    return dev->block_size;
}
uint64_t tcmu_lba_to_byte(struct tcmu_device* dev, uint64_t lba) {
    return lba * dev->block_size;
}
uint64_t tcmu_byte_to_lba(struct tcmu_device* dev, uint64_t byte) {
    return byte / dev->block_size;
}
void tcmu_dev_set_max_xfer_len(struct tcmu_device* dev, uint32_t len) {
    dev->max_xfer_len = len;
}
uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device* dev) {
    return dev->max_xfer_len;
}
void tcmu_dev_set_opt_xcopy_rw_len(struct tcmu_device* dev, uint32_t len) {
    dev->opt_xcopy_rw_len = len;
}
uint32_t tcmu_dev_get_opt_xcopy_rw_len(struct tcmu_device* dev) {
    return dev->opt_xcopy_rw_len;
}
void tcmu_dev_set_max_unmap_len(struct tcmu_device* dev, uint32_t len) {
    dev->max_unmap_len = len;
}
uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device* dev) {
    return dev->max_unmap_len;
}
void tcmu_dev_set_opt_unmap_gran(struct tcmu_device* dev, uint32_t len, bool split) {
    dev->opt_unmap_gran = len;
    dev->split_unmaps = split;
}
uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device* dev) {
    return dev->opt_unmap_gran;
}
void tcmu_dev_set_unmap_gran_align(struct tcmu_device* dev, uint32_t len) {
    dev->unmap_gran_align = len;
}
uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device* dev) {
    return dev->unmap_gran_align;
}
void tcmu_dev_set_write_cache_enabled(struct tcmu_device* dev, bool enabled) {
    dev->write_cache_enabled = enabled;
}
bool tcmu_dev_get_write_cache_enabled(struct tcmu_device* dev) {
    return dev->write_cache_enabled;
}
void tcmu_dev_set_solid_state_media(struct tcmu_device* dev, bool solid_state) {
    dev->solid_state_media = solid_state;
}
bool tcmu_dev_get_solid_state_media(struct tcmu_device* dev) {
    return dev->solid_state_media;
}
void tcmu_dev_set_unmap_enabled(struct tcmu_device* dev, bool enabled) {
    dev->unmap_enabled = enabled;
}
bool tcmu_dev_get_unmap_enabled(struct tcmu_device* dev) {
    return dev->unmap_enabled;
}

int tcmu_cdb_get_length(uint8_t* cdb) {
    int n = rbdtier::harness::cdb_length(cdb);
    return n < 0 ? -EINVAL : n;
}
uint64_t tcmu_cdb_get_lba(uint8_t* cdb) {
    return rbdtier::harness::cdb_lba(cdb);
}
uint32_t tcmu_cdb_get_xfer_length(uint8_t* cdb) {
    return rbdtier::harness::cdb_xfer_length(cdb);
}

off_t tcmu_iovec_compare(void* mem, struct iovec* iovec, size_t size) {
    const auto* m = static_cast<const uint8_t*>(mem);
    size_t mem_off = 0;
    while (size) {
        size_t part = std::min(size, iovec->iov_len);
        const auto* v = static_cast<const uint8_t*>(iovec->iov_base);
        if (std::memcmp(m + mem_off, v, part) != 0) {
            size_t pos = 0;
            while (pos < part && m[mem_off + pos] == v[pos]) ++pos;
            return static_cast<off_t>(mem_off + pos);
        }
        size -= part;
        mem_off += part;
        ++iovec;
    }
    return -1;
}

size_t tcmu_iovec_seek(struct iovec* iovec, size_t count) {
    size_t consumed = 0;
    while (count) {
        if (count >= iovec->iov_len) {
            count -= iovec->iov_len;
            iovec->iov_len = 0;
            ++iovec;
            ++consumed;
        } else {
            iovec->iov_base = static_cast<uint8_t*>(iovec->iov_base) + count;
            iovec->iov_len -= count;
            count = 0;
        }
    }
    return consumed;
}

void tcmu_cmd_seek(struct tcmulib_cmd* cmd, size_t count) {
    // Upstream only shrinks iov_cnt, which drops the tail of a multi-iovec command; we
    // also advance iovec past the consumed entries so the remaining data stays in view.
    size_t consumed = tcmu_iovec_seek(cmd->iovec, count);
    cmd->iovec += consumed;
    cmd->iov_cnt -= consumed;
}

void tcmu_iovec_zero(struct iovec* iovec, size_t iov_cnt) {
    for (size_t i = 0; i < iov_cnt; ++i) std::memset(iovec[i].iov_base, 0, iovec[i].iov_len);
}

bool tcmu_iovec_zeroed(struct iovec* iovec, size_t iov_cnt) {
    for (size_t i = 0; i < iov_cnt; ++i) {
        const auto* p = static_cast<const uint8_t*>(iovec[i].iov_base);
        if (std::any_of(p, p + iovec[i].iov_len, [](uint8_t b) { return b != 0; })) return false;
    }
    return true;
}

size_t tcmu_iovec_length(struct iovec* iovec, size_t iov_cnt) {
    size_t n = 0;
    for (size_t i = 0; i < iov_cnt; ++i) n += iovec[i].iov_len;
    return n;
}

size_t tcmu_memcpy_into_iovec(struct iovec* iovec, size_t iov_cnt, void* src, size_t len) {
    size_t copied = 0;
    while (len && iov_cnt) {
        size_t n = std::min(iovec->iov_len, len);
        if (n) {
            std::memcpy(iovec->iov_base, static_cast<const uint8_t*>(src) + copied, n);
            len -= n;
            copied += n;
            iovec->iov_base = static_cast<uint8_t*>(iovec->iov_base) + n;
            iovec->iov_len -= n;
        }
        ++iovec;
        --iov_cnt;
    }
    return copied;
}

size_t tcmu_memcpy_from_iovec(void* dest, size_t len, struct iovec* iovec, size_t iov_cnt) {
    size_t copied = 0;
    while (len && iov_cnt) {
        size_t n = std::min(iovec->iov_len, len);
        if (n) {
            std::memcpy(static_cast<uint8_t*>(dest) + copied, iovec->iov_base, n);
            len -= n;
            copied += n;
            iovec->iov_base = static_cast<uint8_t*>(iovec->iov_base) + n;
            iovec->iov_len -= n;
        }
        ++iovec;
        --iov_cnt;
    }
    return copied;
}

void __tcmu_sense_set_data(uint8_t* sense_buf, uint8_t key, uint16_t asc_ascq) {
    rbdtier::harness::set_sense({sense_buf, SENSE_BUFFERSIZE}, key, asc_ascq, false);
}

int tcmu_sense_set_data(uint8_t* sense_buf, uint8_t key, uint16_t asc_ascq) {
    rbdtier::harness::set_sense({sense_buf, SENSE_BUFFERSIZE}, key, asc_ascq, true);
    return TCMU_STS_PASSTHROUGH_ERR;
}

void tcmu_sense_set_info(uint8_t* sense_buf, uint32_t info) {
    rbdtier::harness::set_sense_info({sense_buf, SENSE_BUFFERSIZE}, info);
}

void tcmu_sense_set_key_specific_info(uint8_t* sense_buf, uint16_t info) {
    std::memset(sense_buf, 0, rbdtier::harness::kFixedSenseLen);
    rbdtier::harness::put_be16(&sense_buf[16], info);
    sense_buf[15] |= 0x80;  // SKSV
}

// Harness-only: the initiator attached to the command (see handler/tcmu_abi.h).
const char* rbdtier_harness_cmd_initiator(struct tcmu_device* /*dev*/, struct tcmur_cmd* cmd) {
    if (!cmd || !cmd->lib_cmd) return nullptr;
    auto* owner = rbdtier::harness::detail::owner_of(cmd);
    return owner ? owner->initiator.c_str() : nullptr;
}

}  // extern "C"
