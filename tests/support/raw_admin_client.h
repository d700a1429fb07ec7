// RawClient: one connection to a gateway's admin socket (handler/admin_socket.h), spoken to raw,
// for tests that must send what no well-behaved client would (malformed JSON, oversized lines,
// nothing at all). Header-only; gtest checks in request(). Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace rbdtier::test_support {

class RawClient {
public:
    explicit RawClient(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
        connected_ =
            fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    }
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }

    // Sends all of `data`; false when the peer closed (e.g. cut a huge request).
    bool send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }
    // One line within `deadline`, or nullopt (timeout or EOF before a newline).
    std::optional<std::string> line(
        std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            if (auto nl = pending_.find('\n'); nl != std::string::npos) {
                std::string out = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return out;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
            if (n <= 0) return std::nullopt;
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }
    // True when the server closed the connection within `deadline`.
    bool closed_within(std::chrono::milliseconds deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return false;
        char c;
        return ::recv(fd_, &c, 1, MSG_DONTWAIT) == 0 || (p.revents & (POLLHUP | POLLERR));
    }
    // One request, its reply (null, with a gtest failure, when none comes).
    nlohmann::json request(const nlohmann::json& r) {
        EXPECT_TRUE(send(r.dump() + "\n"));
        auto l = line();
        EXPECT_TRUE(l.has_value());
        return l ? nlohmann::json::parse(*l) : nlohmann::json();
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string pending_;
};

}  // namespace rbdtier::test_support
