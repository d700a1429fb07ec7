// How many threads this process has now, as the kernel counts them; header-only.
//
// process_threads(): all of them (the "Threads:" line of /proc/self/status; 0 when unreadable).
// threads_named_as_process(): those whose name (/proc/self/task/*/comm) is the process's own, the
// main thread's. librados and librbd name every thread they start (msgr-worker-0, tp_librbd,
// safe_timer, ...); a thread started without a name of its own inherits its creator's, so the
// threads of rbdtier (and of the test) started from the process's threads keep the process's
// name: this counts them apart from the Ceph libraries' threads.
// threads_named(name): those named `name` (e.g. "tp_librbd", one of librbd's thread pools).
// proc_self_status(key): any other number of /proc/self/status, e.g. "RssAnon:".
#pragma once

#include <dirent.h>

#include <fstream>
#include <string>

namespace rbdtier::test_support {

// The number on the `key` line of /proc/self/status (e.g. "Threads:", "RssAnon:" in KiB); 0 when
// unreadable.
inline unsigned long proc_self_status(const std::string& key) {
    std::ifstream status("/proc/self/status");
    std::string word;
    while (status >> word) {
        if (word == key) {
            unsigned long n = 0;
            status >> n;
            return n;
        }
        status.ignore(4096, '\n');
    }
    return 0;
}

inline unsigned long process_threads() {
    return proc_self_status("Threads:");
}

namespace detail {
inline std::string thread_name(const std::string& comm_path) {
    std::ifstream comm(comm_path);
    std::string name;
    std::getline(comm, name);
    return name;
}
}  // namespace detail

inline unsigned long threads_named(const std::string& name) {
    unsigned long n = 0;
    if (DIR* tasks = ::opendir("/proc/self/task")) {
        while (const dirent* e = ::readdir(tasks)) {
            if (e->d_name[0] == '.') continue;
            if (detail::thread_name(std::string("/proc/self/task/") + e->d_name + "/comm") == name)
                ++n;
        }
        ::closedir(tasks);
    }
    return n;
}

inline unsigned long threads_named_as_process() {
    return threads_named(detail::thread_name("/proc/self/comm"));
}

}  // namespace rbdtier::test_support
