// AdminCommands: what the gateway answers on its admin socket (see admin_socket.h for framing).
//
// Request: {"version":1,"command":"<name>", ...arguments}. Reply: {"version":1,"result":{...}} on
// success, {"version":1,"error":"..."} on failure; an unknown command also lists the known ones
// ("known":[...]). Commands:
//   status                      gateway, site, pause state, per-LUN lock ownership and engine
//   lun list | lun show {lun}   LUNs, size, tenant, extents and bytes per tier, engine counters
//   tier list                   pools in use: device class, site, latency, capacity, used
//   migrations {lun?, limit?}   migration history (newest last) and per-LUN counters
//   map {lun}                   placement of every extent away from home
//   pause | resume              stop/restart migrations on every LUN of the gateway
//   scrub {lun}                 removes stray data, verifies migrated extents' crc32c
//   reload                      re-reads rbdtier.conf (a bad file is refused, the old one kept)
// Runs on the admin socket's thread; holds the gateway's LUN list steady while it works.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "handler/gateway.h"

namespace rbdtier {

class AdminCommands {
public:
    static constexpr int kProtocolVersion = 1;

    explicit AdminCommands(Gateway& gateway) : gateway_(gateway) {}

    nlohmann::json handle(const nlohmann::json& request);
    static const std::vector<std::string>& known();

private:
    nlohmann::json status() const;
    nlohmann::json lun_list() const;
    nlohmann::json lun_show(const GatewayLun& lun) const;
    nlohmann::json tier_list() const;
    nlohmann::json migrations(const nlohmann::json& request) const;
    nlohmann::json map(const GatewayLun& lun) const;
    nlohmann::json scrub(const GatewayLun& lun) const;
    nlohmann::json reload();

    Gateway& gateway_;
};

}  // namespace rbdtier
