// Fuzz target: the metrics endpoint's HTTP request handling (answer_metrics_request: Beast's
// request parser as a session runs it, then the response). The first byte picks whether the
// metrics body succeeds or throws; the rest is what a client sends. A response, when there is
// one, starts with an HTTP status line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "handler/metrics_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool body_fails = (data[0] & 1) != 0;
    const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
    const rbdtier::MetricsServer::Body body = [body_fails]() -> std::string {
        if (body_fails) throw std::runtime_error("gateway gone");
        return "rbdtier_up 1\n";
    };
    const std::string response = rbdtier::answer_metrics_request(raw, body);
    if (!response.empty() && response.rfind("HTTP/", 0) != 0) std::abort();
    return 0;
}
