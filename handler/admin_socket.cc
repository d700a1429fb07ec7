#include "handler/admin_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

namespace rbdtier {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

nlohmann::json admin_error(const std::string& message) {
    return {{"version", 1}, {"error", message}};
}

nlohmann::json answer_admin_request(std::string_view line, const AdminSocket::Handler& handler) {
    nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) return admin_error("malformed request: not valid JSON");
    if (!request.is_object()) return admin_error("malformed request: not a JSON object");
    try {
        return handler(request);
    } catch (const std::exception& e) {
        return admin_error(std::string("internal error: ") + e.what());
    }
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

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Local::socket socket, const AdminSocketOptions& options,
            const AdminSocket::Handler& handler)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          buffer_(options.max_request_bytes + 1),
          options_(options),
          handler_(handler) {}

    void read() {
        auto self = shared_from_this();
        timer_.expires_after(options_.read_timeout);
        timer_.async_wait([self](boost::system::error_code ec) {
            if (!ec) self->close();  // the client was too slow
        });
        asio::async_read_until(socket_, buffer_, '\n',
                               [self](boost::system::error_code ec, std::size_t n) {
                                   self->timer_.cancel();
                                   self->on_line(ec, n);
                               });
    }

private:
    void on_line(boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::not_found) {
            reply(admin_error("request larger than " + std::to_string(options_.max_request_bytes) +
                              " bytes"),
                  /*then_close=*/true);
            return;
        }
        if (ec) return close();
        std::string line(asio::buffers_begin(buffer_.data()),
                         asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n) - 1);
        buffer_.consume(n);
        reply(answer_admin_request(line, handler_), /*then_close=*/false);
    }

    void reply(const nlohmann::json& body, bool then_close) {
        auto self = shared_from_this();
        auto text = std::make_shared<std::string>(
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        timer_.expires_after(options_.read_timeout);  // a client that never reads is cut too
        timer_.async_wait([self](boost::system::error_code ec) {
            if (!ec) self->close();
        });
        asio::async_write(socket_, asio::buffer(*text),
                          [self, text, then_close](boost::system::error_code ec, std::size_t) {
                              self->timer_.cancel();
                              if (ec || then_close) return self->close();
                              self->read();
                          });
    }

    void close() {
        boost::system::error_code ignored;
        socket_.shutdown(Local::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    Local::socket socket_;
    asio::steady_timer timer_;
    asio::streambuf buffer_;
    const AdminSocketOptions& options_;
    const AdminSocket::Handler& handler_;
};

}  // namespace

struct AdminSocket::Impl {
    AdminSocketOptions options;
    Handler handler;
    asio::io_context io{1};
    Local::acceptor acceptor{io};
    std::thread thread;
    bool stopped = false;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, Local::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) std::make_shared<Session>(std::move(socket), options, handler)->read();
            accept();
        });
    }
};

std::unique_ptr<AdminSocket> AdminSocket::start(AdminSocketOptions options, Handler handler,
                                                std::string& error) {
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
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
