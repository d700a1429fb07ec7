#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

#include "handler/lun_io_metrics.h"
#include "handler/metrics_server.h"

namespace rbdtier {
namespace {

// One HTTP exchange over TCP to 127.0.0.1:port: the whole response (the server closes).
std::string http(std::uint16_t port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        return {};
    }
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

TEST(LunIoMetrics, CountsBytesAndBucketsPerTierAndDirection) {
    LunIoMetrics m;
    m.record(1, LunIoMetrics::kRead, 4096, 80);         // <= 100 us
    m.record(1, LunIoMetrics::kRead, 8192, 100);        // <= 100 us (bounds are inclusive)
    m.record(1, LunIoMetrics::kRead, 4096, 7000);       // <= 10 ms
    m.record(1, LunIoMetrics::kRead, 4096, 5'000'000);  // +Inf
    m.record(0, LunIoMetrics::kWrite, 512, 300);
    m.record(LunIoMetrics::kMaxTiers, LunIoMetrics::kRead, 1, 1);  // out of range: ignored
    const auto r = m.snapshot(1, LunIoMetrics::kRead);
    EXPECT_EQ(r.ios, 4u);
    EXPECT_EQ(r.bytes, 20480u);
    EXPECT_EQ(r.latency_sum_us, 80u + 100 + 7000 + 5'000'000);
    EXPECT_EQ(r.buckets[0], 2u);
    EXPECT_EQ(r.buckets[6], 1u);  // 10'000 us bucket
    EXPECT_EQ(r.buckets.back(), 1u);
    EXPECT_EQ(m.snapshot(0, LunIoMetrics::kWrite).buckets[2], 1u);  // 500 us bucket
    EXPECT_EQ(m.snapshot(1, LunIoMetrics::kWrite).ios, 0u);
}

TEST(Metrics, TextExpositionIsWellFormed) {
    GatewayConfig config;
    Gateway gateway(config, "/nonexistent.conf");
    std::string error;
    GatewayLun lun;
    lun.name = "we\"ird\\lun";
    lun.size_bytes = 1 << 20;
    auto reg = gateway.add_lun(lun, error);
    ASSERT_TRUE(reg.registered());
    gateway.set_paused(true);
    const std::string text = render_metrics(gateway);

    const std::regex sample(
        R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$)");
    std::set<std::string> typed, helped;
    std::istringstream lines(text);
    std::string line;
    int samples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("# HELP ", 0) == 0) {
            helped.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (line.rfind("# TYPE ", 0) == 0) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(typed.insert(name).second) << "TYPE twice: " << name;
            EXPECT_TRUE(helped.count(name)) << "TYPE before HELP: " << name;
        } else {
            EXPECT_TRUE(std::regex_match(line, sample)) << line;
            const std::string name = line.substr(0, line.find_first_of("{ "));
            EXPECT_TRUE(typed.count(name)) << "sample without TYPE: " << line;
            ++samples;
        }
    }
    EXPECT_GE(samples, 4);
    EXPECT_NE(text.find("rbdtier_up 1\n"), std::string::npos);
    EXPECT_NE(text.find("rbdtier_paused 1\n"), std::string::npos);
    EXPECT_NE(text.find("rbdtier_luns 1\n"), std::string::npos);
    EXPECT_NE(text.find("rbdtier_lun_size_bytes{lun=\"we\\\"ird\\\\lun\"} 1048576\n"),
              std::string::npos)
        << text;
}

TEST(MetricsServer, ServesGetMetricsOnlyAndASlowClientBlocksNobody) {
    std::string error;
    auto server = MetricsServer::start(
        "127.0.0.1", 0, [] { return std::string("rbdtier_up 1\n"); }, error,
        std::chrono::milliseconds(500));
    ASSERT_TRUE(server) << error;
    ASSERT_NE(server->port(), 0);

    // A client that connects and sends nothing.
    const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

    const std::string ok = http(server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
    EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
    EXPECT_NE(ok.find("\r\n\r\nrbdtier_up 1\n"), std::string::npos) << ok;
    EXPECT_EQ(
        http(server->port(), "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 404", 0),
        0u);
    EXPECT_EQ(http(server->port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                  .rfind("HTTP/1.1 405", 0),
              0u);

    // The idle client is cut after the timeout.
    pollfd p{idle, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 3000), 1);
    char c;
    EXPECT_LE(::recv(idle, &c, 1, 0), 0);
    ::close(idle);

    std::string error2;
    EXPECT_FALSE(MetricsServer::start(
        "not-an-address", 0, [] { return std::string(); }, error2));
    EXPECT_NE(error2.find("metrics_address 'not-an-address'"), std::string::npos) << error2;
}

}  // namespace
}  // namespace rbdtier
