// AdminClient: one request/reply exchange with a running gateway's admin socket.
//
// admin_call() checks the socket before talking to it (it must exist, be a socket, and be
// owner-only: a socket others can reach is refused, since anyone could then steer the gateway),
// connects, and speaks the gateway's admin-socket protocol (common/admin_protocol.h, Ceph's):
// the request with "format":"json", NUL-terminated; back a 4-byte big-endian length and that
// many bytes, within `timeout`. It returns {"result": <the command's JSON>} or, when the gateway
// refused the request ("ERROR: (errno) ...\n<message>\n"), {"error": "<message>"}. Transport
// problems and replies that are neither become AdminClientError with a message a person can act on.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace rbdtier::cli {

struct AdminClientError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

nlohmann::json admin_call(const std::string& socket_path, const nlohmann::json& request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The admin socket to use: `explicit_path` if given, else the one `config_path` names, else the
// built-in default. A config file that exists but is bad is an AdminClientError.
std::string resolve_admin_socket(const std::string& explicit_path, const std::string& config_path);

}  // namespace rbdtier::cli
