#include "handler/admin_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include "tests/support/descriptor_pressure.h"
#include "tests/support/raw_admin_client.h"

namespace rbdtier {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::RawClient;

std::string socket_path(const std::string& stem) {
    return ::testing::TempDir() + "/" + stem + "." + std::to_string(::getpid()) + ".asok";
}

std::string nul(const std::string& request) {
    return request + std::string(1, '\0');
}

// The hostile-client tests assert orderings (one client answered before another is cut) and
// deadlines relative to the server's own read_timeout, never a wall-clock bound on a reply: a
// server that serves its connections one after another fails them whatever the machine's load.
class AdminSocketTest : public ::testing::Test {
protected:
    void SetUp() override { start(300ms); }
    // (Re)starts the test's socket with the given read_timeout.
    void start(std::chrono::milliseconds read_timeout) {
        socket_.reset();
        AdminSocketOptions o;
        o.path = socket_path("admin_socket_test");
        o.max_request_bytes = 1024;
        o.read_timeout = read_timeout;
        o.log = [this](const std::string& line) {
            std::lock_guard lock(mutex_);
            logged_ += line + "\n";
        };
        std::string error;
        socket_ = AdminSocket::start(
            o,
            [this](const json& r) {
                ++handled_;
                if (r["prefix"] == "fail") return AdminReply::failure(ENOENT, "unknown LUN 'x'");
                return AdminReply::ok({{"echo", r}});
            },
            error);
        ASSERT_TRUE(socket_) << error;
    }
    std::string logged() const {
        std::lock_guard lock(mutex_);
        return logged_;
    }
    std::unique_ptr<AdminSocket> socket_;
    std::atomic<int> handled_{0};
    mutable std::mutex mutex_;
    std::string logged_;
};

TEST_F(AdminSocketTest, SocketFileIsOwnerOnly) {
    struct stat st {};
    ASSERT_EQ(::lstat(socket_->path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::getuid());
}

TEST(AdminSocketGroup, AGroupGetsReadWriteAccessAndAnUnknownGroupIsAClearError) {
    group* own = ::getgrgid(::getegid());
    ASSERT_NE(own, nullptr);
    const std::string own_name = own->gr_name;
    const gid_t own_gid = own->gr_gid;
    const auto handler = [](const json&) { return AdminReply::ok({}); };
    AdminSocketOptions o;
    o.path = socket_path("admin_socket_group");
    o.group = own_name;
    std::string error;
    {
        auto socket = AdminSocket::start(o, handler, error);
        ASSERT_TRUE(socket) << error;
        struct stat st {};
        ASSERT_EQ(::lstat(o.path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0660u);
        EXPECT_EQ(st.st_gid, own_gid);
        RawClient c(o.path);
        ASSERT_TRUE(c.connected());
        EXPECT_TRUE(c.send(nul(R"({"prefix":"status"})")));
        EXPECT_TRUE(c.reply(2s).has_value());
    }
    o.group = "no-such-group-rbdtier-test";
    EXPECT_FALSE(AdminSocket::start(o, handler, error));
    EXPECT_NE(error.find("group 'no-such-group-rbdtier-test' (admin_socket_group) does not exist"),
              std::string::npos)
        << error;
    struct stat st {};
    EXPECT_NE(::lstat(o.path.c_str(), &st), 0) << "no socket file is left behind";
}

TEST_F(AdminSocketTest, AnswersOneNulTerminatedCommandPerConnectionLengthFirst) {
    RawClient c(socket_->path());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(nul(R"({"prefix": "status", "n": 1})")));
    auto body = c.reply();
    ASSERT_TRUE(body);
    // json-pretty unless "format":"json", as Ceph daemons answer.
    const json expected = {{"echo", {{"prefix", "status"}, {"n", 1}}}};
    EXPECT_EQ(*body, expected.dump(4) + "\n");
    EXPECT_TRUE(c.closed_within(2000ms)) << "one exchange per connection";

    RawClient compact(socket_->path());
    ASSERT_TRUE(compact.send("{\"prefix\":\"status\",\"format\":\"json\"}\n"));  // \n ends it too
    body = compact.reply();
    ASSERT_TRUE(body);
    EXPECT_EQ(*body, R"({"echo":{"format":"json","prefix":"status"}})");
    EXPECT_EQ(handled_.load(), 2);
}

TEST_F(AdminSocketTest, FailuresAreCephErrorText) {
    RawClient failing(socket_->path());
    ASSERT_TRUE(failing.send(nul(R"({"prefix":"fail"})")));
    EXPECT_EQ(failing.reply(), "ERROR: (2) No such file or directory\nunknown LUN 'x'\n");
    for (const char* bad :
         {R"({"prefix":)", "[1,2]", R"({"command":"status"})", "", R"({"prefix":7})"}) {
        RawClient c(socket_->path());
        ASSERT_TRUE(c.send(nul(bad)));
        const auto body = c.reply();
        ASSERT_TRUE(body) << bad;
        EXPECT_EQ(body->rfind("ERROR: (22) Invalid argument\ninvalid request: ", 0), 0u)
            << bad << " -> " << *body;
    }
    EXPECT_EQ(handled_.load(), 1);
}

TEST_F(AdminSocketTest, HugeRequestIsRefusedAndCut) {
    RawClient c(socket_->path());
    c.send(std::string(1 << 20, 'x'));  // the server may close before all of it is sent
    EXPECT_EQ(c.reply(), "ERROR: (90) Message too long\nrequest larger than 1024 bytes\n");
    EXPECT_TRUE(c.closed_within(2000ms));
    EXPECT_EQ(handled_.load(), 0);
}

// The slow client is cut after 2 s: a server that waited on it before the quick one would answer
// the quick one only after the slow one was cut.
TEST_F(AdminSocketTest, SlowClientDoesNotBlockAnotherAndIsCut) {
    constexpr auto kReadTimeout = 2000ms;
    start(kReadTimeout);
    const auto t0 = std::chrono::steady_clock::now();  // before connect: the deadline starts later
    RawClient slow(socket_->path());
    ASSERT_TRUE(slow.send("{\"prefix\":"));  // and never finishes
    RawClient quick(socket_->path());
    EXPECT_EQ(quick.request({{"prefix", "x"}}, 10 * kReadTimeout)["echo"]["prefix"], "x");
    EXPECT_FALSE(slow.answered_or_closed()) << "the quick client was answered after the slow one";
    EXPECT_EQ(slow.reply(10 * kReadTimeout),
              "ERROR: (110) Connection timed out\nno complete request within 2000 ms\n");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, kReadTimeout) << "cut before its deadline";
    EXPECT_TRUE(slow.closed_within(10 * kReadTimeout));
}

TEST_F(AdminSocketTest, HandlerExceptionBecomesAnError) {
    AdminSocketOptions o;
    o.path = socket_path("admin_socket_throw");
    std::string error;
    auto s = AdminSocket::start(
        o, [](const json&) -> AdminReply { throw std::runtime_error("boom"); }, error);
    ASSERT_TRUE(s) << error;
    RawClient c(o.path);
    ASSERT_TRUE(c.send(nul(R"({"prefix":"status"})")));
    EXPECT_EQ(c.reply(), "ERROR: (5) Input/output error\ninternal error: boom\n");
}

TEST_F(AdminSocketTest, RefusesAPathInUseAndANonSocket) {
    AdminSocketOptions o;
    o.path = socket_->path();
    std::string error;
    auto nothing = [](const json&) { return AdminReply::ok(nullptr); };
    EXPECT_FALSE(AdminSocket::start(o, nothing, error));
    EXPECT_NE(error.find("in use"), std::string::npos) << error;

    o.path = socket_path("admin_socket_plain_file");
    std::ofstream(o.path) << "x";
    error.clear();
    EXPECT_FALSE(AdminSocket::start(o, nothing, error));
    EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
    ::unlink(o.path.c_str());
}

TEST(AdminSocket, ReplacesAStaleSocketAndRemovesItsFileOnStop) {
    AdminSocketOptions o;
    o.path = socket_path("admin_socket_stale");
    std::string error;
    auto first = AdminSocket::start(
        o, [](const json&) { return AdminReply::ok(nullptr); }, error);
    ASSERT_TRUE(first) << error;
    // Leave a stale socket file behind: a bound, closed socket.
    first->stop();
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, o.path.c_str(), sizeof(addr.sun_path) - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
        ::close(fd);
    }
    auto second = AdminSocket::start(
        o,
        [](const json&) {
            return AdminReply::ok({{"ok", 1}});
        },
        error);
    ASSERT_TRUE(second) << error;
    RawClient c(o.path);
    EXPECT_EQ(c.request({{"prefix", "status"}})["ok"], 1);
    second->stop();
    struct stat st {};
    EXPECT_NE(::lstat(o.path.c_str(), &st), 0);
}

