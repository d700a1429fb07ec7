#include "engine/scoring_arena.h"

#include <map>
#include <mutex>

#include "engine/background_priority.h"

namespace rbdtier {

std::shared_ptr<tbb::task_arena> ScoringArena::process_wide(std::size_t threads) {
    static std::mutex mutex;
    static std::map<std::size_t, std::weak_ptr<tbb::task_arena>> arenas;
    std::lock_guard lock(mutex);
    std::weak_ptr<tbb::task_arena>& slot = arenas[threads];
    if (auto arena = slot.lock()) return arena;
    // The arena and the observer that makes its workers background live and die together.
    struct Held {
        tbb::task_arena arena;
        BackgroundArenaWorkers workers{arena};
        explicit Held(int slots) : arena(slots) { arena.initialize(); }
    };
    auto held = std::make_shared<Held>(threads == 0 ? tbb::task_arena::automatic
                                                    : static_cast<int>(threads));
    std::shared_ptr<tbb::task_arena> arena(held, &held->arena);
    slot = arena;
    return arena;
}

}  // namespace rbdtier
