// Fuzz target: rbdtier.conf (parse_gateway_config). Any text gives a config or a refusal with
// a line number within the text and a reason.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "handler/gateway_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const rbdtier::ConfigOutcome outcome = rbdtier::parse_gateway_config(text, "rbdtier.conf");
    if (outcome.ok()) return 0;
    const auto lines = std::count(text.begin(), text.end(), '\n') + 1;
    if (outcome.reason.empty() || outcome.line < 1 || outcome.line > lines) std::abort();
    (void)outcome.message();
    return 0;
}
