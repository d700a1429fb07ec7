// Descriptor and CPU measurements for the tests of the gateway's servers under hostile load.
//
// open_descriptors(): how many descriptors this process has open (/proc/self/fd).
// cpu_time(): user + system CPU time this process (all its threads) has used (getrusage).
// mostly_idle(cpu, wall): true when `cpu` is under a quarter of `wall`: a thread in a busy loop
// (e.g. an acceptor retrying accept() on EMFILE) uses far more, one that waits uses next to none;
// a relative bound, so a loaded machine's slowness does not decide it.
// raise_descriptor_limit(): raises the soft RLIMIT_NOFILE towards `wanted` (at most the hard
// limit); returns the soft limit in force.
// DescriptorExhaustion: while it lives, the process can open no descriptor: the soft limit is
// lowered to what is open plus a few, and those few are taken by placeholders; release(n) frees
// n of them (for the test's own sockets); the destructor closes them all and restores the limit.
// IdleClients: connections that are opened and then say nothing (a flood of idle clients); a
// connect the server's backlog cannot take yet is retried until a deadline.
// Header-only; not thread-safe (the limit is process-wide: use from one test at a time).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <thread>
#include <vector>

namespace rbdtier::test_support {

inline std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
        --n;  // the directory's own descriptor
    }
    return n;
}

inline std::chrono::microseconds cpu_time() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto us = [](const timeval& t) {
        return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
    };
    return us(u.ru_utime) + us(u.ru_stime);
}

inline bool mostly_idle(std::chrono::microseconds cpu, std::chrono::steady_clock::duration wall) {
    return cpu * 4 < wall;
}

inline rlim_t raise_descriptor_limit(rlim_t wanted) {
    rlimit l{};
    ::getrlimit(RLIMIT_NOFILE, &l);
    if (l.rlim_cur < wanted) {
        l.rlim_cur = l.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, l.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &l);
        ::getrlimit(RLIMIT_NOFILE, &l);
    }
    return l.rlim_cur;
}

class DescriptorExhaustion {
public:
    DescriptorExhaustion() {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        int highest = 0;
        if (DIR* d = ::opendir("/proc/self/fd")) {
            while (const dirent* e = ::readdir(d))
                if (e->d_name[0] != '.') highest = std::max(highest, std::atoi(e->d_name));
            ::closedir(d);
        }
        rlimit low = saved_;
        low.rlim_cur = static_cast<rlim_t>(highest) + 16;
        ::setrlimit(RLIMIT_NOFILE, &low);
        for (;;) {
            const int fd = ::eventfd(0, EFD_CLOEXEC);
            if (fd < 0) break;
            placeholders_.push_back(fd);
        }
    }
    ~DescriptorExhaustion() {
        for (int fd : placeholders_) ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &saved_);
    }
    DescriptorExhaustion(const DescriptorExhaustion&) = delete;
    DescriptorExhaustion& operator=(const DescriptorExhaustion&) = delete;

    // Frees `n` descriptors for the test's own use.
    void release(std::size_t n) {
        for (; n > 0 && !placeholders_.empty(); --n) {
            ::close(placeholders_.back());
            placeholders_.pop_back();
        }
    }

private:
    rlimit saved_{};
    std::vector<int> placeholders_;
};

class IdleClients {
public:
    IdleClients() = default;
    ~IdleClients() {
        for (int fd : fds_) ::close(fd);
    }
    IdleClients(const IdleClients&) = delete;
    IdleClients& operator=(const IdleClients&) = delete;

    // Opens up to `n` connections to `addr` within `deadline`; returns how many are open.
    std::size_t open(const sockaddr* addr, socklen_t length, std::size_t n,
                     std::chrono::milliseconds deadline) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (fds_.size() < n && std::chrono::steady_clock::now() < until) {
            const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd < 0) break;
            if (::connect(fd, addr, length) == 0) {
                fds_.push_back(fd);
                continue;
            }
            if (errno == EINPROGRESS) {  // TCP: wait until it is established
                pollfd p{fd, POLLOUT, 0};
                int error = 0;
                socklen_t len = sizeof(error);
                if (::poll(&p, 1, 1000) == 1 &&
                    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) {
                    fds_.push_back(fd);
                    continue;
                }
            }
            ::close(fd);  // the backlog is full (EAGAIN): let the server catch up
            std::this_thread::yield();
        }
        return fds_.size();
    }
    std::size_t size() const { return fds_.size(); }
    int fd(std::size_t i) const { return fds_.at(i); }

private:
    std::vector<int> fds_;
};

}  // namespace rbdtier::test_support
