// RawClient: one connection to a gateway's admin socket (handler/admin_socket.h, Ceph's
// protocol), spoken to raw, for tests that must send what no well-behaved client would
// (malformed JSON, oversized requests, a byte at a time, nothing at all). reply() reads one
// length-prefixed reply; request() sends a JSON command NUL-terminated and parses the reply.
// Header-only; gtest checks in request(). Not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
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
    // One reply's body (after its 4-byte big-endian length) within `deadline`, or nullopt
    // (timeout, or EOF before the whole reply).
    std::optional<std::string> reply(
        std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            if (pending_.size() >= 4) {
                std::uint32_t length = 0;
                std::memcpy(&length, pending_.data(), 4);
                length = ntohl(length);
                if (pending_.size() >= 4 + std::size_t{length}) {
                    std::string out = pending_.substr(4, length);
                    pending_.erase(0, 4 + std::size_t{length});
                    return out;
                }
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
    // True when the server has sent something or closed by now; does not wait, reads nothing.
    bool answered_or_closed() const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }
    // One request, its reply (within `deadline`) parsed (null, with a gtest failure, when none
    // comes or it is not JSON, e.g. an "ERROR: ..." reply).
    nlohmann::json request(const nlohmann::json& r,
                           std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
        EXPECT_TRUE(send(r.dump() + std::string(1, '\0')));
        auto body = reply(deadline);
        EXPECT_TRUE(body.has_value());
        if (!body) return nullptr;
        nlohmann::json out = nlohmann::json::parse(*body, nullptr, false);
        EXPECT_FALSE(out.is_discarded()) << *body;
        return out.is_discarded() ? nlohmann::json() : out;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string pending_;
};

}  // namespace rbdtier::test_support
