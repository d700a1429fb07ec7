#include "cli/replay_config_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace rbdtier::cli {

namespace {

using nlohmann::json;

void only_keys(const json& j, const std::string& where, std::set<std::string> allowed) {
    if (!j.is_object()) throw std::invalid_argument(where + ": expected an object");
    for (const auto& [key, value] : j.items()) {
        (void)value;
        if (!allowed.count(key)) throw std::invalid_argument(where + ": unknown key '" + key + "'");
    }
}

// The range of a setting: [min, max], or (min, max] when min_exclusive.
struct Range {
    double min;
    bool min_exclusive;
    double max;
};
constexpr double kMaxBytes = 4611686018427387904.0;  // 2^62 (4 EiB): where extent keys end
constexpr double kMaxGib = 4294967296.0;             // the same in GiB
constexpr Range kLatencyUs{0, false, 3.6e9};         // an hour
constexpr Range kUsPerKib{0, false, 1e6};
constexpr Range kCapacityBytes{0, false, kMaxBytes};
constexpr Range kCapacityGib{0, false, kMaxGib};
constexpr Range kFraction{0, true, 1};
constexpr Range kCostPerGib{0, false, 1e9};
constexpr Range kExtentMib{0.004, false, 1024};
constexpr Range kBandwidthMibS{1e-6, false, 1 << 20};  // at most 1 TiB/s
constexpr Range kMaxConcurrent{1, false, 65536};
constexpr Range kRoundS{1e-3, false, 3600};
constexpr Range kHorizonS{0, false, 86400};     // a day
constexpr Range kLun{0, false, (1 << 24) - 1};  // the LUN ids an extent key holds
constexpr Range kPriority{0, true, 1e6};

// A bound or a value as text: whole numbers in full, others in at most 15 digits.
std::string number_text(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e19)
        return v < 0 ? "-" + std::to_string(static_cast<std::uint64_t>(-v))
                     : std::to_string(static_cast<std::uint64_t>(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

double number(const json& j, const std::string& where, Range range) {
    if (!j.is_number()) throw std::invalid_argument(where + ": expected a number");
    const double v = j.get<double>();
    if (!(range.min_exclusive ? v > range.min : v >= range.min) || !(v <= range.max))
        throw std::invalid_argument(where + ": " + number_text(v) + " is out of range: must be " +
                                    (range.min_exclusive ? "greater than " : "at least ") +
                                    number_text(range.min) + " and at most " +
                                    number_text(range.max));
    return v;
}

// `j` (a number in `range`) times `scale` as an integer of type T; refused, not wrapped, when the
// product does not fit in T (every range here keeps it inside).
template <typename T>
T scaled(const json& j, const std::string& where, Range range, double scale) {
    const double v = number(j, where, range);
    const double limit = std::ldexp(1.0, std::numeric_limits<T>::digits);  // the first too large
    if (!(v * scale < limit))
        throw std::invalid_argument(where + ": must be below " + number_text(limit / scale));
    return static_cast<T>(v * scale);
}

std::string text(const json& j, const std::string& where) {
    if (!j.is_string()) throw std::invalid_argument(where + ": expected a string");
    return j.get<std::string>();
}

TierId tier_named(const StorageModel& c, const std::string& name, const std::string& where) {
    for (const auto& t : c.tiers)
        if (t.spec.name == name) return t.spec.id;
    throw std::invalid_argument(where + ": unknown tier '" + name + "'");
}

}  // namespace

ReplayConfigFile parse_replay_config_json(const std::string& input) {
    json root;
    try {
        root = json::parse(input);
    } catch (const json::exception& e) {  // a syntax error, or a number beyond a double
        throw std::invalid_argument(std::string("not valid JSON: ") + e.what());
    }
    only_keys(root, "$",
              {"tiers", "home", "tenants", "extent_mib", "bandwidth_mib_s", "max_concurrent",
               "round_s", "horizon_s"});
    ReplayConfigFile out;
    out.config = default_replay_config();
    StorageModel& c = out.config;
    out.capacity_fraction.assign(c.tiers.size(), -1.0);
    if (root.contains("tiers")) {
        const auto& tiers = root["tiers"];
        if (!tiers.is_array() || tiers.empty())
            throw std::invalid_argument("$.tiers: expected a non-empty array");
        c.tiers.clear();
        out.capacity_fraction.clear();
        for (std::size_t i = 0; i < tiers.size(); ++i) {
            const std::string w = "$.tiers[" + std::to_string(i) + "]";
            const auto& t = tiers[i];
            only_keys(t, w,
                      {"name", "device_class", "site", "read_latency_us", "write_latency_us",
                       "read_us_per_kib", "write_us_per_kib", "capacity_bytes", "capacity_gib",
                       "capacity_fraction", "cost_per_gib"});
            if (!t.contains("name")) throw std::invalid_argument(w + ": 'name' is required");
            TierModel m;
            m.spec.id = static_cast<TierId>(i);
            m.spec.name = text(t["name"], w + ".name");
            for (const auto& other : c.tiers)
                if (other.spec.name == m.spec.name)
                    throw std::invalid_argument(w + ".name: tier '" + m.spec.name +
                                                "' defined twice");
            m.spec.device_class =
                t.contains("device_class") ? text(t["device_class"], w + ".device_class") : "";
            m.spec.site = t.contains("site") ? text(t["site"], w + ".site") : "";
            m.spec.read_latency_us =
                t.contains("read_latency_us")
                    ? number(t["read_latency_us"], w + ".read_latency_us", kLatencyUs)
                    : 1000;
            m.spec.write_latency_us =
                t.contains("write_latency_us")
                    ? number(t["write_latency_us"], w + ".write_latency_us", kLatencyUs)
                    : m.spec.read_latency_us;
            m.read_us_per_kib =
                t.contains("read_us_per_kib")
                    ? number(t["read_us_per_kib"], w + ".read_us_per_kib", kUsPerKib)
                    : 0;
            m.write_us_per_kib =
                t.contains("write_us_per_kib")
                    ? number(t["write_us_per_kib"], w + ".write_us_per_kib", kUsPerKib)
                    : m.read_us_per_kib;
            const int capacity_keys = static_cast<int>(t.contains("capacity_bytes")) +
                                      static_cast<int>(t.contains("capacity_gib")) +
                                      static_cast<int>(t.contains("capacity_fraction"));
            if (capacity_keys > 1)
                throw std::invalid_argument(w +
                                            ": give one of capacity_bytes, capacity_gib, "
                                            "capacity_fraction");
            double fraction = -1;
            if (t.contains("capacity_bytes"))
                m.spec.capacity_bytes = scaled<std::uint64_t>(
                    t["capacity_bytes"], w + ".capacity_bytes", kCapacityBytes, 1);
            if (t.contains("capacity_gib"))
                m.spec.capacity_bytes = scaled<std::uint64_t>(
                    t["capacity_gib"], w + ".capacity_gib", kCapacityGib, 1ull << 30);
            if (t.contains("capacity_fraction")) {
                fraction = number(t["capacity_fraction"], w + ".capacity_fraction", kFraction);
            }
            m.spec.cost_per_gib = t.contains("cost_per_gib")
                                      ? number(t["cost_per_gib"], w + ".cost_per_gib", kCostPerGib)
                                      : 1;
            c.tiers.push_back(m);
            out.capacity_fraction.push_back(fraction);
        }
        c.default_home = 0;
        // Without "home": the tier named hdd-a if there is one, else the first tier.
        for (const auto& t : c.tiers)
            if (t.spec.name == "hdd-a") c.default_home = t.spec.id;
    }
    if (root.contains("home"))
        c.default_home = tier_named(c, text(root["home"], "$.home"), "$.home");
    if (root.contains("extent_mib"))
        c.extent_bytes =
            scaled<std::uint64_t>(root["extent_mib"], "$.extent_mib", kExtentMib, 1 << 20) / 4096 *
            4096;
    if (root.contains("bandwidth_mib_s"))
        c.bandwidth_bytes_per_s =
            number(root["bandwidth_mib_s"], "$.bandwidth_mib_s", kBandwidthMibS) * (1 << 20);
    if (root.contains("max_concurrent"))
        c.max_concurrent =
            scaled<unsigned>(root["max_concurrent"], "$.max_concurrent", kMaxConcurrent, 1);
    if (root.contains("round_s"))
        c.round_us = scaled<std::uint64_t>(root["round_s"], "$.round_s", kRoundS, 1e6);
    if (root.contains("horizon_s"))
        c.horizon_us = scaled<std::uint64_t>(root["horizon_s"], "$.horizon_s", kHorizonS, 1e6);
    if (root.contains("tenants")) {
        const auto& tenants = root["tenants"];
        if (!tenants.is_array()) throw std::invalid_argument("$.tenants: expected an array");
        for (std::size_t i = 0; i < tenants.size(); ++i) {
            const std::string w = "$.tenants[" + std::to_string(i) + "]";
            const auto& t = tenants[i];
            only_keys(t, w, {"name", "luns", "quota_bytes", "quota_gib", "priority"});
            TenantModel m;
            m.name =
                t.contains("name") ? text(t["name"], w + ".name") : "tenant" + std::to_string(i);
            if (t.contains("luns")) {
                if (!t["luns"].is_array())
                    throw std::invalid_argument(w + ".luns: expected an array");
                for (std::size_t k = 0; k < t["luns"].size(); ++k)
                    m.luns.push_back(scaled<LunId>(
                        t["luns"][k], w + ".luns[" + std::to_string(k) + "]", kLun, 1));
            }
            for (const char* key : {"quota_bytes", "quota_gib"}) {
                if (!t.contains(key)) continue;
                const auto& q = t[key];
                if (!q.is_object())
                    throw std::invalid_argument(w + "." + key + ": expected an object");
                for (const auto& [tier, value] : q.items()) {
                    const std::string wq = w + "." + key + "." + tier;
                    const bool gib = std::string(key) == "quota_gib";
                    m.quota_bytes[tier_named(c, tier, wq)] = scaled<std::uint64_t>(
                        value, wq, gib ? kCapacityGib : kCapacityBytes, gib ? 1ull << 30 : 1);
                }
            }
            if (t.contains("priority"))
                m.priority = number(t["priority"], w + ".priority", kPriority);
            c.tenants.push_back(m);
        }
    }
    c.validate();
    return out;
}

StorageModel resolve_capacity_fractions(ReplayConfigFile file, std::uint64_t working_set_extents) {
    StorageModel& config = file.config;
    for (std::size_t i = 0; i < config.tiers.size() && i < file.capacity_fraction.size(); ++i) {
        const double fraction = file.capacity_fraction[i];
        if (fraction <= 0) continue;
        const auto extents = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(static_cast<double>(working_set_extents) * fraction));
        config.tiers[i].spec.capacity_bytes = extents * config.extent_bytes;
    }
    return std::move(config);
}

ReplayConfigFile read_replay_config_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse_replay_config_json(ss.str());
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(path + ": " + e.what());
    }
}

}  // namespace rbdtier::cli
