#include "engine/trace/volume_table.h"

namespace rbdtier {

std::uint32_t NameIds::id_of(std::string_view name) {
    if (has_last_ && name == last_name_) return last_id_;
    auto it = ids_.find(name);
    std::uint32_t id;
    if (it != ids_.end()) {
        id = it->second;
    } else {
        id = static_cast<std::uint32_t>(names_.size());
        names_.emplace_back(name);
        ids_.emplace(std::string(name), id);
    }
    last_name_.assign(name);
    last_id_ = id;
    has_last_ = true;
    return id;
}

}  // namespace rbdtier
