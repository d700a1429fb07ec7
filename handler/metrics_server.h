// Metrics: the gateway's state in the Prometheus text exposition format (version 0.0.4), and
// the HTTP endpoint that serves it (Boost.Beast, GET /metrics, on its own thread).
//
// render_metrics() reads the Gateway: per LUN its size and bytes per tier (from the placement
// map), the engine's counters (rounds, migrations by outcome, bytes moved, dropped events,
// refusals), and, where the I/O path records them (GatewayLun::io_metrics), I/Os, bytes and a
// latency histogram per tier and direction; gateway-wide: up, paused, LUN count.
// MetricsServer binds address:port (127.0.0.1 by default; port 0 picks a free one, see port()),
// answers GET /metrics with the text and anything else with 404/405, one request per connection,
// each connection cut after a timeout. stop() / the destructor ends the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "handler/gateway.h"

namespace rbdtier {

std::string render_metrics(const Gateway& gateway);

class MetricsServer {
public:
    using Body = std::function<std::string()>;
    static std::unique_ptr<MetricsServer> start(
        const std::string& address, std::uint16_t port, Body body, std::string& error,
        std::chrono::milliseconds timeout = std::chrono::seconds(5));
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

// What the endpoint sends back for the bytes of one connection, `raw`, parsed as a session
// parses them (one request, Beast's default limits): the serialized HTTP response, or "" when
// the bytes are not a complete, valid request (a session then waits for more, or drops the
// connection on a parse error). Never throws: a throwing `body` gives a 500 response.
std::string answer_metrics_request(std::string_view raw, const MetricsServer::Body& body);

}  // namespace rbdtier
