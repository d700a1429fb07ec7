#include "engine/scoring_arena.h"

#include <map>
#include <mutex>

namespace rbdtier {

std::shared_ptr<tbb::task_arena> ScoringArena::process_wide(std::size_t threads) {
    static std::mutex mutex;
    static std::map<std::size_t, std::weak_ptr<tbb::task_arena>> arenas;
    std::lock_guard lock(mutex);
    std::weak_ptr<tbb::task_arena>& slot = arenas[threads];
    if (auto arena = slot.lock()) return arena;
    auto arena = std::make_shared<tbb::task_arena>(threads == 0 ? tbb::task_arena::automatic
                                                                : static_cast<int>(threads));
    slot = arena;
    return arena;
}

}  // namespace rbdtier
