#include "engine/scoring_arena.h"

#include <map>
#include <memory>
#include <mutex>

#include "engine/background_priority.h"

namespace rbdtier {

namespace {

// An arena and the observer that makes its workers background.
struct BackgroundArena {
    tbb::task_arena arena;
    BackgroundArenaWorkers workers{arena};
    explicit BackgroundArena(int slots) : arena(slots) { arena.initialize(); }
};

}  // namespace

tbb::task_arena& ScoringArena::process_wide(std::size_t threads) {
    static std::mutex mutex;
    // Made once and never destroyed (see the header): neither at the last holder's release nor
    // by the process's static destructors.
    static auto* const arenas = new std::map<std::size_t, std::unique_ptr<BackgroundArena>>;
    std::lock_guard lock(mutex);
    std::unique_ptr<BackgroundArena>& slot = (*arenas)[threads];
    if (!slot)
        slot = std::make_unique<BackgroundArena>(threads == 0 ? tbb::task_arena::automatic
                                                              : static_cast<int>(threads));
    return slot->arena;
}

}  // namespace rbdtier
