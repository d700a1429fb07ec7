// Fuzz target: the replay's tier/config JSON (`rbdtier replay --tiers FILE.json`,
// parse_replay_config_json). Any text gives a validated config or std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cli/replay_config_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const rbdtier::cli::ReplayConfigFile file = rbdtier::cli::parse_replay_config_json(text);
        file.config.validate();
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
