// Fuzz target: the tcmu cfgstring parsers that check_config and open use, in both forms: the
// rbdtier form (parse_lun_config) and handler_rbd's (parse_rbd_cfgstring, and
// parse_rbd_open_cfgstring as open sees it, "rbd/" first). Any bytes must give a config or a
// reason; a config that parses must name a pool and an image, and its spec, as tcmu-runner would
// hand it to open ("<subtype>/" + spec), must parse back to the same image. An rbd-form config
// is never tiered and never has a namespace.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handler/lun_config.h"

namespace {

void check(const rbdtier::LunConfigParse& parsed, bool rbd_form) {
    if (!parsed.config) {
        if (parsed.error.empty()) std::abort();  // a refusal always says why
        return;
    }
    const rbdtier::LunConfig& config = *parsed.config;
    if (config.pool.empty() || config.image.empty()) std::abort();
    if (rbd_form && (!config.tiers.empty() || !config.ns.empty() || !config.quota.empty()))
        std::abort();
    const rbdtier::LunConfigParse again =
        rbd_form ? rbdtier::parse_rbd_open_cfgstring("rbd/" + config.spec())
                 : rbdtier::parse_lun_config("rbdtier/" + config.spec());
    if (!again.config || again.config->spec() != config.spec()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view cfgstring(reinterpret_cast<const char*>(data), size);
    check(rbdtier::parse_lun_config(cfgstring), false);
    check(rbdtier::parse_rbd_cfgstring(cfgstring), true);
    check(rbdtier::parse_rbd_open_cfgstring(cfgstring), true);
    return 0;
}
