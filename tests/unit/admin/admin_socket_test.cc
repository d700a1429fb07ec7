#include "handler/admin_socket.h"

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
#include <optional>

#include "tests/support/raw_admin_client.h"

namespace rbdtier {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using test_support::RawClient;

std::string socket_path(const std::string& stem) {
    return ::testing::TempDir() + "/" + stem + "." + std::to_string(::getpid()) + ".asok";
}

class AdminSocketTest : public ::testing::Test {
protected:
    void SetUp() override {
        AdminSocketOptions o;
        o.path = socket_path("admin_socket_test");
        o.max_request_bytes = 1024;
        o.read_timeout = 300ms;
        std::string error;
        socket_ = AdminSocket::start(
            o,
            [this](const json& r) {
                ++handled_;
                return json{{"echo", r}};
            },
            error);
        ASSERT_TRUE(socket_) << error;
    }
    std::unique_ptr<AdminSocket> socket_;
    std::atomic<int> handled_{0};
};

TEST_F(AdminSocketTest, SocketFileIsOwnerOnly) {
    struct stat st {};
    ASSERT_EQ(::lstat(socket_->path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(AdminSocketTest, AnswersEachLineOnOneConnection) {
    RawClient c(socket_->path());
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < 3; ++i) {
        const json reply = c.request({{"version", 1}, {"command", "status"}, {"n", i}});
        EXPECT_EQ(reply["echo"]["n"], i);
    }
    EXPECT_EQ(handled_.load(), 3);
}

TEST_F(AdminSocketTest, MalformedJsonGetsAnErrorAndTheConnectionStays) {
    RawClient c(socket_->path());
    ASSERT_TRUE(c.send("{\"version\":1,\"command\":\n"));
    auto l = c.line();
    ASSERT_TRUE(l);
    EXPECT_EQ(json::parse(*l)["error"], "malformed request: not valid JSON");
    ASSERT_TRUE(c.send("[1,2]\n"));
    l = c.line();
    ASSERT_TRUE(l);
    EXPECT_EQ(json::parse(*l)["error"], "malformed request: not a JSON object");
    EXPECT_EQ(handled_.load(), 0);
    EXPECT_EQ(c.request({{"version", 1}})["echo"]["version"], 1);
}

TEST_F(AdminSocketTest, HugeRequestIsRefusedAndCut) {
    RawClient c(socket_->path());
    const std::string huge = "{\"version\":1,\"command\":\"" + std::string(1 << 20, 'x') + "\"}\n";
    c.send(huge);  // the server may close before all of it is sent
    auto l = c.line();
    ASSERT_TRUE(l);
    EXPECT_EQ(json::parse(*l)["error"], "request larger than 1024 bytes");
    EXPECT_TRUE(c.closed_within(2000ms));
    EXPECT_EQ(handled_.load(), 0);
}

TEST_F(AdminSocketTest, SlowClientDoesNotBlockAnotherAndIsCut) {
    RawClient slow(socket_->path());
    ASSERT_TRUE(slow.send("{\"version\":1,"));  // and never finishes
    RawClient quick(socket_->path());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(quick.request({{"version", 1}, {"command", "x"}})["echo"]["command"], "x");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);  // well before the slow one's timeout
    EXPECT_TRUE(slow.closed_within(3000ms));                  // cut after read_timeout (300 ms)
}

TEST_F(AdminSocketTest, HandlerExceptionBecomesAnError) {
    AdminSocketOptions o;
    o.path = socket_path("admin_socket_throw");
    std::string error;
    auto s = AdminSocket::start(
        o, [](const json&) -> json { throw std::runtime_error("boom"); }, error);
    ASSERT_TRUE(s) << error;
    RawClient c(o.path);
    EXPECT_EQ(c.request({{"version", 1}})["error"], "internal error: boom");
}

TEST_F(AdminSocketTest, RefusesAPathInUseAndANonSocket) {
    AdminSocketOptions o;
    o.path = socket_->path();
    std::string error;
    EXPECT_FALSE(AdminSocket::start(
        o, [](const json&) { return json(); }, error));
    EXPECT_NE(error.find("in use"), std::string::npos) << error;

    o.path = socket_path("admin_socket_plain_file");
    std::ofstream(o.path) << "x";
    error.clear();
    EXPECT_FALSE(AdminSocket::start(
        o, [](const json&) { return json(); }, error));
    EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
    ::unlink(o.path.c_str());
}

TEST(AdminSocket, ReplacesAStaleSocketAndRemovesItsFileOnStop) {
    AdminSocketOptions o;
    o.path = socket_path("admin_socket_stale");
    std::string error;
    auto first = AdminSocket::start(
        o, [](const json&) { return json(); }, error);
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
            return json{{"ok", 1}};
        },
        error);
    ASSERT_TRUE(second) << error;
    RawClient c(o.path);
    EXPECT_EQ(c.request({{"version", 1}})["ok"], 1);
    second->stop();
    struct stat st {};
    EXPECT_NE(::lstat(o.path.c_str(), &st), 0);
}

}  // namespace
}  // namespace rbdtier
