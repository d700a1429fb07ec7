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

std::string_view dimension_title(SweepDimension d) {
    switch (d) {
        case SweepDimension::kFast:
            return "fast share of the working set";
        case SweepDimension::kBandwidth:
            return "migration bandwidth";
        case SweepDimension::kConcurrency:
            return "concurrent migrations";
    }
    return "?";
}

void html_head(std::ostream& o, const TraceSummary& trace) {
    o << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>rbdtier replay "
      << escape(trace.source) << "</title><style>body{font-family:sans-serif;margin:20px}"
      << "h2{font-size:16px}h3{font-size:13px;margin:12px 0 2px}</style></head><body>\n"
      << "<h1>rbdtier replay</h1>\n<p>trace " << escape(trace.source) << " ("
      << escape(trace.format) << "): " << trace.events << " I/Os, " << trace.luns << " LUN(s), "
      << num(double(trace.duration_us) / 1e6, "%.0f") << " s, working set "
      << trace.working_set_extents << " extents</p>\n";
}

constexpr double kPanelW = 330, kPanelH = 190, kPadL = 48, kPadB = 34, kPadT = 18, kPadR = 12;

// One panel: latency (ms) of each policy across `xs` (labels), `values[policy][x]` in ms.
void line_panel(std::ostream& o, double x0, const std::string& title,
                const std::vector<std::string>& xs, const std::vector<std::string>& policies,
                const std::vector<std::vector<double>>& values) {
    double top = 0;
    for (const auto& row : values)
        for (double v : row) top = std::max(top, v);
    top = top > 0 ? top * 1.1 : 1;
    const double w = kPanelW - kPadL - kPadR, h = kPanelH - kPadT - kPadB;
    const auto px = [&](std::size_t i) {
        constexpr double kInset = 16;  // keeps the first and last point off the axes
        return x0 + kPadL + kInset +
               (xs.size() > 1 ? (w - 2 * kInset) * double(i) / double(xs.size() - 1)
                              : w / 2 - kInset);
    };
    const auto py = [&](double v) { return kPadT + h * (1 - v / top); };
    o << "<text x='" << x0 + kPadL << "' y='12' font-size='12' font-weight='bold'>" << escape(title)
      << "</text>";
    o << "<line x1='" << x0 + kPadL << "' y1='" << kPadT + h << "' x2='" << x0 + kPadL + w
      << "' y2='" << kPadT + h << "' stroke='#444'/><line x1='" << x0 + kPadL << "' y1='" << kPadT
      << "' x2='" << x0 + kPadL << "' y2='" << kPadT + h << "' stroke='#444'/>";
    for (int t = 0; t <= 4; ++t) {
        const double v = top * t / 4;
        o << "<text x='" << x0 + kPadL - 4 << "' y='" << py(v) + 4
          << "' font-size='10' text-anchor='end'>" << num(v) << "</text>";
    }
    o << "<text x='" << x0 + 10 << "' y='" << kPadT + h / 2
      << "' font-size='10' transform='rotate(-90 " << x0 + 10 << ' ' << kPadT + h / 2
      << ")' text-anchor='middle'>ms</text>";
    for (std::size_t i = 0; i < xs.size(); ++i)
        o << "<text x='" << px(i) << "' y='" << kPadT + h + 14
          << "' font-size='10' text-anchor='middle'>" << escape(xs[i]) << "</text>";
    for (std::size_t p = 0; p < policies.size(); ++p) {
        o << "<polyline class='policy' fill='none' stroke-width='2' stroke='" << kPalette[p % 8]
          << "' points='";
        for (std::size_t i = 0; i < xs.size(); ++i)
            o << (i ? " " : "") << px(i) << ',' << py(values[p][i]);
        o << "'/>";
        for (std::size_t i = 0; i < xs.size(); ++i)
            o << "<circle cx='" << px(i) << "' cy='" << py(values[p][i]) << "' r='3' fill='"
              << kPalette[p % 8] << "'><title>" << escape(policies[p]) << " at " << escape(xs[i])
              << ": " << num(values[p][i], "%.3f") << " ms</title></circle>";
    }
}

}  // namespace

void write_sweep_plot(std::ostream& o, const TraceSummary& trace, const std::vector<Sweep>& sweeps,
                      const std::vector<SweepPointResult>& points) {
    html_head(o, trace);
    std::vector<std::string> policies;
    if (!points.empty())
        for (const auto& r : points.front().results) policies.push_back(r.policy);
    o << "<p>";
    for (std::size_t p = 0; p < policies.size(); ++p)
        o << "<span style='color:" << kPalette[p % 8] << "'>&#9632; " << escape(policies[p])
          << "</span> ";
    o << "</p>\n";
    for (const Sweep& along : sweeps) {
        o << "<h2>Mean and p99 latency across the "
          << escape(std::string(dimension_title(along.dimension))) << "</h2>\n";
        std::vector<std::string> xs;
        for (double v : along.values) xs.push_back(sweep_value_label(along.dimension, v));
        // Points that differ only in `along` form one group (one pair of charts).
        std::vector<std::vector<const SweepPointResult*>> groups;
        std::vector<std::string> titles;
        for (const SweepPointResult& p : points) {
            std::string key;
            for (const Sweep& other : sweeps)
                if (other.dimension != along.dimension) {
                    const auto v = sweep_value(p.point, other.dimension);
                    key += (key.empty() ? "" : ", ") +
                           std::string(sweep_dimension_name(other.dimension)) + " " +
                           sweep_value_label(other.dimension, v.value_or(0));
                }
            const auto it = std::find(titles.begin(), titles.end(), key);
            if (it == titles.end()) {
                titles.push_back(key);
                groups.emplace_back(along.values.size(), nullptr);
            }
            const std::size_t g = std::find(titles.begin(), titles.end(), key) - titles.begin();
            const auto v = sweep_value(p.point, along.dimension);
            const std::size_t x =
                std::find(along.values.begin(), along.values.end(), v.value_or(0)) -
                along.values.begin();
            if (x < along.values.size()) groups[g][x] = &p;
        }
        for (std::size_t g = 0; g < groups.size(); ++g) {
            if (!titles[g].empty()) o << "<h3>" << escape(titles[g]) << "</h3>\n";
            std::vector<std::vector<double>> mean(policies.size(),
                                                  std::vector<double>(xs.size(), 0)),
                p99 = mean;
            for (std::size_t x = 0; x < xs.size(); ++x) {
                const SweepPointResult* p = groups[g][x];
                if (!p) continue;
                for (std::size_t k = 0; k < policies.size() && k < p->results.size(); ++k) {
                    mean[k][x] = p->results[k].mean_latency_us / 1000;
                    p99[k][x] = p->results[k].p99_latency_us / 1000;
                }
            }
            o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << 2 * kPanelW << "' height='"
              << kPanelH << "'>";
            line_panel(o, 0, "mean latency", xs, policies, mean);
            line_panel(o, kPanelW, "p99 latency", xs, policies, p99);
            o << "</svg>\n";
        }
    }
    o << "</body></html>\n";
}

void write_replay_plot(std::ostream& o, const TraceSummary& trace,
                       const std::vector<ReplayResult>& results) {
    html_head(o, trace);

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