// ---- hostile clients ---------------------------------------------------------------------------

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    return addr;
}

// 10,000 clients connect and say nothing: the server keeps at most its session limit of them
// (the oldest told why and closed), and another client's status is answered while they are
// held. Idle clients are cut only after a minute: a server that waited on any of them first
// would answer the status after that minute, if at all, and would have cut the idle ones.
TEST_F(AdminSocketTest, TenThousandIdleClientsNeitherDelayStatusNorHoldDescriptors) {
    constexpr auto kReadTimeout = 60000ms;
    start(kReadTimeout);
    constexpr std::size_t kWanted = 10000;
    const rlim_t limit = test_support::raise_descriptor_limit(kWanted + 2000);
    const std::size_t clients = std::min<std::size_t>(kWanted, limit - 1000);
    const std::size_t before = test_support::open_descriptors();
    test_support::IdleClients idle;
    const sockaddr_un addr = unix_address(socket_->path());
    ASSERT_EQ(idle.open(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), clients, 20s),
              clients);

    RawClient quick(socket_->path());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(quick.request({{"prefix", "status"}}, kReadTimeout)["echo"]["prefix"], "status");
    const auto latency = std::chrono::steady_clock::now() - t0;
    std::printf("status with %zu idle clients: %.2f ms\n", clients,
                std::chrono::duration<double, std::milli>(latency).count());
    EXPECT_LT(latency, kReadTimeout) << "answered only after an idle client's timeout";
    // The newest idle client is among those the server keeps: still open, so the status was
    // answered while idle clients were held, not after they were cut.
    {
        pollfd newest{idle.fd(clients - 1), POLLIN, 0};
        EXPECT_EQ(::poll(&newest, 1, 0), 0) << "the idle clients were cut before the status";
    }
    // The server's own descriptors: what is open beyond the clients' (and quick's).
    const std::size_t server_held = test_support::open_descriptors() - before - clients - 1;
    EXPECT_LE(server_held, AdminSocketOptions{}.max_sessions + 1) << "of " << clients;
    // The first idle client was closed to make room, and told why.
    std::string told(4096, '\0');
    pollfd p{idle.fd(0), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 3000), 1);
    const ssize_t n = ::recv(idle.fd(0), told.data(), told.size(), 0);
    ASSERT_GT(n, 4);
    told.resize(static_cast<std::size_t>(n));
    EXPECT_NE(told.find("ERROR: (11) Resource temporarily unavailable\ntoo many sessions"),
              std::string::npos)
        << told.substr(4);
    EXPECT_NE(logged().find("more than 64 sessions; the oldest closed to make room"),
              std::string::npos)
        << logged();
}

