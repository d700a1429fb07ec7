// ScoringArena: the process's TBB arenas in which every TieringEngine scores its extents, so a
// gateway's scoring threads do not grow with its LUN count (an arena per engine would give each
// LUN's planner its own set of TBB slots).
//
// process_wide(threads): the arena of `threads` worker slots (0: TBB's automatic count), made by
// the first caller and kept until the process ends. Engines configured alike
// (EngineConfig::threads: a gateway's engines all come from one configuration) therefore share
// one arena; engines configured with another count share another. The arena's worker threads run
// at background priority (engine/background_priority.h). An arena is never destroyed: a TBB
// worker holds the arena's observer until it leaves the arena, which may be after the process's
// last holder let go, and an observer destroyed before that is lost when the process exits. An
// idle arena holds no thread (TBB's workers are the process's, not an arena's).
// Thread-safe: any thread may call process_wide(); an arena runs concurrent execute() calls of
// its holders on its slots (tbb::task_arena's own contract).
#pragma once

#include <tbb/task_arena.h>

#include <cstddef>

namespace rbdtier {

class ScoringArena {
public:
    static tbb::task_arena& process_wide(std::size_t threads);
};

}  // namespace rbdtier
