#include "handler/initiator_names.h"

namespace rbdtier {

std::uint32_t name_id(const char* name) noexcept {
    if (name == nullptr || *name == '\0') return 0;
    std::uint32_t h = 2166136261u;
    for (const char* p = name; *p != '\0'; ++p) {
        h ^= static_cast<unsigned char>(*p);
        h *= 16777619u;
    }
    return h == 0 ? 1 : h;
}

void InitiatorNames::remember(std::uint32_t id, const char* name) {
    if (name == nullptr) return;
    std::lock_guard lock(mutex_);
    if (names_.size() < kMaxNames) names_.try_emplace(id, name);
}

std::optional<std::string> InitiatorNames::name_of(std::uint32_t id) const {
    std::lock_guard lock(mutex_);
    auto it = names_.find(id);
    if (it == names_.end()) return std::nullopt;
    return it->second;
}

}  // namespace rbdtier
