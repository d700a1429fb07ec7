// heap_bytes(): bytes the process's malloc has handed out and not taken back, mmap'd blocks
// included (glibc mallinfo2). Tests take the difference around building an object to see what
// it holds. Meaningful in a single-threaded test body only (other threads allocate too); under
// a sanitizer's allocator, which glibc does not see, it reads 0.
// Header-only; shared by the unit tests that bound memory.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <cstdlib>

namespace rbdtier::test_support {

inline std::size_t heap_bytes() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// Whether heap_bytes() sees this process's allocations: false under a sanitizer's allocator.
inline bool heap_bytes_counted() {
    const std::size_t before = heap_bytes();
    void* volatile block = std::malloc(64 * 1024);
    const bool counted = heap_bytes() > before;
    std::free(block);
    return counted;
}

}  // namespace rbdtier::test_support
