#include "cli/replay_plot.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace rbdtier::cli {
namespace {

const char* const kPalette[] = {"#1e88e5", "#43a047", "#fb8c00", "#8e24aa",
                                "#00acc1", "#e53935", "#6d4c41", "#9e9e9e"};

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else if (c == '&')
            out += "&amp;";
        else if (c == '\'')
            out += "&#39;";
        else
            out += c;
    }
    return out;
}

std::string num(double v, const char* fmt = "%.2f") {
    char buf[64];
    std::snprintf(buf, sizeof(buf), fmt, v);
    return buf;
}

constexpr double kLabel = 110;  // left margin for policy names
constexpr double kWidth = 600;  // bar area
constexpr double kRow = 22;

// Horizontal bars, one row per policy, one or more bars per row (grouped).
void grouped_bars(std::ostream& o, const std::vector<ReplayResult>& results,
                  const std::vector<std::pair<std::string, double ReplayResult::*>>& series,
                  const std::string& unit) {
    double top = 0;
    for (const auto& r : results)
        for (const auto& [name, field] : series) top = std::max(top, r.*field);
    const double group = kRow * double(series.size()) + 8;
    const double h = group * double(results.size()) + 30;
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kLabel + kWidth + 120 << "' height='"
      << h << "'>";
    for (std::size_t i = 0; i < results.size(); ++i) {
        const double y0 = 4 + group * double(i);
        o << "<text x='4' y='" << y0 + kRow * 0.7 << "' font-size='12'>"
          << escape(results[i].policy) << "</text>";
        for (std::size_t s = 0; s < series.size(); ++s) {
            const double v = results[i].*(series[s].second);
            const double w = top > 0 ? kWidth * v / top : 0;
            const double y = y0 + kRow * double(s);
            o << "<rect class='bar' x='" << kLabel << "' y='" << y << "' width='" << w
              << "' height='" << kRow - 4 << "' fill='" << kPalette[s % 8] << "'><title>"
              << escape(series[s].first) << "</title></rect><text x='" << kLabel + w + 4 << "' y='"
              << y + kRow * 0.6 << "' font-size='11'>" << num(v) << ' ' << unit << "</text>";
        }
    }
    o << "</svg>\n<p>";
    for (std::size_t s = 0; s < series.size(); ++s)
        o << "<span style='color:" << kPalette[s % 8] << "'>&#9632; " << escape(series[s].first)
          << "</span> ";
    o << "</p>\n";
}

}  // namespace

void write_replay_plot(std::ostream& o, const TraceSummary& trace,
                       const std::vector<ReplayResult>& results) {
    o << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>rbdtier replay "
      << escape(trace.source) << "</title><style>body{font-family:sans-serif;margin:20px}"
      << "h2{font-size:16px}</style></head><body>\n<h1>rbdtier replay</h1>\n<p>trace "
      << escape(trace.source) << " (" << escape(trace.format) << "): " << trace.events << " I/Os, "
      << trace.luns << " LUN(s), " << num(double(trace.duration_us) / 1e6, "%.0f")
      << " s, working set " << trace.working_set_extents << " extents</p>\n";

    std::vector<ReplayResult> ms = results;  // latency in ms for the chart
    for (auto& r : ms) {
        r.mean_latency_us /= 1000.0;
        r.p99_latency_us /= 1000.0;
    }
    o << "<h2>Modelled read/write latency per policy</h2>\n";
    grouped_bars(o, ms,
                 {{"mean", &ReplayResult::mean_latency_us}, {"p99", &ReplayResult::p99_latency_us}},
                 "ms");

    o << "<h2>Share of I/Os served by each tier</h2>\n";
    std::vector<std::string> tiers;
    for (const auto& r : results)
        for (const auto& t : r.tier_names)
            if (std::find(tiers.begin(), tiers.end(), t) == tiers.end()) tiers.push_back(t);
    o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kLabel + kWidth + 20 << "' height='"
      << kRow * double(results.size()) + 10 << "'>";
    for (std::size_t i = 0; i < results.size(); ++i) {
        const ReplayResult& r = results[i];
        const double y = 4 + kRow * double(i);
        o << "<text x='4' y='" << y + kRow * 0.7 << "' font-size='12'>" << escape(r.policy)
          << "</text>";
        double x = kLabel;
        for (std::size_t t = 0; t < r.tier_names.size() && t < r.ios_per_tier.size(); ++t) {
            const double share = r.ios ? double(r.ios_per_tier[t]) / double(r.ios) : 0.0;
            const std::size_t c =
                std::find(tiers.begin(), tiers.end(), r.tier_names[t]) - tiers.begin();
            o << "<rect class='share' x='" << x << "' y='" << y << "' width='" << kWidth * share
              << "' height='" << kRow - 4 << "' fill='" << kPalette[c % 8] << "'><title>"
              << escape(r.tier_names[t]) << ": " << num(100 * share, "%.1f") << "%</title></rect>";
            x += kWidth * share;
        }
    }
    o << "</svg>\n<p>";
    for (std::size_t c = 0; c < tiers.size(); ++c)
        o << "<span style='color:" << kPalette[c % 8] << "'>&#9632; " << escape(tiers[c])
          << "</span> ";
    o << "</p>\n";

    o << "<h2>Migrations and whether promotions paid</h2>\n<table border='1' "
      << "cellpadding='4' style='border-collapse:collapse'><tr><th>policy</th><th>migrations</th>"
      << "<th>MiB moved</th><th>promotions</th><th>wasted</th><th>precision</th><th>recall</th>"
      << "<th>fast-tier share</th></tr>\n";
    for (const auto& r : results)
        o << "<tr><td>" << escape(r.policy) << "</td><td>" << r.migrations << "</td><td>"
          << num(double(r.bytes_migrated) / (1 << 20), "%.0f") << "</td><td>" << r.promotions
          << "</td><td>" << r.wasted_promotions << "</td><td>" << num(100 * r.precision(), "%.1f")
          << "%</td><td>" << num(100 * r.recall(), "%.1f") << "%</td><td>"
          << num(100 * r.fast_share(), "%.1f") << "%</td></tr>\n";
    o << "</table>\n</body></html>\n";
}

}  // namespace rbdtier::cli