// A request sent a byte at a time is cut at its deadline (the deadline is the request's, not
// the byte's), and others are answered meanwhile. Dripping it all takes at least 900 x 20 ms =
// 18 s, nine times the deadline: a server whose deadline a byte extended would never cut it.
TEST_F(AdminSocketTest, ByteByByteClientIsCutAtItsDeadlineAndBlocksNobody) {
    constexpr auto kReadTimeout = 2000ms;
    start(kReadTimeout);
    const auto t0 = std::chrono::steady_clock::now();  // before connect: the deadline starts later
    RawClient drip(socket_->path());
    std::optional<std::string> cut;
    const std::string request = "{\"prefix\":\"status\",\"pad\":\"" + std::string(900, 'x');
    std::size_t sent = 0;
    std::size_t answered_while_dripping = 0;  // others answered before the drip was cut
    for (; sent < request.size() && !cut; ++sent) {
        if (!drip.send(request.substr(sent, 1))) break;
        cut = drip.reply(20ms);
        if (!cut && sent % 10 == 0) {
            RawClient other(socket_->path());
            EXPECT_EQ(other.request({{"prefix", "x"}}, 10 * kReadTimeout)["echo"]["prefix"], "x");
            if (!drip.answered_or_closed()) ++answered_while_dripping;
        }
    }
    if (!cut) cut = drip.reply(10 * kReadTimeout);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    std::printf("drip cut after %zu of %zu bytes, %.0f ms; %zu others answered meanwhile\n", sent,
                request.size(), std::chrono::duration<double, std::milli>(elapsed).count(),
                answered_while_dripping);
    EXPECT_EQ(cut, "ERROR: (110) Connection timed out\nno complete request within 2000 ms\n");
    EXPECT_LT(sent, request.size()) << "the whole request was sent: the deadline moved";
    EXPECT_GE(elapsed, kReadTimeout) << "cut before its deadline";
    EXPECT_GT(answered_while_dripping, 0u) << "nobody was answered while the drip was open";
    EXPECT_NE(logged().find(": a client sent no complete request within 2000 ms; closed"),
              std::string::npos)
        << logged();
}

