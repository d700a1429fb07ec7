// AdminCommands: what the gateway answers on its admin socket (see admin_socket.h for the
// protocol, Ceph's). A request is {"prefix":"<command>", ...arguments}; the reply is the
// command's result, or an errno and a message. `help` maps each command to its description, as
// Ceph daemons do; `get_command_descriptions` gives each command's signature in Ceph's form, so
// `ceph daemon PATH <command> [args]` works. Commands:
//   status                      gateway, site, pause state, per-LUN lock ownership and engine
//   health                      HEALTH_OK|WARN|ERR and its checks (gateway_health.h), in the
//                               form of `ceph health detail -f json`
//   lun list | lun show {lun}   LUNs, size, tenant, extents and bytes per tier, engine counters,
//                               extents away from the home image, whether it is pinned home;
//                               show: whether its extents move, and if not why (its last round)
//   lun evacuate {lun}          pins the LUN home whole (in RADOS: the home image's metadata,
//                               ceph/lun_lifecycle.h, then a settings notify of its map object
//                               so that every gateway serving it follows at once): its owner
//                               brings every extent home and moves none out; replies as lun
//                               show (poll it for progress)
//   tier list                   pools in use: device class, site, latency, capacity, used
//   migrations {lun?, limit?}   migration history (newest last) and per-LUN counters
//   migrations also lists the queue: the last round's orders not carried out yet (net benefit,
//                               forecast accesses, reason)
//   map {lun}                   placement of every extent away from home
//   heat {lun,first?,count?}    per extent: tier, heat, forecast, where the policy wants it, pin
//                               (a window of at most kMaxHeatExtents extents; "truncated"), and
//                               the LUN's initiators as lun show has them
//   forecast accuracy {lun?}    precision/recall/wasted bytes per model and per tenant
//   alerts {lun?}               anomalies the engine noticed (kept out of the fast tiers)
//   pin {lun,range,tier}        keep extents in a tier (range: "0-15" extents, "0M-64M" bytes,
//                               "all"); kept in RADOS (the home image's metadata rbdtier.pins,
//                               ceph/extent_pins.h), then a settings notify of its map object,
//                               so that every gateway serving the LUN, its owner among them,
//                               holds the pins stored, now and after a restart or failover
//   unpin {lun,range}           hand them back to the policy (in RADOS, notified, as pin); on a
//                               LUN pinned home whole, only the whole LUN ("all"), which
//                               releases the home pin (as lun evacuate sets it); "all" releases
//                               every pin of the LUN
//   pause | resume              stop/restart migrations on every LUN of the gateway
//   scrub {lun}                 starts a scrub of the LUN (removes stray data, verifies migrated
//                               extents' crc32c) on a thread of its own and answers at once
//                               ({lun, state: running, steps_done, steps_total}); EBUSY when
//                               one of the LUN runs already or this gateway does not own it
//   scrub status {lun}          the LUN's current or last scrub: state running|done|failed
//                               (error), progress, elapsed_s and, once ended, its report
//                               (extents_checked, stray_removed, intents_cleaned, crc_verified,
//                               crc_mismatch, problems); ENOENT when none ran since it opened
//   reload                      re-reads rbdtier.conf (a bad file is refused, the old one kept)
//   version | help | get_command_descriptions
// The commands that change what the gateway does (lun evacuate, pin, unpin, pause, resume, scrub,
// reload) are logged once each (common/log.h): the LUN, the command, its arguments and what it
// did, at info (a scrub that found damage or problems: error or warning; a scrub logs when it
// ends, from its job); refused or failed, at warning with the reason. Queries are not logged.
// Errors: EINVAL for a bad request or argument, ENOENT for an unknown LUN, EIO when the work
// itself failed, EBUSY for a scrub already running. Runs on the admin socket's thread; holds the
// gateway's LUN list steady while it works, never while a scrub runs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "handler/admin_socket.h"
#include "handler/gateway.h"

namespace rbdtier {

class AdminCommands {
public:
    static constexpr std::uint64_t kMaxHeatExtents = 16384;  // per heat request

    explicit AdminCommands(Gateway& gateway) : gateway_(gateway) {}

    AdminReply handle(const nlohmann::json& request);
    static const std::vector<std::string>& known();  // every command's prefix
    static nlohmann::json help();                    // {"<prefix>": "<description>", ...}
    static nlohmann::json command_descriptions();    // {"cmd000": {"sig": [...], "help"}, ...}

private:
    // What a command that changes the gateway's state did, for the line handle() logs.
    struct Outcome {
        log::Level level = log::Level::kInfo;
        std::string text;
        bool logged_later = false;  // the command logs its outcome itself when it ends
    };

    nlohmann::json status() const;
    nlohmann::json lun_list() const;
    nlohmann::json lun_show(const GatewayLun& lun) const;
    nlohmann::json tier_list() const;
    nlohmann::json migrations(const nlohmann::json& request) const;
    nlohmann::json map(const GatewayLun& lun) const;
    nlohmann::json heat(const GatewayLun& lun, const nlohmann::json& request) const;
    nlohmann::json forecast_accuracy(const nlohmann::json& request) const;
    nlohmann::json alerts(const nlohmann::json& request) const;
    nlohmann::json pin(const GatewayLun& lun, const nlohmann::json& request, bool pin,
                       Outcome& done) const;
    nlohmann::json scrub(const GatewayLun& lun, Outcome& done) const;
    nlohmann::json scrub_status(const GatewayLun& lun) const;
    nlohmann::json evacuate(const GatewayLun& lun, Outcome& done) const;
    // Pins `lun` home whole, or releases that pin (and every extent pin with it): in RADOS
    // first (the home image's metadata, ceph/lun_lifecycle.h, written through a handle opened
    // for it: the LUN's own would keep the image's lock when nobody held it), so that whichever
    // gateway owns the LUN, now or after a failover, follows it; then in this gateway's tiering;
    // then it tells every gateway serving the LUN that its settings changed, as `rbdtier config set
    // --lun` does (ceph::notify_lun_settings_changed), so that the owner follows at once rather
    // than at its settings backstop (it waits for their acknowledgements, at most the notify's
    // timeout). `done` says `outcome`, and, at warning, that not every gateway was told and why
    // (those find the pin within kSharedSettingsPeriod). A CommandError when the pin is not
    // written.
    static void write_home_pin(const GatewayLun& lun, bool pinned, const std::string& outcome,
                               Outcome& done);
    // Pins extents [first, first+count) of `lun` to the tier in pool `pool`, or releases them
    // (nullopt), in the pins kept in RADOS (ceph/extent_pins.h: read, changed, written whole),
    // then in this gateway's tiering, then tells every gateway serving the LUN as
    // write_home_pin does. A CommandError when the pins cannot be read or written (a stored
    // value that cannot be read is replaced only by releasing the whole LUN).
    static void write_extent_pins(const GatewayLun& lun, std::uint64_t first, std::uint64_t count,
                                  const std::optional<std::string>& pool, Outcome& done);
    nlohmann::json reload(Outcome& done);

    Gateway& gateway_;
};

}  // namespace rbdtier
