// InitiatorNames: the names behind the 32-bit initiator ids (name_id) a LUN's commands carry, so
// that what the engine reports per initiator (alerts) can say who. note() runs on the I/O path:
// an id seen before costs one relaxed atomic load (a direct-mapped cache of recent ids); a new
// id takes a mutex and a copy of its name once. At most kMaxNames names are kept (later ones stay
// unnamed). name_of() is for the admin thread. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace rbdtier {

// 32-bit FNV-1a of a name; never 0 (0 = the "shared" initiator / unknown). Also the LUN ids.
std::uint32_t name_id(const char* name) noexcept;

class InitiatorNames {
public:
    static constexpr std::size_t kMaxNames = 1024;

    void note(std::uint32_t id, const char* name) {
        std::atomic<std::uint32_t>& slot = recent_[id % recent_.size()];
        if (id == 0 || slot.load(std::memory_order_relaxed) == id) return;
        remember(id, name);
        slot.store(id, std::memory_order_relaxed);
    }
    std::optional<std::string> name_of(std::uint32_t id) const;

private:
    void remember(std::uint32_t id, const char* name);

    std::array<std::atomic<std::uint32_t>, 64> recent_{};
    mutable std::mutex mutex_;
    std::unordered_map<std::uint32_t, std::string> names_;
};

}  // namespace rbdtier
