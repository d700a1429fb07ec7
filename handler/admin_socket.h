// AdminSocket: the gateway's admin socket, a Unix domain stream socket that speaks the admin
// socket protocol of the Ceph daemons (what `ceph daemon PATH CMD` and `ceph --admin-daemon PATH
// CMD` send), served with Boost.Asio on a thread of its own (never on an I/O thread).
//
// Protocol (common/admin_protocol.h), one exchange per connection: a JSON request ended by a NUL
// (or a newline), answered by a length-prefixed reply, then the connection is closed. The socket
// frames and guards; the handler answers every well-formed request (a JSON object with a string
// "prefix").
//
// Guards, so that no client can stall another or grow the process without bound; each answers
// with such an error, closes the connection and is logged (at most once per kind every 10 s):
// a request longer than max_request_bytes; a request not complete within read_timeout from the
// connection (a byte at a time does not extend it), and a reply not read within it; more than
// max_sessions connections open: the oldest is closed to make room (so idle connections cannot
// lock out a client that sends its request at once). A failed accept (EMFILE/ENFILE: the
// process is out of descriptors) is logged and accepting resumes after accept_pause, never in
// a spin. The handler runs on the socket's thread: it must be thread-safe with respect to the
// rest of the gateway and should not block for long; `log` is called from that thread.
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

#include "common/admin_protocol.h"

namespace rbdtier {

struct AdminSocketOptions {
    std::string path;
    std::string group;  // a group given access (mode 0660) if not empty; else owner only (0600)
    std::size_t max_request_bytes = 64 * 1024;
    std::chrono::milliseconds read_timeout{5000};
    std::size_t max_sessions = 64;
    std::chrono::milliseconds accept_pause{100};
    std::function<void(const std::string& line)> log;  // warnings; null: not logged
};

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

// The reply body to one request (its bytes up to, not including, the NUL or newline): an error
// for what is not a JSON object with a string "prefix", else what `handler` answers (its
// exceptions become EIO replies). All a session does with a request's bytes; never throws.
std::string answer_admin_request(std::string_view request,
                                 const std::function<AdminReply(const nlohmann::json&)>& handler);

}  // namespace rbdtier
