// AdminSocket: the gateway's admin socket, a Unix domain stream socket that speaks the admin
// socket protocol of the Ceph daemons (what `ceph daemon PATH CMD` and `ceph --admin-daemon PATH
// CMD` send), served with Boost.Asio on a thread of its own (never on an I/O thread).
//
// Protocol, one exchange per connection: the client sends a JSON object whose "prefix" names the
// command, with the command's arguments beside it, ended by a NUL byte (a newline also ends it);
// the server answers with a 4-byte big-endian length and that many bytes, then closes. Success is
// the command's result as JSON (pretty-printed unless the request has "format":"json"); failure
// is "ERROR: (<errno>) <strerror>\n<message>\n", as Ceph daemons answer. The socket frames and
// guards; the handler answers every well-formed request (a JSON object with a string "prefix").
// A request longer than max_request_bytes, or not complete within read_timeout, is answered
// with such an error and the connection closed, so a slow or hostile client never stalls
// another one. The handler runs on the socket's thread: it must be thread-safe with respect to
// the rest of the gateway and should not block for long.
//
// The socket file is created owner-only (0600). start() refuses a path where a live socket
// answers, or that exists and is not a socket; a stale socket file is replaced. The file is
// removed by stop() / the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace rbdtier {

struct AdminSocketOptions {
    std::string path;
    std::size_t max_request_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{5000};
};

// What a command answers: its result, or an errno and a message.
struct AdminReply {
    int error = 0;  // 0: success; else a positive errno (EINVAL, ENOENT, ...)
    std::string message;
    nlohmann::json result;

    static AdminReply ok(nlohmann::json result) { return {0, {}, std::move(result)}; }
    static AdminReply failure(int error, std::string message) {
        return {error, std::move(message), nullptr};
    }
};

// The reply's bytes after the length: the result as JSON, or Ceph's "ERROR: ..." text.
std::string admin_reply_body(const AdminReply& reply, bool pretty);

class AdminSocket {
public:
    using Handler = std::function<AdminReply(const nlohmann::json& request)>;

    // Binds and starts serving; on failure returns nullptr and sets `error`.
    static std::unique_ptr<AdminSocket> start(AdminSocketOptions options, Handler handler,
                                              std::string& error);
    ~AdminSocket();
    AdminSocket(const AdminSocket&) = delete;
    AdminSocket& operator=(const AdminSocket&) = delete;

    const std::string& path() const;
    void stop();

    struct Impl;

private:
    explicit AdminSocket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace rbdtier
