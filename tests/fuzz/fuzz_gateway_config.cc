// Fuzz target: rbdtier.conf (parse_gateway_config). Any text gives a config whose numbers are
// all within their ranges (GatewayLimits), or a refusal with a line number within the text and
// a reason.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "handler/gateway_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const rbdtier::ConfigOutcome outcome = rbdtier::parse_gateway_config(text, "rbdtier.conf");
    if (outcome.ok()) {
        using L = rbdtier::GatewayLimits;
        const rbdtier::GatewayConfig& c = *outcome.config;
        const auto in = [](double v, double min, bool min_exclusive, double max) {
            return (min_exclusive ? v > min : v >= min) && v <= max;
        };
        if (!in(c.horizon_s, 0, true, L::kMaxHorizonS) || !in(c.round_s, 0, true, L::kMaxRoundS) ||
            !in(c.migration_bandwidth_mib_s, 0, true, L::kMaxBandwidthMibS) ||
            c.admin_max_request_bytes < L::kAdminRequestBytes.min ||
            c.admin_max_request_bytes > L::kAdminRequestBytes.max || c.admin_max_sessions < 1 ||
            c.metrics_max_sessions < 1)
            std::abort();
        for (const auto& [pool, t] : c.tiers)
            if ((t.latency_ms && !in(*t.latency_ms, 0, false, L::kMaxLatencyMs)) ||
                (t.cost_per_gib && !in(*t.cost_per_gib, 0, false, L::kMaxCostPerGib)) ||
                (t.capacity_bytes && *t.capacity_bytes > L::kMaxCapacityBytes))
                std::abort();
        return 0;
    }
    const auto lines = std::count(text.begin(), text.end(), '\n') + 1;
    if (outcome.reason.empty() || outcome.line < 1 || outcome.line > lines) std::abort();
    (void)outcome.message();
    return 0;
}
