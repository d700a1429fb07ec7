#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "handler/lun_io_metrics.h"
#include "handler/metrics_server.h"
#include "tests/support/descriptor_pressure.h"
#include "tests/support/shell_command.h"

namespace rbdtier {
namespace {

using namespace std::chrono_literals;

// One HTTP exchange over TCP to 127.0.0.1:port: the whole response (the server closes), or what
// arrived before the server fell silent for `patience`.
std::string http(std::uint16_t port, const std::string& request,
                 std::chrono::milliseconds patience = std::chrono::milliseconds(5000)) {
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
        if (::poll(&p, 1, static_cast<int>(patience.count())) <= 0) break;
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

// The exposition as a real Prometheus parser reads it (python3-prometheus-client), with the
// names and labels Prometheus' conventions want: base units, _total on counters, a build_info
// gauge, labels from a small fixed set.
TEST(Metrics, ARealPrometheusParserReadsItAndTheNamesFollowTheConventions) {
    Gateway gateway(GatewayConfig{}, "/nonexistent.conf");
    LunIoMetrics io;
    io.record(0, LunIoMetrics::kRead, 4096, 300);
    io.record(0, LunIoMetrics::kWrite, 8192, 9000);
    GatewayLun lun;
    lun.name = "rbd/img0";
    lun.pool = "rbd";
    lun.image = "img0";
    lun.tenant = "team-a";
    lun.size_bytes = 1 << 30;
    lun.io_metrics = &io;
    std::string error;
    auto registration = gateway.add_lun(lun, error);
    ASSERT_TRUE(registration.registered()) << error;
    const std::string path =
        ::testing::TempDir() + "/metrics." + std::to_string(::getpid()) + ".prom";
    std::ofstream(path) << render_metrics(gateway);

    // One line per family ("name type"), one per sample ("sample name label=value,..."), and
    // "BAD ..." for whatever breaks a convention.
    const test_support::ShellRun parsed = test_support::run_shell("/usr/bin/python3 - " + path +
                                                                  R"py( 2>&1 <<'EOF'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
allowed = {"pool", "image", "lun", "tier", "tenant", "initiator", "op", "model", "outcome",
           "reason", "le", "version"}
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    print(f.name, f.type)
    if re.search(r"_(ms|us|milliseconds|microseconds|mib|kib|percent|share)(_|$)", f.name):
        print("BAD", f.name, "is not in base units")
    for s in f.samples:
        print("sample", s.name, ",".join(k + "=" + v for k, v in sorted(s.labels.items())))
        if f.type == "counter" and not s.name.endswith("_total"):
            print("BAD", s.name, "is a counter without _total")
        if set(s.labels) - allowed:
            print("BAD", s.name, "has labels", sorted(set(s.labels) - allowed))
EOF)py");
    std::remove(path.c_str());
    ASSERT_EQ(parsed.code, 0) << "is python3-prometheus-client installed (tools/install-deps.sh)?\n"
                              << parsed.out;
    EXPECT_EQ(parsed.out.find("BAD"), std::string::npos) << parsed.out;
    for (const char* line :
         {"rbdtier_build_info gauge\n", "sample rbdtier_build_info version=" RBDTIER_VERSION "\n",
          "rbdtier_lun_info gauge\n",
          "sample rbdtier_lun_info image=img0,lun=rbd/img0,pool=rbd,"
          "tenant=team-a\n",
          "rbdtier_lun_ios counter\n",
          "sample rbdtier_lun_ios_total lun=rbd/img0,op=read,tier=rbd\n",
          "rbdtier_lun_io_latency_seconds histogram\n",
          "sample rbdtier_lun_io_latency_seconds_bucket le=0.0005,lun=rbd/img0,"
          "op=read,tier=rbd\n",
          "rbdtier_lun_read_hit_ratio gauge\n"})
        EXPECT_NE(parsed.out.find(line), std::string::npos) << line << "in:\n" << parsed.out;
}

// ---- one request, without a socket ----------------------------------------------------------

const MetricsServer::Body kUp = [] { return std::string("rbdtier_up 1\n"); };

// The status line of a reply ("" when there is none).
std::string status_line(const std::string& reply) {
    return reply.substr(0, reply.find("\r\n"));
}

TEST(MetricsRequest, AnswersEachKindOfRequestWithItsStatus) {
    const std::string big_header =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n";
    const std::string endless_header =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(1 << 20, 'a');
    const std::string big_body =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    const std::string chunked_body =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\n\r\n1388\r\n" +
        std::string(5000, 'b') + "\r\n0\r\n\r\n";
    const std::string small_chunked =
        "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n0\r\n\r\n";
    const struct {
        const char* what;
        std::string request;
        std::string status_line;
        std::string body;  // "" to skip
    } cases[] = {
        {"scrape", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK", "rbdtier_up 1\n"},
        {"scrape with a query", "GET /metrics?name[]=up HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK", ""},
        {"HTTP/1.0 scrape", "GET /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK", ""},
        {"scrape with a small body", "GET /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
         "HTTP/1.1 200 OK", ""},
        {"another target", "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found",
         "try /metrics\n"},
        {"root", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found", ""},
        {"a prefix of /metrics", "GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found", ""},
        {"POST", "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
         "HTTP/1.1 405 Method Not Allowed", "only GET\n"},
        {"garbage", "\x01\x02 nonsense\r\n\r\n", "HTTP/1.1 400 Bad Request", ""},
        {"no version", "GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request", ""},
        {"bad header line", "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", "HTTP/1.1 400 Bad Request",
         ""},
        {"incomplete, then closed", "GET /metrics HTTP/1.1\r\nHost: x\r\n",
         "HTTP/1.1 400 Bad Request", "malformed request: incomplete\n"},
        {"body shorter than its length", "GET /metrics HTTP/1.1\r\nContent-Length: 9\r\n\r\nab",
         "HTTP/1.1 400 Bad Request", ""},
        {"headers over the limit", big_header, "HTTP/1.1 431 Request Header Fields Too Large",
         "request headers larger than 8192 bytes\n"},
        {"headers that never end", endless_header, "HTTP/1.1 431 Request Header Fields Too Large",
         ""},
        {"body over the limit", big_body, "HTTP/1.1 413 Payload Too Large",
         "a scrape has no body\n"},
        {"chunked body over the limit", chunked_body, "HTTP/1.1 413 Payload Too Large", ""},
        {"any chunked body", small_chunked, "HTTP/1.1 413 Payload Too Large",
         "a scrape has no body\n"},
        {"a chunked body cut short",
         "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
         "HTTP/1.1 413 Payload Too Large", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const std::string reply = answer_metrics_request(c.request, kUp);
        EXPECT_EQ(status_line(reply), c.status_line) << reply.substr(0, 300);
        if (reply.rfind("HTTP/1.1", 0) == 0) {  // HTTP/1.0 closes without saying so
            EXPECT_NE(reply.find("\r\nConnection: close\r\n"), std::string::npos) << reply;
        }
        if (!c.body.empty()) {
            EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), c.body) << reply;
        }
        // Fed a byte at a time, as a slow client sends it, the answer is the same.
        MetricsRequest dripped;
        std::optional<MetricsReply> r;
        for (std::size_t i = 0; i < c.request.size() && !r; ++i)
            r = dripped.feed(std::string_view(c.request).substr(i, 1), kUp);
        if (!r) r = dripped.end();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->bytes, reply);
        EXPECT_EQ(r->status, std::stoul(c.status_line.substr(9, 3)));
    }
}

TEST(MetricsRequest, NothingSentGetsNoReplyAndAFailingBodyGets500) {
    EXPECT_EQ(answer_metrics_request("", kUp), "");
    MetricsRequest request;
    EXPECT_FALSE(request.end());
    const std::string reply = answer_metrics_request(
        "GET /metrics HTTP/1.1\r\n\r\n", []() -> std::string { throw std::runtime_error("gone"); });
    EXPECT_EQ(status_line(reply), "HTTP/1.1 500 Internal Server Error") << reply;
    EXPECT_NE(reply.find("metrics failed: gone\n"), std::string::npos) << reply;
}

TEST(MetricsRequest, AnswersOnceAndIgnoresWhatFollows) {
    MetricsRequest request;
    const auto first =
        request.feed("GET /metrics HTTP/1.1\r\n\r\nGET /other HTTP/1.1\r\n\r\n", kUp);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200u);
    EXPECT_FALSE(request.feed("GET /metrics HTTP/1.1\r\n\r\n", kUp));
    EXPECT_FALSE(request.end());
}

TEST(MetricsRequest, TheHeaderLimitIsTheConfiguredOne) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(200, 'a') + "\r\n\r\n";
    EXPECT_EQ(status_line(answer_metrics_request(request, kUp, 100)),
              "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(status_line(answer_metrics_request(request, kUp, 1000)), "HTTP/1.1 200 OK");
}

// The header limit counts the header's bytes up to and including its blank line, and how the
// client's bytes were cut into reads does not move it: a header of exactly the limit is
// served, one byte more gets 431, fed whole or a few bytes at a time.
TEST(MetricsRequest, TheHeaderLimitDoesNotDependOnHowTheBytesWereCut) {
    constexpr std::size_t kLimit = 8192;
    const std::string start = "GET /metrics HTTP/1.1\r\nX-Pad: ";
    for (const std::size_t header : {kLimit - 1, kLimit, kLimit + 1, kLimit + 3}) {
        const std::string raw = start + std::string(header - start.size() - 4, 'a') + "\r\n\r\n";
        ASSERT_EQ(raw.size(), header);
        const unsigned expected = header <= kLimit ? 200u : 431u;
        EXPECT_EQ(status_line(answer_metrics_request(raw, kUp, kLimit)).substr(9, 3),
                  std::to_string(expected))
            << "whole, header of " << header << " bytes";
        for (std::size_t cut = 1; cut <= 128; ++cut) {
            MetricsRequest request(kLimit);
            std::optional<MetricsReply> reply;
            for (std::size_t at = 0; at < raw.size() && !reply; at += cut)
                reply = request.feed(std::string_view(raw).substr(at, cut), kUp);
            if (!reply) reply = request.end();
            ASSERT_TRUE(reply);
            EXPECT_EQ(reply->status, expected)
                << "header of " << header << " bytes cut every " << cut << " bytes";
        }
    }
}

TEST(MetricsServer, ServesGetMetricsOnlyAndASlowClientBlocksNobody) {
    std::string error;
    MetricsServerLimits limits;
    limits.timeout = 500ms;
    auto server = MetricsServer::start(
        "127.0.0.1", 0, [] { return std::string("rbdtier_up 1\n"); }, error, limits);
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

// ---- hostile clients ---------------------------------------------------------------------------

// The tests assert orderings (one client answered before another is cut) and deadlines relative
// to the server's own timeout, never a wall-clock bound on a response: a server that serves its
// connections one after another fails them whatever the machine's load.
class MetricsServerHostile : public ::testing::Test {
protected:
    void SetUp() override { start(500ms); }
    // (Re)starts the test's server with the given request/response timeout.
    void start(std::chrono::milliseconds timeout) {
        server_.reset();
        std::string error;
        server_ = MetricsServer::start(
            "127.0.0.1", 0, [] { return std::string("rbdtier_up 1\n"); }, error, limits(timeout));
        ASSERT_TRUE(server_) << error;
        addr_.sin_family = AF_INET;
        addr_.sin_port = htons(server_->port());
        addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    MetricsServerLimits limits(std::chrono::milliseconds timeout) {
        MetricsServerLimits l;
        l.timeout = timeout;
        l.log = [this](const std::string& line) {
            std::lock_guard lock(mutex_);
            logged_ += line + "\n";
        };
        return l;
    }
    std::string logged() const {
        std::lock_guard lock(mutex_);
        return logged_;
    }
    mutable std::mutex mutex_;
    std::string logged_;
    // A scrape: its response and how long it took; `patience` bounds each wait for the server.
    std::pair<std::string, std::chrono::steady_clock::duration> scrape(
        std::chrono::milliseconds patience = 5000ms) const {
        const auto t0 = std::chrono::steady_clock::now();
        std::string r = http(server_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", patience);
        return {r, std::chrono::steady_clock::now() - t0};
    }
    // True when the server has closed `fd` (or sent on it) by now; does not wait.
    static bool cut_yet(int fd) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }
    std::unique_ptr<MetricsServer> server_;
    sockaddr_in addr_{};
};

TEST_F(MetricsServerHostile, ManyIdleConnectionsNeitherDelayAScrapeNorHoldDescriptors) {
    // Idle clients are cut only after a minute: a server that waited on any of them before the
    // scrape would answer it after that minute, if at all, and the idle clients it keeps would
    // be cut by then.
    constexpr auto kIdleTimeout = 60s;
    start(kIdleTimeout);
    constexpr std::size_t kWanted = 2000;
    const rlim_t limit = test_support::raise_descriptor_limit(2 * kWanted + 1000);
    const std::size_t clients = std::min<std::size_t>(kWanted, limit - 500);
    const std::size_t before = test_support::open_descriptors();
    test_support::IdleClients idle;
    ASSERT_EQ(idle.open(reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_), clients, 20s),
              clients);
    const auto [response, latency] = scrape(kIdleTimeout);
    std::printf("scrape with %zu idle connections: %.2f ms\n", clients,
                std::chrono::duration<double, std::milli>(latency).count());
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
    EXPECT_LT(latency, kIdleTimeout) << "answered only after an idle client's timeout";
    // The newest idle client is among those the server keeps: still open, so the scrape was
    // answered while idle connections were held, not after they were cut.
    EXPECT_FALSE(cut_yet(idle.fd(clients - 1))) << "the idle clients were cut before the scrape";
    const std::size_t server_held = test_support::open_descriptors() - before - clients;
    EXPECT_LE(server_held, MetricsServerLimits{}.max_sessions + 1) << "of " << clients;
    EXPECT_NE(logged().find("metrics endpoint: more than 64 connections; the oldest closed"),
              std::string::npos)
        << logged();
}

TEST_F(MetricsServerHostile, HugeHeadersAreRefusedWith431) {
    const std::string huge =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(1 << 20, 'a') + "\r\n\r\n";
    const std::string response = http(server_->port(), huge);
    EXPECT_EQ(response.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u)
        << response.substr(0, 200);
    EXPECT_EQ(scrape().first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(logged().find("request headers larger than 8192 bytes refused"), std::string::npos)
        << logged();
}

// Dripping the whole request takes at least 2000 x 10 ms = 20 s, ten times the deadline: a
// server whose deadline a byte extended would answer it instead of cutting it.
TEST_F(MetricsServerHostile, ARequestDrippedAByteAtATimeIsCutAtItsDeadline) {
    constexpr auto kDeadline = 2s;
    start(kDeadline);
    const auto t0 = std::chrono::steady_clock::now();  // before connect: the deadline starts later
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)), 0);
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(2000, 'a') + "\r\n\r\n";
    bool cut = false;
    std::size_t sent = 0;
    std::size_t answered_while_dripping = 0;  // scrapes answered before the drip was cut
    for (; sent < request.size() && !cut; ++sent) {
        if (::send(fd, request.data() + sent, 1, MSG_NOSIGNAL) != 1) break;
        pollfd p{fd, POLLIN, 0};
        cut = ::poll(&p, 1, 10) == 1;
        if (!cut && sent % 20 == 0) {
            const auto [r, latency] = scrape();
            EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
            if (!cut_yet(fd)) ++answered_while_dripping;
        }
    }
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10 * static_cast<int>(kDeadline / 1ms)), 1) << "never cut";
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    char head[32] = {};
    (void)::recv(fd, head, sizeof(head) - 1, 0);
    std::printf("drip cut after %zu of %zu bytes, %.0f ms; %zu scrapes answered meanwhile\n", sent,
                request.size(), std::chrono::duration<double, std::milli>(elapsed).count(),
                answered_while_dripping);
    EXPECT_LT(sent, request.size()) << "the whole request was sent: the deadline moved";
    EXPECT_NE(std::string(head).rfind("HTTP/1.1 200", 0), 0u) << "answered, not cut";
    EXPECT_GE(elapsed, kDeadline) << "cut before its deadline";
    EXPECT_GT(answered_while_dripping, 0u) << "no scrape was answered while the drip was open";
    ::close(fd);
}

