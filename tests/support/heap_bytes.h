// heap_bytes(): bytes the process's malloc has handed out and not taken back, mmap'd blocks
// included (glibc mallinfo2). Tests take the difference around building an object to see what
// it holds. Meaningful in a single-threaded test body only (other threads allocate too); under
// a sanitizer's allocator, which glibc does not see, it reads 0.
// Header-only; shared by the unit tests that bound memory.
#pragma once

#include <malloc.h>

#include <cstddef>

namespace rbdtier::test_support {

inline std::size_t heap_bytes() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

}  // namespace rbdtier::test_support
