// AdminSocket: the gateway's admin socket, a Unix domain stream socket served with Boost.Asio on
// a thread of its own (never on an I/O thread).
//
// Protocol: one JSON object per line each way. A request is {"version":1,"command":"...",...};
// the socket itself only frames and guards: a line that is not a JSON object gets
// {"version":1,"error":"malformed request: ..."}, a line longer than max_request_bytes gets an
// error and the connection is closed, and a client that does not finish a line within
// read_timeout is disconnected, so a slow or hostile client never stalls another one. Every
// well-formed request goes to the handler, whose reply is sent back as one line. The handler
// runs on the socket's thread: it must be thread-safe with respect to the rest of the gateway
// and should not block for long.
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
#include <string_view>

namespace rbdtier {

struct AdminSocketOptions {
    std::string path;
    std::size_t max_request_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{5000};
};

class AdminSocket {
public:
    using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

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

// One error reply in the protocol's shape.
nlohmann::json admin_error(const std::string& message);

// The reply to one request line (without its '\n'): an error for a line that is not a JSON
// object, else what `handler` answers (its exceptions become "internal error: ..." replies).
// This is all a session does with the bytes of a line; never throws.
nlohmann::json answer_admin_request(std::string_view line, const AdminSocket::Handler& handler);

}  // namespace rbdtier
