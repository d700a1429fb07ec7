#include "engine/background_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rbdtier {

ThreadNice make_this_thread_background() {
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    const int process_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::getpid()));
    const int target = std::min(process_nice + kBackgroundNice, 19);
    errno = 0;
    const int now = ::getpriority(PRIO_PROCESS, tid);
    if (now >= target) return {now, 0};
    if (::setpriority(PRIO_PROCESS, tid, target) != 0) return {now, errno};
    return {target, 0};
}

BackgroundArenaWorkers::BackgroundArenaWorkers(tbb::task_arena& arena)
    : tbb::task_scheduler_observer(arena) {
    observe(true);
}

BackgroundArenaWorkers::~BackgroundArenaWorkers() {
    observe(false);
}

void BackgroundArenaWorkers::on_scheduler_entry(bool is_worker) {
    if (is_worker) make_this_thread_background();
}

}  // namespace rbdtier
