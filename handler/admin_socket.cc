#include "handler/admin_socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "handler/connection_guard.h"

namespace rbdtier {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

std::string answer_admin_request(std::string_view request, const AdminSocket::Handler& handler) {
    const nlohmann::json parsed = nlohmann::json::parse(request, nullptr, false);
    bool pretty = true;
    AdminReply reply;
    if (auto problem = admin_request_problem(parsed)) {
        reply = AdminReply::failure(EINVAL, *problem);
    } else {
        auto f = parsed.find(kAdminFormatKey);
        pretty = f == parsed.end() || *f != "json";
        try {
            reply = handler(parsed);
        } catch (const std::exception& e) {
            reply = AdminReply::failure(EIO, std::string("internal error: ") + e.what());
        }
    }
    return admin_reply_body(reply, pretty);
}

namespace {

// True when something accepts connections at `path`.
bool socket_answers(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

constexpr std::size_t kReadChunk = 4096;

// One exchange: reads a request up to its NUL (or newline), answers it, closes. The deadline
// bounds the request's arrival and, re-armed, the reply's departure.
class Session : public std::enable_shared_from_this<Session>, public SessionLimit::Member {
public:
    Session(Local::socket socket, const AdminSocketOptions& options,
            const AdminSocket::Handler& handler, ServerLog& log)
        : socket_(std::move(socket)),
          deadline_(socket_.get_executor()),
          options_(options),
          handler_(handler),
          log_(log) {}

    // Too many sessions: this one, the oldest, makes room at once. The reason is written
    // without blocking (it fits the socket's buffer of a client that has read nothing).
    void cut(const std::string& why) override {
        if (state_ == State::kReading) {
            const std::string frame =
                frame_admin_reply(admin_reply_body(AdminReply::failure(EAGAIN, why), true));
            boost::system::error_code ignored;
            socket_.non_blocking(true, ignored);
            socket_.write_some(asio::buffer(frame), ignored);
        }
        close();
    }

    void start() {
        arm_deadline();
        read_more();
    }

private:
    enum class State { kReading, kReplying, kClosed };

    void arm_deadline() {
        auto self = shared_from_this();
        deadline_.expires_after(options_.read_timeout);
        deadline_.async_wait([self](boost::system::error_code ec) {
            if (ec) return;  // re-armed or cancelled
            const std::string ms = std::to_string(self->options_.read_timeout.count()) + " ms";
            if (self->state_ == State::kReading) {
                self->log_.warn("timeout", "admin socket " + self->options_.path +
                                               ": a client sent no complete request within " + ms +
                                               "; closed");
                self->refuse(ETIMEDOUT, "no complete request within " + ms);
            } else {
                self->log_.warn("slow reader", "admin socket " + self->options_.path +
                                                   ": a client did not read its reply within " +
                                                   ms + "; closed");
                self->close();
            }
        });
    }

    void read_more() {
        auto self = shared_from_this();
        const std::size_t have = request_.size();
        const std::size_t room = std::min(kReadChunk, options_.max_request_bytes + 1 - have);
        request_.resize(have + room);
        socket_.async_read_some(asio::buffer(request_.data() + have, room),
                                [self, have](boost::system::error_code ec, std::size_t n) {
                                    self->request_.resize(have + n);
                                    self->on_read(ec, have);
                                });
    }

    void on_read(boost::system::error_code ec, std::size_t from) {
        if (state_ != State::kReading) return;
        const auto end = admin_request_end(request_, from);
        if (end != std::string::npos) {
            request_.resize(end);
            return answer();
        }
        if (ec) return close();  // gone before its request was complete
        if (request_.size() > options_.max_request_bytes) {
            const std::string why =
                "request larger than " + std::to_string(options_.max_request_bytes) + " bytes";
            log_.warn("size", "admin socket " + options_.path + ": " + why + " refused");
            return refuse(EMSGSIZE, why);
        }
        read_more();
    }

    void answer() {
        const std::string body = answer_admin_request(request_, handler_);
        std::string().swap(request_);
        send(body);
    }

    void refuse(int error, const std::string& message) {
        send(admin_reply_body(AdminReply::failure(error, message), true));
    }

    void send(const std::string& body) {
        state_ = State::kReplying;
        reply_ = frame_admin_reply(body);
        arm_deadline();
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(reply_),
                          [self](boost::system::error_code, std::size_t) { self->close(); });
    }

    void close() {
        state_ = State::kClosed;
        deadline_.cancel();
        boost::system::error_code ignored;
        socket_.shutdown(Local::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    Local::socket socket_;
    asio::steady_timer deadline_;
    const AdminSocketOptions& options_;
    const AdminSocket::Handler& handler_;
    ServerLog& log_;
    State state_ = State::kReading;
    std::string request_;
    std::string reply_;
};

}  // namespace

struct AdminSocket::Impl {
    explicit Impl(AdminSocketOptions o)
        : options(std::move(o)),
          log(options.log),
          sessions(options.max_sessions),
          pause(io.get_executor(), options.accept_pause),
          name("admin socket " + options.path) {}

    AdminSocketOptions options;
    Handler handler;
    ServerLog log;
    SessionLimit sessions;  // before io: the sessions io holds leave it when io goes
    asio::io_context io{1};
    Local::acceptor acceptor{io};
    AcceptPause pause;
    const std::string name;  // in the log
    std::thread thread;
    bool stopped = false;

    void accept() {
        accept_sessions(acceptor, pause, sessions, log, name, "sessions", [this](auto socket) {
            return std::make_shared<Session>(std::move(socket), options, handler, log);
        });
    }
};

std::unique_ptr<AdminSocket> AdminSocket::start(AdminSocketOptions options, Handler handler,
                                                std::string& error) {
    auto impl = std::make_unique<Impl>(std::move(options));
    impl->handler = std::move(handler);
    const std::string& path = impl->options.path;
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        error = "admin socket path '" + path + "' is empty or too long";
        return nullptr;
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            error = "admin socket path " + path + " exists and is not a socket";
            return nullptr;
        }
        if (socket_answers(path)) {
            error = "admin socket " + path + " is in use by another process";
            return nullptr;
        }
        ::unlink(path.c_str());  // stale, from a gateway that died
    }
    boost::system::error_code ec;
    impl->acceptor.open(Local(), ec);
    // The mode of the socket inode is the mode the bound file gets: owner-only from the start.
    if (!ec && ::fchmod(impl->acceptor.native_handle(), 0600) != 0)
        ec.assign(errno, boost::system::system_category());
    if (!ec) impl->acceptor.bind(Local::endpoint(path), ec);
    if (!ec && ::chmod(path.c_str(), 0600) != 0) ec.assign(errno, boost::system::system_category());
    if (!ec && !impl->options.group.empty()) {
        // The admins' group: read/write for its members, still nobody else.
        group buf{};
        group* found = nullptr;
        std::vector<char> names(16384);
        const int rc =
            ::getgrnam_r(impl->options.group.c_str(), &buf, names.data(), names.size(), &found);
        if (rc != 0 || found == nullptr) {
            error = "admin socket " + path + ": group '" + impl->options.group +
                    "' (admin_socket_group) " +
                    (rc != 0 ? std::string("cannot be read: ") + std::strerror(rc)
                             : std::string("does not exist"));
            boost::system::error_code ignored;
            impl->acceptor.close(ignored);
            ::unlink(path.c_str());
            return nullptr;
        }
        if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0 ||
            ::chmod(path.c_str(), 0660) != 0)
            ec.assign(errno, boost::system::system_category());
    }
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "admin socket " + path + ": " + ec.message();
        boost::system::error_code ignored;
        impl->acceptor.close(ignored);
        ::unlink(path.c_str());
        return nullptr;
    }
    impl->accept();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
    return std::unique_ptr<AdminSocket>(new AdminSocket(std::move(impl)));
}

AdminSocket::AdminSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminSocket::~AdminSocket() {
    stop();
}

const std::string& AdminSocket::path() const {
    return impl_->options.path;
}

void AdminSocket::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    ::unlink(impl_->options.path.c_str());
}

}  // namespace rbdtier
