// Fuzz target: the tcmu cfgstring parser that check_config and open both use
// (parse_lun_config). Any bytes must give a config or a reason, and a config that parses must
// name a pool and an image; its spec, as tcmu-runner would hand it over ("rbdtier/" + spec),
// must parse back to the same image.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handler/lun_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view cfgstring(reinterpret_cast<const char*>(data), size);
    const rbdtier::LunConfigParse parsed = rbdtier::parse_lun_config(cfgstring);
    if (!parsed.config) {
        if (parsed.error.empty()) std::abort();  // a refusal always says why
        return 0;
    }
    const rbdtier::LunConfig& config = *parsed.config;
    if (config.pool.empty() || config.image.empty()) std::abort();
    const rbdtier::LunConfigParse again = rbdtier::parse_lun_config("rbdtier/" + config.spec());
    if (!again.config || again.config->spec() != config.spec()) std::abort();
    return 0;
}
