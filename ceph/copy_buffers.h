// Copy buffers of a gateway's migrations: memory that goes back to the OS when it is let go.
//
// CopyBuffer: one block of anonymous memory of its own mapping (mmap), never the C heap. A
// migration copies whole extents (4 MiB read, checksummed, written, read back): from malloc,
// such blocks end up inside the arenas of the threads that ran migrations, since glibc raises
// its mmap threshold once a large block is freed, and stay there after every LUN is closed. A
// CopyBuffer's pages are the process's only while it lives: its destructor unmaps them. Its
// bytes start zeroed (fresh pages); move-only.
//
// CopyBufferPool: the copy buffers of one gateway, reused across migrations. acquire(bytes)
// lends an idle buffer of at least `bytes` (else maps a new one); the Lease gives it back when
// destroyed. The pool keeps at most `idle_limit` idle buffers (what the migrations that run at
// once reuse), the largest it was given back, and unmaps the others, so a pool that served N
// migrations of one size, at most `idle_limit` of them at a time, mapped at most `idle_limit`
// buffers. A lease must not outlive its pool. Thread-safe.
//
// shared(): the process's pool, made by the first caller and destroyed (every buffer unmapped)
// when the last holder lets go; each ExtentMigrator holds it, so a gateway with no tiered LUN open
// holds no copy buffer. Its idle limit is the gateway's migration concurrency: the gateway's
// migration executor (engine/migration_executor.h) has RoundDriver::kSharedWorkers workers, each
// migrating one extent at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "ceph/status.h"

namespace rbdtier::ceph {

class CopyBuffer {
public:
    // `bytes` (rounded up to whole pages) mapped now; -ENOMEM (with the size) when the OS refuses.
    static Result<CopyBuffer> map(std::size_t bytes);

    CopyBuffer() = default;
    ~CopyBuffer();
    CopyBuffer(CopyBuffer&& other) noexcept;
    CopyBuffer& operator=(CopyBuffer&& other) noexcept;
    CopyBuffer(const CopyBuffer&) = delete;
    CopyBuffer& operator=(const CopyBuffer&) = delete;

    char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    CopyBuffer(char* data, std::size_t size) : data_(data), size_(size) {}
    void unmap();

    char* data_ = nullptr;
    std::size_t size_ = 0;
};

class CopyBufferPool {
public:
    // A buffer lent by the pool; back to the pool when destroyed. Move-only.
    class Lease {
    public:
        Lease() = default;
        ~Lease();
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&& other) noexcept;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;

        // The first `bytes` asked for (the buffer may be larger).
        std::span<char> bytes() const { return {buffer_.data(), asked_}; }

    private:
        friend class CopyBufferPool;
        Lease(CopyBufferPool* pool, CopyBuffer buffer, std::size_t asked)
            : pool_(pool), buffer_(std::move(buffer)), asked_(asked) {}
        void give_back();

        CopyBufferPool* pool_ = nullptr;
        CopyBuffer buffer_;
        std::size_t asked_ = 0;
    };

    // What the pool did so far.
    struct Stats {
        std::uint64_t mapped_total = 0;  // buffers ever mapped
        std::size_t mapped_now = 0;      // buffers mapped now (lent and idle)
        std::size_t idle = 0;            // of mapped_now: in the pool
    };

    explicit CopyBufferPool(std::size_t idle_limit);
    ~CopyBufferPool();
    CopyBufferPool(const CopyBufferPool&) = delete;
    CopyBufferPool& operator=(const CopyBufferPool&) = delete;

    static std::shared_ptr<CopyBufferPool> shared();

    Result<Lease> acquire(std::size_t bytes);
    Stats stats() const;

private:
    void give_back(CopyBuffer buffer);

    const std::size_t idle_limit_;
    mutable std::mutex mutex_;
    std::vector<CopyBuffer> idle_;
    Stats stats_;
};

}  // namespace rbdtier::ceph
