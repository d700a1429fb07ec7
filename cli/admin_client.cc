#include "cli/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/admin_protocol.h"
#include "handler/gateway_config.h"

namespace rbdtier::cli {
namespace {

// Owns one file descriptor.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

void check_socket_file(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT)
            throw AdminClientError("no gateway admin socket at " + path +
                                   " (is tcmu-runner running with the rbdtier handler? "
                                   "use --socket PATH)");
        throw AdminClientError("cannot stat " + path + ": " + std::strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) throw AdminClientError(path + " is not a socket");
    if (st.st_mode & 007)
        throw AdminClientError("refusing admin socket " + path + ": mode " +
                               octal_mode(st.st_mode) +
                               " lets every user reach it (it must be 0600, or 0660 with "
                               "admin_socket_group)");
}

}  // namespace

nlohmann::json admin_call(const std::string& socket_path, const nlohmann::json& request,
                          std::chrono::milliseconds timeout) {
    check_socket_file(socket_path);
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw AdminClientError(std::string("socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path))
        throw AdminClientError("socket path too long: " + socket_path);
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int e = errno;
        if (e == ECONNREFUSED)
            throw AdminClientError("no gateway listening on " + socket_path +
                                   " (stale socket file)");
        throw AdminClientError("cannot connect to " + socket_path + ": " + std::strerror(e));
    }
    const std::string wire = encode_admin_request(request);
    // A gateway that refuses the request (too large) may close before all of it is sent; its
    // reply says why, so it is read all the same.
    bool sent = true;
    for (std::size_t done = 0; done < wire.size();) {
        const ssize_t n = ::send(fd.get(), wire.data() + done, wire.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            sent = false;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    // The length, then the body; the reply is complete when `want` bytes have come.
    std::string reply;
    std::size_t want = kAdminLengthBytes;
    bool have_length = false;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (reply.size() < want) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw AdminClientError("no reply from the gateway within the timeout");
        pollfd p{fd.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno != EINTR)
            throw AdminClientError(std::string("poll: ") + std::strerror(errno));
        if (r <= 0) continue;
        char buf[65536];
        const ssize_t n = ::recv(fd.get(), buf, std::min(sizeof(buf), want - reply.size()), 0);
        if (n <= 0)
            throw AdminClientError(sent ? "gateway closed the connection without a reply"
                                        : "gateway closed the connection while sending the "
                                          "request");
        reply.append(buf, static_cast<std::size_t>(n));
        if (!have_length && reply.size() == kAdminLengthBytes) {
            const std::uint32_t length = admin_reply_length(reply);
            if (length > kAdminMaxReplyBytes)
                throw AdminClientError("gateway announced a reply of " + std::to_string(length) +
                                       " bytes, more than the " +
                                       std::to_string(kAdminMaxReplyBytes) + " accepted");
            reply.clear();
            want = length;
            have_length = true;
        }
    }
    std::optional<AdminReply> parsed = parse_admin_reply_body(reply);
    if (!parsed) throw AdminClientError("gateway sent a malformed reply");
    if (parsed->error != 0) return {{"error", parsed->message}};
    return {{"result", std::move(parsed->result)}};
}

std::string resolve_admin_socket(const std::string& explicit_path, const std::string& config_path) {
    if (!explicit_path.empty()) return explicit_path;
    struct stat st {};
    if (::stat(config_path.c_str(), &st) != 0) return GatewayConfig{}.admin_socket;
    const ConfigOutcome outcome = load_gateway_config(config_path);
    if (!outcome.ok()) throw AdminClientError(outcome.message());
    return outcome.config->admin_socket;
}

}  // namespace rbdtier::cli
