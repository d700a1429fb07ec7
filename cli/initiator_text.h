// The initiators of a LUN as the text forms of `rbdtier lun show` and `rbdtier heat` print them,
// from the `initiators` object the gateway puts in both replies (handler/admin_commands.cc:
// source, attribution, configfs counters, and per initiator the commands, bytes and extent runs
// it was attributed). Pure functions of the JSON; a reply without `initiators` (an older
// gateway) or with unexpected types prints nothing rather than failing.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace rbdtier::cli {

// `lun show`: a line saying how commands are attributed (named by the host, the target's
// configfs counters: exact / apportioned / shared, with the problem if any), the configfs
// counters per ACL, then one row per initiator: name ("shared" for initiator 0), commands,
// bytes read and written, and the extents it touched as runs ("0-3 8 12-15").
void render_initiators(const nlohmann::json& initiators, std::ostream& out);

// `heat`: for the extents [first, first+count) shown, the symbol of the initiator that touched
// each (a, b, ... in the order of the activity; '~' shared; '+' more than one initiator; absent:
// none), and the legend line naming those that touched one ("" when none did).
struct InitiatorMap {
    std::map<std::uint64_t, char> by_extent;  // extent -> symbol
    std::string legend;                       // "who: a=iqn...:alpha b=... ~=shared +=several"
};
InitiatorMap initiator_map(const nlohmann::json& initiators, std::uint64_t first,
                           std::uint64_t count);

// "0-3 8 12-15" for the [first, last] runs of an activity entry's "extents".
std::string extent_runs(const nlohmann::json& runs);

}  // namespace rbdtier::cli
