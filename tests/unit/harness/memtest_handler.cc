// memtest_handler.cc — an in-memory tcmu-runner handler plugin used to test the harness
// without a cluster. Built twice (see CMakeLists.txt):
//   handler_memtest_async.so  subtype "memtest": nr_threads 0, native writesame and caw,
//                             completes from its own completion thread
//   handler_memtest_sync.so   subtype "memtest": nr_threads 2, no writesame/caw/flush (the
//                             harness emulates them), completes inside the callout
// cfgstring "memtest/<name>[;unmap_split]". memtest_get_stats() exposes what the handler
// saw; memtest_lose_lock() plays a lock taken over by another gateway. The globals are
// test instrumentation of this test-only plugin.
#include "tests/unit/harness/memtest_handler.h"

#include <dlfcn.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "handler/tcmu_abi.h"

#ifndef MEMTEST_ASYNC
#error "define MEMTEST_ASYNC 0 or 1"
#endif

namespace {

struct Completer {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> q;
    bool stop = false;
    std::thread t;
    Completer()
        : t([this] {
              for (;;) {
                  std::function<void()> f;
                  {
                      std::unique_lock lk(mu);
                      cv.wait(lk, [this] { return stop || !q.empty(); });
                      if (q.empty()) return;
                      f = std::move(q.front());
                      q.pop_front();
                  }
                  f();
              }
          }) {}
    ~Completer() {
        {
            std::lock_guard lk(mu);
            stop = true;
        }
        cv.notify_all();
        t.join();
    }
    void post(std::function<void()> f) {
        {
            std::lock_guard lk(mu);
            q.push_back(std::move(f));
        }
        cv.notify_one();
    }
};

struct MemDev {
    std::mutex mu;
    std::vector<uint8_t> data;
    rbdtier_harness_cmd_initiator_fn initiator = nullptr;
    Completer completer;
};

std::mutex g_stats_mu;
memtest_stats g_stats{};
tcmu_device* g_last_dev = nullptr;  // the last device opened (for memtest_lose_lock)
bool g_locked = false;
// Closed devices, kept for a reopen of the same tcmu_device (a reopen keeps the data).
std::map<tcmu_device*, std::unique_ptr<MemDev>> g_closed;

MemDev* mem(tcmu_device* dev) {
    return static_cast<MemDev*>(tcmur_dev_get_private(dev));
}

void note(tcmu_device* dev, tcmur_cmd* cmd, unsigned memtest_stats::*counter) {
    MemDev* m = mem(dev);
    std::lock_guard lk(g_stats_mu);
    ++(g_stats.*counter);
    const char* who = m->initiator ? m->initiator(dev, cmd) : nullptr;
    std::snprintf(g_stats.last_initiator, sizeof g_stats.last_initiator, "%s", who ? who : "");
}

void complete(tcmu_device* dev, tcmur_cmd* cmd, int sts) {
    if (MEMTEST_ASYNC)
        mem(dev)->completer.post([dev, cmd, sts] { tcmur_cmd_complete(dev, cmd, sts); });
    else
        tcmur_cmd_complete(dev, cmd, sts);
}

int mem_open(tcmu_device* dev, bool reopen) {
    const char* cfg = tcmu_dev_get_cfgstring(dev);
    if (std::strncmp(cfg, "memtest/", 8) != 0) return -EINVAL;
    std::unique_ptr<MemDev> m;
    {
        std::lock_guard lk(g_stats_mu);
        ++(reopen ? g_stats.reopens : g_stats.opens);
        g_last_dev = dev;
        g_locked = false;
        auto it = g_closed.find(dev);
        if (it != g_closed.end()) {
            if (reopen) m = std::move(it->second);
            g_closed.erase(it);
        }
    }
    if (!m) {
        m = std::make_unique<MemDev>();
        m->data.assign(tcmu_dev_get_num_lbas(dev) * tcmu_dev_get_block_size(dev), 0);
    }
    m->initiator = reinterpret_cast<rbdtier_harness_cmd_initiator_fn>(
        dlsym(RTLD_DEFAULT, RBDTIER_HARNESS_CMD_INITIATOR_SYMBOL));
    tcmur_dev_set_private(dev, m.release());
    bool split = std::strstr(cfg, ";unmap_split") != nullptr;
    // 64-block granules, aligned, as a thin-provisioned device would advertise.
    tcmu_dev_set_opt_unmap_gran(dev, 64, split);
    tcmu_dev_set_unmap_gran_align(dev, 64);
    tcmu_dev_set_max_unmap_len(dev, 1024);
    return 0;
}

void mem_close(tcmu_device* dev) {
    std::lock_guard lk(g_stats_mu);
    g_locked = false;
    g_closed[dev].reset(mem(dev));
}

int mem_lock(tcmu_device*, uint16_t) {
    std::lock_guard lk(g_stats_mu);
    ++g_stats.locks;
    g_locked = true;
    return TCMU_STS_OK;
}

int mem_get_lock_state(tcmu_device*) {
    std::lock_guard lk(g_stats_mu);
    return g_locked ? TCMUR_DEV_LOCK_WRITE_LOCKED : TCMUR_DEV_LOCK_UNLOCKED;
}

int mem_read(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, size_t cnt, size_t len, off_t off) {
    note(dev, cmd, &memtest_stats::reads);
    MemDev* m = mem(dev);
    {
        std::lock_guard lk(m->mu);
        tcmu_memcpy_into_iovec(iov, cnt, m->data.data() + off, len);
    }
    complete(dev, cmd, TCMU_STS_OK);
    return TCMU_STS_OK;
}

int mem_write(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, size_t cnt, size_t len, off_t off) {
    note(dev, cmd, &memtest_stats::writes);
    MemDev* m = mem(dev);
    {
        std::lock_guard lk(m->mu);
        tcmu_memcpy_from_iovec(m->data.data() + off, len, iov, cnt);
    }
    complete(dev, cmd, TCMU_STS_OK);
    return TCMU_STS_OK;
}

int mem_unmap(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len) {
    note(dev, cmd, &memtest_stats::unmaps);
    {
        std::lock_guard lk(g_stats_mu);
        g_stats.last_unmap_off = off;
        g_stats.last_unmap_len = len;
    }
    MemDev* m = mem(dev);
    {
        std::lock_guard lk(m->mu);
        std::memset(m->data.data() + off, 0, len);
    }
    complete(dev, cmd, TCMU_STS_OK);
    return TCMU_STS_OK;
}

int mem_flush(tcmu_device* dev, tcmur_cmd* cmd) {
    note(dev, cmd, &memtest_stats::flushes);
    complete(dev, cmd, TCMU_STS_OK);
    return TCMU_STS_OK;
}

int mem_writesame(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len, iovec* iov,
                  size_t) {
    note(dev, cmd, &memtest_stats::writesames);
    MemDev* m = mem(dev);
    {
        std::lock_guard lk(m->mu);
        for (uint64_t p = 0; p < len; p += iov->iov_len)
            std::memcpy(m->data.data() + off + p, iov->iov_base, iov->iov_len);
    }
    complete(dev, cmd, TCMU_STS_OK);
    return TCMU_STS_OK;
}

int mem_caw(tcmu_device* dev, tcmur_cmd* cmd, uint64_t off, uint64_t len, iovec* iov, size_t cnt) {
    note(dev, cmd, &memtest_stats::caws);
    MemDev* m = mem(dev);
    std::vector<uint8_t> both(2 * len);
    std::vector<iovec> copy(iov, iov + cnt);
    tcmu_memcpy_from_iovec(both.data(), both.size(), copy.data(), copy.size());
    int sts = TCMU_STS_OK;
    {
        std::lock_guard lk(m->mu);
        uint8_t* cur = m->data.data() + off;
        for (uint64_t i = 0; i < len; ++i) {
            if (cur[i] != both[i]) {
                tcmu_sense_set_info(cmd->lib_cmd->sense_buf, static_cast<uint32_t>(i));
                sts = TCMU_STS_MISCOMPARE;
                break;
            }
        }
        if (sts == TCMU_STS_OK) std::memcpy(cur, both.data() + len, len);
    }
    complete(dev, cmd, sts);
    return TCMU_STS_OK;
}

bool mem_check_config(const char* cfg, char** reason) {
    if (std::strncmp(cfg, "memtest/", 8) == 0 && cfg[8] != '\0') return true;
    *reason = strdup("memtest: cfgstring must be memtest/<name>[;unmap_split]");
    return false;
}

tcmur_handler g_handler = [] {
    tcmur_handler h{};
    h.name = "in-memory test handler";
    h.subtype = "memtest";
    h.cfg_desc = "<name>[;unmap_split]";
    h.check_config = mem_check_config;
    h.open = mem_open;
    h.close = mem_close;
    h.read = mem_read;
    h.write = mem_write;
    h.unmap = mem_unmap;
    h.lock = mem_lock;
    h.get_lock_state = mem_get_lock_state;
#if MEMTEST_ASYNC
    h.nr_threads = 0;
    h.flush = mem_flush;
    h.writesame = mem_writesame;
    h.caw = mem_caw;
#else
    h.nr_threads = 2;
    (void)mem_flush;
    (void)mem_writesame;
    (void)mem_caw;
#endif
    return h;
}();

}  // namespace

extern "C" {
int handler_init(void) {
    return tcmur_register_handler(&g_handler);
}

void memtest_get_stats(struct memtest_stats* out) {
    std::lock_guard lk(g_stats_mu);
    *out = g_stats;
}

void memtest_lose_lock(void) {
    tcmu_device* dev;
    {
        std::lock_guard lk(g_stats_mu);
        g_locked = false;
        dev = g_last_dev;
    }
    if (dev) tcmu_notify_lock_lost(dev);
}
}
