// Fuzz target: the metrics endpoint's answer to one client (MetricsRequest, as a session runs
// it). The first byte picks whether the metrics body succeeds or throws and how the rest, what
// the client sends, is cut into reads. Checks: a non-empty input gets exactly one reply, the
// reply starts with an HTTP/1.x status line of a status the endpoint gives, and how the bytes
// were cut does not change whether the request is refused (400, 413, 431) nor the reply to a
// request that is not (Beast finds some errors only once the header is complete, so where the
// bytes were cut may change which refusal a bad request gets).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "handler/metrics_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool body_fails = (data[0] & 1) != 0;
    const std::size_t cut = 1 + (data[0] >> 1);  // bytes per read: 1..128
    const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
    const rbdtier::MetricsServer::Body body = [body_fails]() -> std::string {
        if (body_fails) throw std::runtime_error("gateway gone");
        return "rbdtier_up 1\n";
    };

    const std::string whole = rbdtier::answer_metrics_request(raw, body);
    if (raw.empty() != whole.empty()) std::abort();
    if (whole.empty()) return 0;
    if (whole.rfind("HTTP/1.1 ", 0) != 0 && whole.rfind("HTTP/1.0 ", 0) != 0) std::abort();
    const std::string status = whole.substr(9, 3);
    if (status != "200" && status != "400" && status != "404" && status != "405" &&
        status != "413" && status != "431" && status != "500")
        std::abort();

    rbdtier::MetricsRequest request;
    std::optional<rbdtier::MetricsReply> reply;
    for (std::size_t at = 0; at < raw.size() && !reply; at += cut)
        reply = request.feed(raw.substr(at, cut), body);
    if (!reply) reply = request.end();
    if (!reply || std::to_string(reply->status).size() != 3) std::abort();
    const auto refused = [](const std::string& code) {
        return code == "400" || code == "413" || code == "431";
    };
    const std::string cut_status = std::to_string(reply->status);
    if (refused(cut_status) != refused(status)) std::abort();
    if (!refused(status) && reply->bytes != whole) std::abort();
    if (request.feed("GET /metrics HTTP/1.1\r\n\r\n", body) || request.end()) std::abort();
    return 0;
}
