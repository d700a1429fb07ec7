#include "engine/extent_table.h"

#include <algorithm>

namespace rbdtier {

ExtentTable::ExtentTable(std::size_t max_entries, std::size_t initial_capacity)
    : max_entries_(max_entries), initial_capacity_(std::max<std::size_t>(initial_capacity, 16)) {}

ExtentStats* ExtentTable::find(ExtentKey key) {
    return const_cast<ExtentStats*>(static_cast<const ExtentTable*>(this)->find(key));
}

const ExtentStats* ExtentTable::find(ExtentKey key) const {
    const std::size_t cap = slots_.size();
    std::size_t i = index_of(key);
    for (std::size_t probes = 0; probes < cap; ++probes) {
        const ExtentStats& s = slots_[i];
        if (s.key == key) return &s;
        if (s.empty()) return nullptr;
        if (++i == cap) i = 0;
    }
    return nullptr;
}

ExtentStats* ExtentTable::find_or_insert(ExtentKey key) {
    if (ExtentStats* s = find(key)) return s;
    if (size_ >= max_entries_) return nullptr;
    if (slots_.empty()) slots_.assign(initial_capacity_, ExtentStats{});
    if ((size_ + 1) * 100 > slots_.size() * 88) grow();
    std::size_t i = index_of(key);
    while (!slots_[i].empty()) {
        if (++i == slots_.size()) i = 0;
    }
    slots_[i] = ExtentStats{};
    slots_[i].key = key;
    ++size_;
    return &slots_[i];
}

void ExtentTable::insert_fresh(const ExtentStats& stats) {
    std::size_t i = index_of(stats.key);
    while (!slots_[i].empty()) {
        if (++i == slots_.size()) i = 0;
    }
    slots_[i] = stats;
    ++size_;
}

void ExtentTable::grow() {
    std::vector<ExtentStats> old;
    old.swap(slots_);
    slots_.assign(old.size() + old.size() / 4 + 16, ExtentStats{});
    slots_.shrink_to_fit();
    size_ = 0;
    for (const auto& s : old)
        if (!s.empty()) insert_fresh(s);
}

void ExtentTable::rebuild(const std::function<bool(const ExtentStats&)>& keep) {
    std::vector<ExtentStats> old;
    old.swap(slots_);
    std::size_t live = 0;
    for (const auto& s : old)
        if (!s.empty() && keep(s)) ++live;
    slots_.assign(std::max<std::size_t>(16, live * 100 / 80 + 16), ExtentStats{});
    slots_.shrink_to_fit();
    size_ = 0;
    for (const auto& s : old)
        if (!s.empty() && keep(s)) insert_fresh(s);
}

}  // namespace rbdtier
