// Background priority: the gateway's own work (the tiering rounds and their scoring) yields the
// CPU to the threads that serve I/O (tcmu-runner's and librbd's), so that a round's burst of
// planning never delays a command on a gateway with few cores. On Linux the nice value belongs to
// each thread; a thread made background stays so for its life.
//
// make_this_thread_background() raises the calling thread's nice value by kBackgroundNice over
// the process's (capped at 19, the lowest priority) and returns the value it now runs at, or the
// errno of a refusal (the thread then keeps its priority: a round still runs, only sooner).
// BackgroundArenaWorkers: while it lives, every TBB worker thread that enters `arena` becomes
// background (the arena's callers are the rounds' workers, made background by RoundDriver).
// Thread-safe; the arena must outlive the observer.
#pragma once

#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

namespace rbdtier {

// How much lower than the I/O threads the background threads run (nice 5: a quarter of the
// CPU a nice-0 thread gets when both want it; never starved).
inline constexpr int kBackgroundNice = 5;

struct ThreadNice {
    int nice = 0;   // the thread's nice value after the call
    int error = 0;  // 0, or the errno of a refused change
};
ThreadNice make_this_thread_background();

class BackgroundArenaWorkers : public tbb::task_scheduler_observer {
public:
    explicit BackgroundArenaWorkers(tbb::task_arena& arena);
    ~BackgroundArenaWorkers() override;
    BackgroundArenaWorkers(const BackgroundArenaWorkers&) = delete;
    BackgroundArenaWorkers& operator=(const BackgroundArenaWorkers&) = delete;

    void on_scheduler_entry(bool is_worker) override;
};

}  // namespace rbdtier
