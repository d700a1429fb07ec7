#include "cli/replay_report.h"

#include <algorithm>
#include <cstdio>

namespace rbdtier::cli {

namespace {

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

std::size_t fastest_tier(const StorageModel& c) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < c.tiers.size(); ++i)
        if (c.tiers[i].spec.read_latency_us < c.tiers[best].spec.read_latency_us) best = i;
    return best;
}

}  // namespace

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u < 5) {
        bytes /= 1024;
        ++u;
    }
    return format(u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

namespace {

void print_trace_line(std::ostream& out, const TraceSummary& trace, std::uint64_t extent_bytes) {
    out << format("trace: %s (%s): %llu I/Os", trace.source.c_str(), trace.format.c_str(),
                  static_cast<unsigned long long>(trace.events));
    if (trace.skipped)
        out << format(" (+%llu non-I/O records skipped)",
                      static_cast<unsigned long long>(trace.skipped));
    out << format(" over %.1f s, %llu LUNs, working set %llu extents (%s)\n",
                  static_cast<double>(trace.duration_us) / 1e6,
                  static_cast<unsigned long long>(trace.luns),
                  static_cast<unsigned long long>(trace.working_set_extents),
                  human_bytes(static_cast<double>(trace.working_set_extents) *
                              static_cast<double>(extent_bytes))
                      .c_str());
}

const ReplayResult* find_policy(const std::vector<ReplayResult>& results, const char* name) {
    for (const auto& r : results)
        if (r.policy == name) return &r;
    return nullptr;
}

}  // namespace

void print_replay_table(std::ostream& out, const TraceSummary& trace, const StorageModel& config,
                        const std::vector<ReplayResult>& results) {
    print_trace_line(out, trace, config.extent_bytes);
    out << "tiers:";
    for (const auto& t : config.tiers) {
        out << format(" %s %.1f ms", t.spec.name.c_str(), t.spec.read_latency_us / 1000.0);
        if (t.spec.id == config.default_home) out << " (home)";
        if (t.spec.capacity_bytes)
            out << " cap " << human_bytes(static_cast<double>(t.spec.capacity_bytes));
        out << (t.spec.id + 1u == config.tiers.size() ? "" : ";");
    }
    out << format(
        "\nbudget: %s/s migration bandwidth, %u concurrent, round %.1f s, horizon %.0f s, "
        "extent %s\n\n",
        human_bytes(config.bandwidth_bytes_per_s).c_str(), config.max_concurrent,
        static_cast<double>(config.round_us) / 1e6, static_cast<double>(config.horizon_us) / 1e6,
        human_bytes(static_cast<double>(config.extent_bytes)).c_str());
    const auto fastest = fastest_tier(config);
    out << format("%-11s %6s %7s %9s %8s %8s %10s %8s %6s %6s %8s %7s\n", "policy", "fast",
                  config.tiers[fastest].spec.name.c_str(), "mean ms", "p50 ms", "p99 ms",
                  "migrated", "wasted", "prec", "recall", "refused", "time s");
    for (const auto& r : results) {
        const double fastest_share =
            r.ios ? static_cast<double>(r.ios_per_tier[fastest]) / static_cast<double>(r.ios) : 0;
        out << format(
            "%-11s %5.1f%% %6.1f%% %9.3f %8.3f %8.3f %10s %8llu %5.0f%% %5.0f%% %8llu %7.2f\n",
            r.policy.c_str(), 100 * r.fast_share(), 100 * fastest_share, r.mean_latency_us / 1000,
            r.p50_latency_us / 1000, r.p99_latency_us / 1000,
            human_bytes(static_cast<double>(r.bytes_migrated)).c_str(),
            static_cast<unsigned long long>(r.wasted_promotions), 100 * r.precision(),
            100 * r.recall(), static_cast<unsigned long long>(r.refused()), r.wall_seconds);
    }
}

void print_replay_explain(std::ostream& out, const std::vector<ReplayResult>& results) {
    out << "\nwhy (promotions completed, used before leaving the fast tier, bytes of promotions "
           "never used,\nmean wait from an extent's first slow access to its promotion, rounds "
           "with an idle channel,\nslow accesses in the round before and no promotion):\n";
    out << format("%-11s %10s %10s %6s %12s %10s %14s\n", "policy", "promoted", "used", "used%",
                  "unused", "wait s", "idle rounds");
    for (const auto& r : results) {
        const double used =
            r.promotions ? static_cast<double>(r.useful_promotions) / r.promotions : 0.0;
        out << format("%-11s %10llu %10llu %5.0f%% %12s %10.1f %8llu/%-5llu\n", r.policy.c_str(),
                      static_cast<unsigned long long>(r.promotions),
                      static_cast<unsigned long long>(r.useful_promotions), 100 * used,
                      human_bytes(static_cast<double>(r.wasted_promotion_bytes)).c_str(),
                      r.mean_promotion_wait_us() / 1e6,
                      static_cast<unsigned long long>(r.idle_rounds_without_promotion),
                      static_cast<unsigned long long>(r.rounds));
    }
    out << "\nslow accesses (extent accesses served from a tier not faster than home): the "
           "extent's first\naccess, re-read after its demotion (within 10 s of it), within a "
           "round of the slow access\nthat started its wait (a burst), accessed before and not "
           "promoted since:\n";
    out << format("%-11s %10s %10s %16s %10s %14s\n", "policy", "slow", "first", "after demotion",
                  "burst", "not promoted");
    for (const auto& r : results) {
        const auto slow = r.slow_first_accesses + r.slow_after_demotion + r.slow_within_round +
                          r.slow_before_promotion;
        out << format("%-11s %10llu %10llu %8llu (%5llu) %10llu %14llu\n", r.policy.c_str(),
                      static_cast<unsigned long long>(slow),
                      static_cast<unsigned long long>(r.slow_first_accesses),
                      static_cast<unsigned long long>(r.slow_after_demotion),
                      static_cast<unsigned long long>(r.slow_after_demotion_10s),
                      static_cast<unsigned long long>(r.slow_within_round),
                      static_cast<unsigned long long>(r.slow_before_promotion));
    }
    for (const auto& r : results) {
        if (!r.selection) continue;
        const SelectionReport& sel = *r.selection;
        out << "\n"
            << r.policy << " follows, per LUN, the candidate whose shadow placement served "
            << "its I/O at the lowest cost\n(rounds followed each candidate, then the switches, "
            << "s from the start of the trace):\n";
        for (const LunSelection& lun : sel.luns) {
            out << format("  LUN %llu:", static_cast<unsigned long long>(lun.lun));
            for (std::size_t i = 0; i < sel.candidates.size() && i < lun.rounds.size(); ++i)
                out << format(" %s %llu", sel.candidates[i].c_str(),
                              static_cast<unsigned long long>(lun.rounds[i]));
            out << format("; %zu switch%s\n", lun.switches.size(),
                          lun.switches.size() == 1 ? "" : "es");
            constexpr std::size_t kShown = 12;
            for (std::size_t k = 0; k < lun.switches.size() && k < kShown; ++k) {
                const StrategySwitch& sw = lun.switches[k];
                out << format("    %9.1f s  %s -> %s\n",
                              static_cast<double>(sw.time_us - r.start_us) / 1e6,
                              sel.candidates.at(sw.from).c_str(), sel.candidates.at(sw.to).c_str());
            }
            if (lun.switches.size() > kShown)
                out << format("    ... %zu more\n", lun.switches.size() - kShown);
        }
    }
}

namespace {
// The trace as the JSON reports describe it.
nlohmann::json trace_json(const TraceSummary& trace) {
    return {{"source", trace.source},
            {"format", trace.format},
            {"events", trace.events},
            {"skipped", trace.skipped},
            {"luns", trace.luns},
            {"duration_s", static_cast<double>(trace.duration_us) / 1e6},
            {"working_set_extents", trace.working_set_extents}};
}
}  // namespace

nlohmann::json replay_json(const TraceSummary& trace, const StorageModel& config,
                           const std::vector<ReplayResult>& results) {
    using nlohmann::json;
    json j;
    j["trace"] = trace_json(trace);
    json tiers = json::array();
    for (const auto& t : config.tiers)
        tiers.push_back({{"name", t.spec.name},
                         {"device_class", t.spec.device_class},
                         {"site", t.spec.site},
                         {"read_latency_us", t.spec.read_latency_us},
                         {"write_latency_us", t.spec.write_latency_us},
                         {"capacity_bytes", t.spec.capacity_bytes},
                         {"home", t.spec.id == config.default_home}});
    j["config"] = {{"tiers", tiers},
                   {"extent_bytes", config.extent_bytes},
                   {"bandwidth_bytes_per_s", config.bandwidth_bytes_per_s},
                   {"max_concurrent", config.max_concurrent},
                   {"round_s", static_cast<double>(config.round_us) / 1e6},
                   {"horizon_s", static_cast<double>(config.horizon_us) / 1e6},
                   {"tenants", config.tenants.size()}};
    json rows = json::array();
    for (const auto& r : results) {
        json per_tier = json::object();
        for (std::size_t i = 0; i < r.tier_names.size(); ++i)
            per_tier[r.tier_names[i]] = {
                {"ios", r.ios_per_tier[i]},
                {"bytes", r.bytes_per_tier[i]},
                {"io_share", r.ios ? static_cast<double>(r.ios_per_tier[i]) / r.ios : 0.0}};
        rows.push_back({{"policy", r.policy},
                        {"ios", r.ios},
                        {"bytes", r.bytes},
                        {"fast_share", r.fast_share()},
                        {"tiers", per_tier},
                        {"mean_latency_us", r.mean_latency_us},
                        {"p50_latency_us", r.p50_latency_us},
                        {"p99_latency_us", r.p99_latency_us},
                        {"migrations", r.migrations},
                        {"bytes_migrated", r.bytes_migrated},
                        {"promotions", r.promotions},
                        {"demotions", r.demotions},
                        {"useful_promotions", r.useful_promotions},
                        {"wasted_promotions", r.wasted_promotions},
                        {"unfinished_migrations", r.unfinished_migrations},
                        {"explain",
                         {{"promotions", r.promotions},
                          {"promotions_used", r.useful_promotions},
                          {"wasted_promotion_bytes", r.wasted_promotion_bytes},
                          {"mean_promotion_wait_s", r.mean_promotion_wait_us() / 1e6},
                          {"promotions_after_wait", r.promotions_after_wait},
                          {"idle_rounds_without_promotion", r.idle_rounds_without_promotion},
                          {"slow_first_accesses", r.slow_first_accesses},
                          {"slow_after_demotion", r.slow_after_demotion},
                          {"slow_after_demotion_10s", r.slow_after_demotion_10s},
                          {"slow_within_round", r.slow_within_round},
                          {"slow_before_promotion", r.slow_before_promotion},
                          {"rounds", r.rounds}}},
                        {"precision", r.precision()},
                        {"recall", r.recall()},
                        {"orders", r.orders},
                        {"refused",
                         {{"capacity", r.refused_capacity},
                          {"quota", r.refused_quota},
                          {"bandwidth", r.refused_bandwidth},
                          {"concurrency", r.refused_concurrency},
                          {"invalid", r.refused_invalid}}},
                        {"rounds", r.rounds},
                        {"wall_seconds", r.wall_seconds}});
        if (r.selection) {
            json luns = json::array();
            for (const LunSelection& lun : r.selection->luns) {
                json followed = json::object();
                for (std::size_t i = 0; i < lun.rounds.size(); ++i)
                    followed[r.selection->candidates.at(i)] = lun.rounds[i];
                json switches = json::array();
                for (const StrategySwitch& sw : lun.switches)
                    switches.push_back(
                        {{"time_s", static_cast<double>(sw.time_us - r.start_us) / 1e6},
                         {"from", r.selection->candidates.at(sw.from)},
                         {"to", r.selection->candidates.at(sw.to)}});
                luns.push_back(
                    {{"lun", lun.lun}, {"rounds_followed", followed}, {"switches", switches}});
            }
            rows.back()["selection"] = {{"candidates", r.selection->candidates}, {"luns", luns}};
        }
    }
    j["results"] = rows;
    return j;
}

std::string sweep_winner(const std::vector<ReplayResult>& results) {
    const ReplayResult* best = nullptr;
    for (const auto& r : results)
        if (r.policy != "oracle" && (!best || r.mean_latency_us < best->mean_latency_us)) best = &r;
    if (!best && !results.empty()) best = &results.front();
    return best ? best->policy : std::string();
}

void print_sweep_table(std::ostream& out, const TraceSummary& trace, std::uint64_t extent_bytes,
                       const std::vector<Sweep>& sweeps,
                       const std::vector<SweepPointResult>& points) {
    print_trace_line(out, trace, extent_bytes);
    out << "sweep:";
    for (const Sweep& s : sweeps) {
        out << " " << sweep_dimension_name(s.dimension) << "=";
        for (std::size_t i = 0; i < s.values.size(); ++i)
            out << (i ? "," : "") << sweep_value_label(s.dimension, s.values[i]);
    }
    out << format(" (%zu points)\n", points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
        const SweepPointResult& p = points[i];
        out << format("\npoint %zu/%zu: fast ", i + 1, points.size());
        if (p.fast_capacity_extents == 0)
            out << "unlimited";
        else
            out << format("%s (%llu extents)",
                          sweep_value_label(SweepDimension::kFast, p.fast_fraction).c_str(),
                          static_cast<unsigned long long>(p.fast_capacity_extents));
        out << format(", bandwidth %g MiB/s, concurrency %u\n", p.bandwidth_mib_s, p.concurrency);
        out << format("  %-11s %9s %9s %7s %10s\n", "policy", "mean ms", "p99 ms", "fast",
                      "migrated");
        for (const auto& r : p.results)
            out << format("  %-11s %9.3f %9.3f %6.1f%% %10s\n", r.policy.c_str(),
                          r.mean_latency_us / 1000, r.p99_latency_us / 1000, 100 * r.fast_share(),
                          human_bytes(static_cast<double>(r.bytes_migrated)).c_str());
        const std::string winner = sweep_winner(p.results);
        const ReplayResult* best = find_policy(p.results, winner.c_str());
        if (!best) continue;
        out << format("  best: %s (mean %.3f ms", winner.c_str(), best->mean_latency_us / 1000);
        const ReplayResult* none = find_policy(p.results, "none");
        const ReplayResult* oracle = find_policy(p.results, "oracle");
        if (none && oracle && none->mean_latency_us > oracle->mean_latency_us)
            out << format(", %.0f%% of the none-to-oracle gap",
                          100 * (none->mean_latency_us - best->mean_latency_us) /
                              (none->mean_latency_us - oracle->mean_latency_us));
        out << ")\n";
    }
}

nlohmann::json sweep_json(const TraceSummary& trace, const std::vector<Sweep>& sweeps,
                          const std::vector<SweepPointResult>& points) {
    using nlohmann::json;
    json j;
    j["trace"] = trace_json(trace);
    json dims = json::array();
    for (const Sweep& s : sweeps)
        dims.push_back(
            {{"dimension", std::string(sweep_dimension_name(s.dimension))}, {"values", s.values}});
    j["sweep"] = dims;
    json rows = json::array();
    for (const SweepPointResult& p : points) {
        json results = json::array();
        for (const auto& r : p.results)
            results.push_back({{"policy", r.policy},
                               {"mean_latency_us", r.mean_latency_us},
                               {"p50_latency_us", r.p50_latency_us},
                               {"p99_latency_us", r.p99_latency_us},
                               {"fast_share", r.fast_share()},
                               {"migrations", r.migrations},
                               {"bytes_migrated", r.bytes_migrated},
                               {"promotions", r.promotions},
                               {"useful_promotions", r.useful_promotions},
                               {"wasted_promotion_bytes", r.wasted_promotion_bytes}});
        rows.push_back({{"fast_fraction", p.fast_fraction},
                        {"fast_capacity_extents", p.fast_capacity_extents},
                        {"bandwidth_mib_s", p.bandwidth_mib_s},
                        {"concurrency", p.concurrency},
                        {"winner", sweep_winner(p.results)},
                        {"results", results}});
    }
    j["points"] = rows;
    return j;
}

}  // namespace rbdtier::cli
