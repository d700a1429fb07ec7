// What the in-memory test handler (memtest_handler.cc) exports besides its handler_init:
// memtest_get_stats() copies what it observed since it was loaded; memtest_lose_lock() plays a
// lock taken over by another gateway. The tests reach them through dlsym on the loaded plugin.
// C linkage, thread-safe (the handler guards its counters).
#pragma once

#include <cstdint>

extern "C" {
struct memtest_stats {
    unsigned reads, writes, unmaps, writesames, caws, flushes;
    uint64_t last_unmap_off, last_unmap_len;
    char last_initiator[128];
    unsigned opens, reopens, locks;
};
void memtest_get_stats(struct memtest_stats* out);
void memtest_lose_lock(void);
}