TEST_F(MetricsServerHostile, OutOfDescriptorsTheAcceptorDoesNotSpinAndRecovers) {
    int waiting = -1;
    {
        test_support::DescriptorExhaustion exhausted;
        exhausted.release(1);
        waiting = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(waiting, 0);
        ASSERT_EQ(::connect(waiting, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)),
                  0);  // the kernel completes the handshake; the server cannot accept it
        const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        ASSERT_EQ(::send(waiting, get.data(), get.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(get.size()));
        const auto cpu0 = test_support::cpu_time();
        const auto wall0 = std::chrono::steady_clock::now();
        pollfd p{waiting, POLLIN, 0};
        EXPECT_EQ(::poll(&p, 1, 1000), 0) << "answered without a descriptor?";
        const auto cpu = test_support::cpu_time() - cpu0;
        const auto wall = std::chrono::steady_clock::now() - wall0;
        std::printf("out of descriptors: %.1f ms CPU in %.1f ms\n", cpu.count() / 1000.0,
                    std::chrono::duration<double, std::milli>(wall).count());
        EXPECT_TRUE(test_support::mostly_idle(cpu, wall)) << "the acceptor spins";
    }
    pollfd p{waiting, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "not answered once descriptors were free";
    char buf[64] = {};
    ASSERT_GT(::recv(waiting, buf, sizeof(buf) - 1, 0), 0);
    EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 200 OK", 0), 0u) << buf;
    ::close(waiting);
    EXPECT_NE(logged().find("metrics endpoint: accept failed (Too many open files); accepting "
                            "again in 100 ms"),
              std::string::npos)
        << logged();
}

}  // namespace
}  // namespace rbdtier