// A 1 GiB request: the server reads no more than its limit, answers why and closes, so the
// client cannot push the gigabyte.
TEST_F(AdminSocketTest, AGigabyteRequestIsRefusedAfterTheLimit) {
    RawClient c(socket_->path());
    const std::string chunk(1 << 16, 'x');
    std::size_t sent = 0;
    while (sent < (std::size_t{1} << 30) && c.send(chunk)) sent += chunk.size();
    EXPECT_LT(sent, std::size_t{64} << 20) << "the server kept reading";
    EXPECT_EQ(c.reply(), "ERROR: (90) Message too long\nrequest larger than 1024 bytes\n");
    EXPECT_NE(logged().find(": request larger than 1024 bytes refused"), std::string::npos)
        << logged();
}

// Out of descriptors (EMFILE), a client waits in the backlog: the acceptor must not spin
// meanwhile, and answers it once descriptors are free.
TEST_F(AdminSocketTest, OutOfDescriptorsTheAcceptorDoesNotSpinAndRecovers) {
    std::optional<RawClient> waiting;
    {
        test_support::DescriptorExhaustion exhausted;
        exhausted.release(1);
        waiting.emplace(socket_->path());
        ASSERT_TRUE(waiting->connected());
        ASSERT_TRUE(waiting->send(nul(R"({"prefix":"status"})")));
        const auto cpu0 = test_support::cpu_time();
        const auto wall0 = std::chrono::steady_clock::now();
        EXPECT_FALSE(waiting->reply(1000ms)) << "answered without a descriptor?";
        const auto cpu = test_support::cpu_time() - cpu0;
        const auto wall = std::chrono::steady_clock::now() - wall0;
        std::printf("out of descriptors: %.1f ms CPU in %.1f ms\n", cpu.count() / 1000.0,
                    std::chrono::duration<double, std::milli>(wall).count());
        EXPECT_TRUE(test_support::mostly_idle(cpu, wall)) << "the acceptor spins";
    }
    const auto body = waiting->reply(10000ms);
    ASSERT_TRUE(body) << "not answered once descriptors were free";
    EXPECT_EQ(json::parse(*body)["echo"]["prefix"], "status");
    EXPECT_NE(logged().find(": accept failed (Too many open files); accepting again in 100 ms"),
              std::string::npos)
        << logged();
}

}  // namespace
}  // namespace rbdtier
