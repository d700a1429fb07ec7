#include "cli/initiator_text.h"

#include <algorithm>
#include <cstdint>

#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

using nlohmann::json;

// A whole number >= 0 (as parsed, or as written in a test), else none.
bool whole(const json& v, std::uint64_t& out) {
    if (v.is_number_unsigned()) {
        out = v.get<std::uint64_t>();
        return true;
    }
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
        out = static_cast<std::uint64_t>(v.get<std::int64_t>());
        return true;
    }
    return false;
}

std::uint64_t number(const json& object, const char* key) {
    std::uint64_t n = 0;
    return whole(object.value(key, json()), n) ? n : 0;
}

// The string at `key`, or `fallback` when absent or not a string.
std::string text(const json& object, const char* key, const std::string& fallback) {
    const json v = object.value(key, json());
    return v.is_string() ? v.get<std::string>() : fallback;
}

bool is_shared(const json& entry) {
    std::uint64_t id = 1;
    return whole(entry.value("initiator", json()), id) && id == 0;
}

// The initiator's name as printed: its IQN/WWN, "shared" for initiator 0, else its number.
std::string initiator_name(const json& entry) {
    const json name = entry.value("initiator_name", json());
    if (name.is_string()) return name.get<std::string>();
    if (is_shared(entry)) return "shared";
    return "initiator " + cell(entry.value("initiator", json()));
}

// [first, last] pairs of `runs` that are well-formed.
template <typename Fn>
void for_each_run(const json& runs, Fn&& fn) {
    if (!runs.is_array()) return;
    for (const json& run : runs) {
        std::uint64_t first = 0, last = 0;
        if (!run.is_array() || run.size() != 2 || !whole(run[0], first) || !whole(run[1], last))
            continue;
        if (last >= first) fn(first, last);
    }
}

}  // namespace

std::string extent_runs(const json& runs) {
    std::string out;
    for_each_run(runs, [&](std::uint64_t first, std::uint64_t last) {
        if (!out.empty()) out += ' ';
        out += std::to_string(first);
        if (last != first) out += '-' + std::to_string(last);
    });
    return out.empty() ? "-" : out;
}

void render_initiators(const json& initiators, std::ostream& out) {
    if (!initiators.is_object()) return;
    const std::string source = text(initiators, "source", "none");
    out << "initiators  ";
    if (source == "configfs") {
        out << "attributed from the target's configfs counters ("
            << text(initiators, "attribution", "shared") << ", "
            << cell(initiators.value("samples", json())) << " samples of "
            << cell(initiators.value("backstore", json())) << ")";
        const json problem = initiators.value("problem", json());
        if (problem.is_string()) out << "; problem: " << problem.get<std::string>();
    } else if (source == "host") {
        out << "named by the host with each command";
    } else {
        out << "not attributed";
    }
    out << '\n';
    const json counters = initiators.value("configfs", json());
    if (counters.is_array() && !counters.empty()) {
        TextTable t({"ACL", "COMMANDS", "READ", "WRITTEN", "LAST INTERVAL", "SHARE"});
        for (const json& c : counters) {
            if (!c.is_object()) continue;
            const json share = c.value("share", json());
            t.add({cell(c.value("name", json())), cell(c.value("num_cmds", json())),
                   human_bytes(number(c, "read_mib") << 20),
                   human_bytes(number(c, "write_mib") << 20),
                   cell(c.value("cmds_last_interval", json())),
                   share.is_number() ? percent(share.get<double>()) : "-"});
        }
        t.print(out);
    }
    const json activity = initiators.value("activity", json());
    if (!activity.is_array() || activity.empty()) {
        out << "            no command attributed yet\n";
        return;
    }
    TextTable t({"INITIATOR", "COMMANDS", "READ", "WRITTEN", "EXTENTS"});
    for (const json& e : activity) {
        if (!e.is_object()) continue;
        t.add({initiator_name(e), cell(e.value("commands", json())),
               human_bytes(number(e, "read_bytes")), human_bytes(number(e, "write_bytes")),
               extent_runs(e.value("extents", json()))});
    }
    t.print(out);
    if (const std::uint64_t untracked = number(initiators, "untracked_commands"); untracked > 0)
        out << "            " << untracked << " commands of initiators beyond the tracked ones\n";
}

InitiatorMap initiator_map(const json& initiators, std::uint64_t first, std::uint64_t count) {
    InitiatorMap map;
    if (!initiators.is_object()) return map;
    const json activity = initiators.value("activity", json());
    if (!activity.is_array()) return map;
    static const std::string kLetters = "abcdefghijklmnopqrstuvwxyz";
    std::size_t next = 0;
    bool shared = false, several = false, named_any = false;
    std::string names;
    for (const json& e : activity) {
        if (!e.is_object()) continue;
        char symbol = '~';
        if (!is_shared(e)) {
            symbol = next < kLetters.size() ? kLetters[next] : '?';
            ++next;
        }
        bool touched = false;
        for_each_run(e.value("extents", json()), [&](std::uint64_t from, std::uint64_t to) {
            // Only the part of the run inside the extents shown.
            const std::uint64_t lo = std::max(from, first);
            if (count == 0) return;
            const std::uint64_t last_shown =
                first > UINT64_MAX - (count - 1) ? UINT64_MAX : first + count - 1;
            const std::uint64_t hi = std::min(to, last_shown);
            if (lo > hi) return;
            touched = true;
            for (std::uint64_t x = lo;; ++x) {  // to hi inclusive, even when hi is UINT64_MAX
                auto [it, fresh] = map.by_extent.emplace(x, symbol);
                if (!fresh && it->second != symbol) {
                    it->second = '+';
                    several = true;
                }
                if (x == hi) break;
            }
        });
        if (!touched) continue;
        if (symbol == '~') {
            shared = true;
        } else {
            names += (named_any ? " " : "") + std::string(1, symbol) + "=" + initiator_name(e);
            named_any = true;
        }
    }
    if (map.by_extent.empty()) return map;
    map.legend = "who: " + names;
    if (shared) map.legend += std::string(named_any ? " " : "") + "~=shared";
    if (several) map.legend += " +=several";
    return map;
}

}  // namespace rbdtier::cli
