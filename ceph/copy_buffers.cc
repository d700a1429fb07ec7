#include "ceph/copy_buffers.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "engine/round_driver.h"

namespace rbdtier::ceph {

Result<CopyBuffer> CopyBuffer::map(std::size_t bytes) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t size = std::max<std::size_t>((bytes + page - 1) / page * page, page);
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return Status::error(-errno, "map a copy buffer of " + std::to_string(size) + " bytes");
    }
    return CopyBuffer(static_cast<char*>(p), size);
}

CopyBuffer::~CopyBuffer() {
    unmap();
}

CopyBuffer::CopyBuffer(CopyBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

CopyBuffer& CopyBuffer::operator=(CopyBuffer&& other) noexcept {
    if (this != &other) {
        unmap();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void CopyBuffer::unmap() {
    if (data_ != nullptr) (void)::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
}

CopyBufferPool::Lease::~Lease() {
    give_back();
}

CopyBufferPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      buffer_(std::move(other.buffer_)),
      asked_(std::exchange(other.asked_, 0)) {}

CopyBufferPool::Lease& CopyBufferPool::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        give_back();
        pool_ = std::exchange(other.pool_, nullptr);
        buffer_ = std::move(other.buffer_);
        asked_ = std::exchange(other.asked_, 0);
    }
    return *this;
}

void CopyBufferPool::Lease::give_back() {
    if (pool_ != nullptr) std::exchange(pool_, nullptr)->give_back(std::move(buffer_));
    asked_ = 0;
}

CopyBufferPool::CopyBufferPool(std::size_t idle_limit) : idle_limit_(idle_limit) {}

CopyBufferPool::~CopyBufferPool() = default;

std::shared_ptr<CopyBufferPool> CopyBufferPool::shared() {
    static std::mutex mutex;
    static std::weak_ptr<CopyBufferPool> current;
    std::lock_guard lock(mutex);
    if (auto pool = current.lock()) return pool;
    auto pool = std::make_shared<CopyBufferPool>(RoundDriver::kSharedWorkers);
    current = pool;
    return pool;
}

Result<CopyBufferPool::Lease> CopyBufferPool::acquire(std::size_t bytes) {
    {
        std::lock_guard lock(mutex_);
        // The smallest idle buffer that holds `bytes`.
        auto best = idle_.end();
        for (auto it = idle_.begin(); it != idle_.end(); ++it) {
            if (it->size() >= bytes && (best == idle_.end() || it->size() < best->size()))
                best = it;
        }
        if (best != idle_.end()) {
            CopyBuffer buffer = std::move(*best);
            idle_.erase(best);
            stats_.idle = idle_.size();
            return Lease(this, std::move(buffer), bytes);
        }
    }
    auto buffer = CopyBuffer::map(bytes);
    if (!buffer) return buffer.status();
    std::lock_guard lock(mutex_);
    ++stats_.mapped_total;
    ++stats_.mapped_now;
    return Lease(this, std::move(buffer).value(), bytes);
}

void CopyBufferPool::give_back(CopyBuffer buffer) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < idle_limit_) {
        idle_.push_back(std::move(buffer));
    } else {
        // Full: the smallest of the idle buffers and this one goes (the larger serve any LUN's
        // extents), unmapped with the lock held: a few microseconds, only above the idle limit.
        auto smallest = std::min_element(
            idle_.begin(), idle_.end(),
            [](const CopyBuffer& a, const CopyBuffer& b) { return a.size() < b.size(); });
        if (smallest != idle_.end() && smallest->size() < buffer.size())
            std::swap(*smallest, buffer);
        buffer = CopyBuffer();
        --stats_.mapped_now;
    }
    stats_.idle = idle_.size();
}

CopyBufferPool::Stats CopyBufferPool::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace rbdtier::ceph
