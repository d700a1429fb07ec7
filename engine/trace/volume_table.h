// VolumeTable: names found in a trace (volume keys, initiators) -> dense LUN / initiator ids.
//
// Ids are given in order of first appearance, starting at 0. Lookups take string_views and
// allocate only for a new name. Not thread-safe (one per reader).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/io_event.h"

namespace rbdtier {

class NameIds {
public:
    std::uint32_t id_of(std::string_view name);
    const std::vector<std::string>& names() const { return names_; }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> ids_;
    std::vector<std::string> names_;
    std::string last_name_;
    std::uint32_t last_id_ = 0;
    bool has_last_ = false;
};

struct VolumeTable {
    NameIds luns;        // volume key -> LunId
    NameIds initiators;  // initiator (host) -> InitiatorId
};

}  // namespace rbdtier
