// Metrics: the gateway's state in the Prometheus text exposition format (version 0.0.4), and
// the HTTP endpoint that serves it (Boost.Beast, GET /metrics, on its own thread).
//
// render_metrics() reads the Gateway: per LUN its size and bytes per tier (from the placement
// map), the engine's counters (rounds, migrations by outcome, bytes moved, dropped events,
// refusals), and, where the I/O path records them (GatewayLun::io_metrics), I/Os, bytes and a
// latency histogram per tier and direction; gateway-wide: build info, up, paused, LUN count,
// health (Gateway::health(): the status 0/1/2 and each failing check by code and severity),
// and per tenant and tier pool with a quota, the quota and what the tenant holds there.
// Names follow Prometheus' conventions (base units: _seconds, _bytes, _ratio; _total on
// counters; rbdtier_build_info{version}, rbdtier_lun_info{lun,pool,image,tenant}). Labels are
// few and bounded by what the gateway serves: lun ("pool/image"), tier (a tier's pool, at most
// LunIoMetrics::kMaxTiers per LUN), op, model, outcome, reason, le, tenant, code (the health
// checks' codes, a fixed set), severity.
// MetricsServer binds address:port (127.0.0.1 by default; port 0 picks a free one, see port()),
// answers GET /metrics with the text and anything else with 404/405, one request per connection.
// No client can stall another or grow the process without bound (MetricsServerLimits): the
// request must be complete within `timeout` of the connection (a byte at a time does not extend
// it) and the response read within `timeout`; headers over max_header_bytes get 431; beyond
// max_sessions connections the oldest gets 503 and is closed to make room; a failed accept
// (EMFILE/ENFILE: out of descriptors) pauses accepting for accept_pause, never spins. Each is
// logged through `log` (from the server's thread; at most once per kind every 10 s).
// stop() / the destructor ends the thread.
// MetricsRequest is what a session answers, without any I/O (the server's sessions feed it the
// bytes they read; answer_metrics_request() answers a whole buffer, as the fuzzer and the unit
// tests use it): Beast's request parser with the header limit and a body limit, then the
// response, serialized: 200 with the text for GET /metrics (query allowed), 404 for another
// target, 405 for another method, 400 for a malformed or incomplete request (with the parser's
// reason), 413 for a body over kMaxBodyBytes or any chunked body, 431 for headers (through
// the blank line) over max_header_bytes, 500 when the body function throws. It never throws and
// holds at most 2 * max_header_bytes + kMaxBodyBytes + two feeds of the client's bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "handler/gateway.h"

namespace rbdtier {

std::string render_metrics(const Gateway& gateway);

struct MetricsServerLimits {
    std::chrono::milliseconds timeout{5000};
    std::size_t max_sessions = 64;
    std::size_t max_header_bytes = 8192;
    std::chrono::milliseconds accept_pause{100};
    std::function<void(const std::string& line)> log;  // warnings; null: not logged
};

class MetricsServer {
public:
    using Body = std::function<std::string()>;
    static std::unique_ptr<MetricsServer> start(const std::string& address, std::uint16_t port,
                                                Body body, std::string& error,
                                                MetricsServerLimits limits = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    std::uint16_t port() const;
    void stop();

    struct Impl;

private:
    explicit MetricsServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The response a session sends: its HTTP status code and its bytes (status line to body).
struct MetricsReply {
    unsigned status = 0;
    std::string bytes;
};

class MetricsRequest {
public:
    static constexpr std::size_t kMaxBodyBytes = 4096;

    explicit MetricsRequest(std::size_t max_header_bytes = MetricsServerLimits{}.max_header_bytes);
    ~MetricsRequest();
    MetricsRequest(const MetricsRequest&) = delete;
    MetricsRequest& operator=(const MetricsRequest&) = delete;

    // Takes the next bytes the client sent: the reply once the request is complete or refused,
    // nullopt while more bytes are needed. After a reply, further bytes are ignored (nullopt).
    std::optional<MetricsReply> feed(std::string_view bytes, const MetricsServer::Body& body);
    // The client closed its side: a 400 reply when part of a request came, nullopt when nothing
    // came (or a reply was already given).
    std::optional<MetricsReply> end();

    struct Parser;

private:
    // Adds the client's next bytes to header_ and tells whether the header, from its first byte
    // through its blank line, is or will be longer than max_header_bytes, decided the same
    // however the bytes were cut into reads. Once that is known, header_ is released.
    bool header_over_limit(std::string_view bytes);

    std::unique_ptr<Parser> parser_;
    std::size_t max_header_bytes_;
    std::string pending_;  // bytes the parser has not consumed yet (an incomplete header)
    std::string header_;   // the header's bytes so far, until its end or its size is known
    bool received_ = false;
    bool answered_ = false;
};

// The response to everything one client sent before closing its side, `raw`: the bytes of the
// reply ("" when `raw` is empty). Bytes after one complete request are ignored.
std::string answer_metrics_request(
    std::string_view raw, const MetricsServer::Body& body,
    std::size_t max_header_bytes = MetricsServerLimits{}.max_header_bytes);

}  // namespace rbdtier
