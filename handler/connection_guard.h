// Connection guards shared by the gateway's servers (admin socket, metrics endpoint): what keeps
// one hostile or broken client from stalling the others or growing the process without bound.
//
// SessionLimit: the open sessions of one server, oldest first, at most max() of them. admit()
// registers a session; when max() are already open, the oldest is cut first to make room (a
// client that sends its request at once is never the oldest for long, so a flood of idle
// connections cannot keep a real one out). A cut session is out of the table at once and its
// cut() closes its connection. A Member leaves on destruction.
// AcceptPause: what an acceptor does after a failed accept. Re-arming at once is what makes an
// acceptor spin when the process is out of descriptors (EMFILE/ENFILE): the listening socket
// stays readable and every accept fails again. It waits `pause` first, then accepts again.
// accept_sessions: a server's accept loop, on these three: accepts until the acceptor is closed or
// its io_context stops; a failed accept is logged and retried after the AcceptPause; each
// accepted socket becomes a session (make(socket): a shared_ptr to a SessionLimit::Member with
// start()), admitted to the SessionLimit (logged when the oldest was cut) and started.
// ServerLog: a warning sink that says each kind of trouble at most once per `period`, with the
// number of times it happened since, so a flood cannot flood the log.
//
// Not thread-safe: each object belongs to one server's I/O thread (ServerLog's sink is called
// from it). A SessionLimit must outlive its Members (declare it before the io_context).
#pragma once

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>

namespace rbdtier {

using ServerLogSink = std::function<void(const std::string& line)>;

class ServerLog {
public:
    explicit ServerLog(ServerLogSink sink,
                       std::chrono::milliseconds period = std::chrono::seconds(10))
        : sink_(std::move(sink)), period_(period) {}
    // Says "<line>" (with " (N more since the last report)" when some were held back) unless
    // `kind` was said less than `period` ago.
    void warn(const std::string& kind, const std::string& line);

private:
    struct Kind {
        std::chrono::steady_clock::time_point last{};
        std::uint64_t held = 0;
        bool said = false;
    };
    ServerLogSink sink_;
    std::chrono::milliseconds period_;
    std::map<std::string, Kind> kinds_;
};

class SessionLimit {
public:
    class Member {
    public:
        virtual ~Member();
        // Closes the connection because a newer one needed the room; `why` is the error text.
        virtual void cut(const std::string& why) = 0;

    private:
        friend class SessionLimit;
        SessionLimit* limit_ = nullptr;  // null: not (or no longer) in the table
        std::list<Member*>::iterator slot_;
    };

    explicit SessionLimit(std::size_t max) : max_(max == 0 ? 1 : max) {}
    SessionLimit(const SessionLimit&) = delete;
    SessionLimit& operator=(const SessionLimit&) = delete;

    // Registers `m`, cutting the oldest session first when max() are open; true when one was
    // cut.
    bool admit(Member& m);
    std::size_t open() const { return members_.size(); }
    std::size_t max() const { return max_; }
    std::uint64_t cut_count() const { return cuts_; }

private:
    void leave(Member& m);

    const std::size_t max_;
    std::list<Member*> members_;  // oldest first
    std::uint64_t cuts_ = 0;
};

class AcceptPause {
public:
    AcceptPause(boost::asio::any_io_executor executor, std::chrono::milliseconds pause)
        : timer_(std::move(executor)), pause_(pause) {}
    // Calls `accept` again after `pause` (not when the timer is cancelled: the server stops).
    void then(std::function<void()> accept);
    void cancel() { timer_.cancel(); }
    std::uint64_t pauses() const { return pauses_; }
    std::chrono::milliseconds pause() const { return pause_; }

private:
    boost::asio::steady_timer timer_;
    std::chrono::milliseconds pause_;
    std::uint64_t pauses_ = 0;
};

// `server` names the server in the log ("admin socket PATH"), `sessions_word` its sessions
// ("sessions", "connections"). Everything passed must outlive the loop (the server's Impl).
template <class Acceptor, class MakeSession>
void accept_sessions(Acceptor& acceptor, AcceptPause& pause, SessionLimit& sessions, ServerLog& log,
                     const std::string& server, const char* sessions_word, MakeSession make) {
    acceptor.async_accept([&acceptor, &pause, &sessions, &log, &server, sessions_word, make](
                              boost::system::error_code ec, auto socket) {
        auto again = [&acceptor, &pause, &sessions, &log, &server, sessions_word, make] {
            accept_sessions(acceptor, pause, sessions, log, server, sessions_word, make);
        };
        if (ec == boost::asio::error::operation_aborted) return;
        if (ec) {  // out of descriptors (EMFILE/ENFILE) above all: wait, never spin
            log.warn("accept", server + ": accept failed (" + ec.message() +
                                   "); accepting again in " +
                                   std::to_string(pause.pause().count()) + " ms");
            return pause.then(again);
        }
        auto session = make(std::move(socket));
        if (sessions.admit(*session))
            log.warn("sessions", server + ": more than " + std::to_string(sessions.max()) + " " +
                                     sessions_word + "; the oldest closed to make room");
        session->start();
        again();
    });
}

}  // namespace rbdtier
