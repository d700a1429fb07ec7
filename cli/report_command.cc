// `rbdtier report LUN --out report.html [--seconds S] [--interval I]`: watches a LUN through the
// gateway for S seconds (one sample of its heat map and I/O counters every I seconds) and writes
// one self-contained HTML file (inline SVG, no script, no network) a person opens in a browser:
//   1. heat of every extent over time (white = cold .. dark red = the hottest seen), with a dot
//      where the policy forecast an access within its horizon with p >= 0.5;
//   2. placement of every extent over time (a colour per tier; a move shows as a colour change);
//   3. mean read and write latency per tier over each interval (writes dashed).
// Exit 1 when the gateway cannot be reached or refuses (unknown LUN, not tiered).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/admin_client.h"
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

using nlohmann::json;

const char* const kPalette[] = {"#9e9e9e", "#1e88e5", "#43a047", "#fb8c00",
                                "#8e24aa", "#00acc1", "#e53935", "#6d4c41"};

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string heat_colour(double h, double hottest) {
    if (h <= 0 || hottest <= 0) return "#ffffff";
    const double x = std::clamp(std::log1p(h) / std::log1p(hottest), 0.0, 1.0);
    const int g = static_cast<int>(235 * (1 - x));
    const int r = static_cast<int>(255 - 100 * x);
    char buf[16];
    std::snprintf(buf, sizeof(buf), "#%02x%02x%02x", r, g, g);
    return buf;
}

struct Sample {
    double t = 0;  // seconds since the first sample
    json heat;     // the "heat" rows
    // (pool, "read"|"write") -> (latency sum in ms, commands), cumulative
    std::map<std::pair<std::string, std::string>, std::pair<double, double>> latency;
};

class ReportCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand(
            "report", "Watch a LUN and write an HTML report: heat, forecasts, placement, latency");
        sub->add_option("LUN", lun_, "LUN name")->required();
        sub->add_option("--out", out_, "HTML file to write")->required();
        sub->add_option("--seconds", seconds_, "How long to watch")
            ->check(CLI::Range(0.0, 86400.0))
            ->capture_default_str();
        sub->add_option("--interval", interval_, "Seconds between samples")
            ->check(CLI::Range(0.05, 3600.0))
            ->capture_default_str();
        add_common_options(sub);
        return sub;
    }

    int run() override {
        std::vector<Sample> samples;
        const auto start = std::chrono::steady_clock::now();
        const auto end = start + std::chrono::duration<double>(seconds_);
        json first;
        for (;;) {
            Sample s;
            s.t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            json heat, show;
            asking_ = kCommandHeat;
            if (int rc = exchange(heat); rc != kExitOk) return rc;
            asking_ = kCommandLunShow;
            if (int rc = exchange(show); rc != kExitOk) return rc;
            if (first.is_null()) first = heat;
            s.heat = heat["heat"];
            for (const auto& io : show["io"]) {
                for (const char* op : {"read", "write"}) {
                    const double count = io[std::string(op) + "s"].get<double>();
                    const json& mean = io[std::string(op) + "_latency_ms"];
                    s.latency[{io["pool"].get<std::string>(), op}] = {
                        (mean.is_number() ? mean.get<double>() : 0.0) * count, count};
                }
            }
            samples.push_back(std::move(s));
            if (std::chrono::steady_clock::now() >= end) break;
            std::this_thread::sleep_for(std::chrono::duration<double>(interval_));
        }
        std::ofstream file(out_);
        if (!file) {
            std::cerr << "rbdtier: cannot write " << out_ << '\n';
            return kExitFailure;
        }
        write_html(first, samples, file);
        file.close();
        if (!file) {
            std::cerr << "rbdtier: writing " << out_ << " failed\n";
            return kExitFailure;
        }
        if (json_format())
            std::cout << json{{"out", out_},
                              {"samples", samples.size()},
                              {"extents", first["extents"]}}
                             .dump(2)
                      << '\n';
        else
            std::cout << "wrote " << out_ << ": " << samples.size() << " samples of "
                      << first["extents"] << " extents\n";
        return kExitOk;
    }

protected:
    json request() const override { return {{kAdminPrefixKey, asking_}, {"lun", lun_}}; }
    void render(const json&, std::ostream&) const override {}

private:
    void write_html(const json& info, const std::vector<Sample>& samples, std::ostream& o) const {
        const std::size_t extents = info["heat"].size();
        const std::size_t n = samples.size();
        std::map<std::string, std::size_t> tier_index;
        for (const auto& t : info["tiers"])
            tier_index.emplace(t.get<std::string>(), tier_index.size());
        double hottest = 0;
        for (const auto& s : samples)
            for (const auto& e : s.heat) hottest = std::max(hottest, e["heat"].get<double>());
        const double cw = std::clamp(900.0 / double(std::max<std::size_t>(n, 1)), 2.0, 24.0);
        const double ch = std::clamp(480.0 / double(std::max<std::size_t>(extents, 1)), 1.0, 12.0);
        const double left = 60, top = 20;
        const double w = left + cw * double(n) + 20, h = top + ch * double(extents) + 40;
        auto axis = [&](std::ostream& s) {
            s << "<text x='" << left << "' y='" << h - 12 << "' font-size='11'>time: 0 .. "
              << (n ? samples.back().t : 0.0) << " s, " << n << " samples</text>"
              << "<text x='4' y='" << top + 10 << "' font-size='11'>extent 0</text>"
              << "<text x='4' y='" << top + ch * double(extents) << "' font-size='11'>"
              << extents - 1 << "</text>";
        };
        o << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>rbdtier report "
          << escape(lun_) << "</title><style>body{font-family:sans-serif;margin:20px}"
          << "h2{font-size:16px}</style></head><body>\n<h1>rbdtier report: " << escape(lun_)
          << "</h1>\n<p>policy " << escape(info["policy"].get<std::string>()) << ", " << extents
          << " extents of " << info["extent_bytes"].get<std::uint64_t>() / (1 << 20)
          << " MiB, home " << escape(info["home"].get<std::string>()) << "</p>\n";

        o << "<h2>Heat of each extent over time (dot: forecast access, p &ge; 0.5)</h2>\n"
          << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h << "'>";
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t e = 0; e < extents && e < samples[i].heat.size(); ++e) {
                const json& row = samples[i].heat[e];
                const double x = left + cw * double(i), y = top + ch * double(e);
                o << "<rect x='" << x << "' y='" << y << "' width='" << cw << "' height='" << ch
                  << "' fill='" << heat_colour(row["heat"].get<double>(), hottest) << "'/>";
                if (row["p_access"].is_number() && row["p_access"].get<double>() >= 0.5)
                    o << "<circle class='forecast' cx='" << x + cw / 2 << "' cy='" << y + ch / 2
                      << "' r='" << std::max(0.8, std::min(cw, ch) / 4) << "' fill='#000'/>";
            }
        axis(o);
        o << "</svg>\n<p>hottest: " << hottest << " recent accesses</p>\n";

        o << "<h2>Placement of each extent over time</h2>\n<p>";
        for (const auto& [pool, i] : tier_index)
            o << "<span style='background:" << kPalette[i % 8] << ";color:#fff;padding:2px 6px'>"
              << escape(pool) << "</span> ";
        o << "</p>\n<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
          << "'>";
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t e = 0; e < extents && e < samples[i].heat.size(); ++e) {
                const std::string pool = samples[i].heat[e]["tier"].get<std::string>();
                const std::size_t t = tier_index.count(pool) ? tier_index.at(pool) : 0;
                o << "<rect class='placement' x='" << left + cw * double(i) << "' y='"
                  << top + ch * double(e) << "' width='" << cw << "' height='" << ch << "' fill='"
                  << kPalette[t % 8] << "'/>";
            }
        axis(o);
        o << "</svg>\n";

        // Mean latency per tier and direction per interval, from the cumulative counters.
        o << "<h2>Mean latency per tier, per interval (ms; writes dashed)</h2>\n";
        using Key = std::pair<std::string, std::string>;
        std::map<Key, std::vector<std::pair<double, double>>> series;  // -> (t, ms)
        double top_ms = 0;
        for (std::size_t i = 1; i < n; ++i)
            for (const auto& [key, now] : samples[i].latency) {
                auto before = samples[i - 1].latency.find(key);
                if (before == samples[i - 1].latency.end()) continue;
                const double count = now.second - before->second.second;
                if (count <= 0) continue;
                const double ms = (now.first - before->second.first) / count;
                series[key].emplace_back(samples[i].t, ms);
                top_ms = std::max(top_ms, ms);
            }
        const double lw = 900, lh = 240, span = n ? std::max(samples.back().t, 1e-9) : 1;
        o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << lw + 80 << "' height='" << lh + 40
          << "'><rect x='60' y='10' width='" << lw << "' height='" << lh
          << "' fill='none' stroke='#ccc'/><text x='4' y='20' font-size='11'>" << top_ms
          << " ms</text><text x='4' y='" << lh + 10 << "' font-size='11'>0</text>";
        auto colour = [&](const std::string& pool) {
            return kPalette[(tier_index.count(pool) ? tier_index.at(pool) : 0) % 8];
        };
        for (const auto& [key, points] : series) {
            o << "<polyline class='latency' fill='none' stroke-width='2' stroke='"
              << colour(key.first) << "'"
              << (key.second == "write" ? " stroke-dasharray='6,3'" : "") << " points='";
            for (const auto& [x, ms] : points)
                o << 60 + lw * x / span << ',' << 10 + lh - (top_ms > 0 ? lh * ms / top_ms : 0)
                  << ' ';
            o << "'><title>" << escape(key.first) << ' ' << key.second << "</title></polyline>";
        }
        o << "</svg>\n<p>";
        for (const auto& [key, points] : series)
            o << "<span style='color:" << colour(key.first) << "'>&#9632; " << escape(key.first)
              << ' ' << key.second << " (" << points.size() << " intervals)</span> ";
        o << "</p>\n</body></html>\n";
    }

    std::string lun_, out_;
    double seconds_ = 60;
    double interval_ = 1;
    std::string asking_ = kCommandHeat;
};

}  // namespace

std::unique_ptr<Command> make_report_command() {
    return std::make_unique<ReportCommand>();
}

}  // namespace rbdtier::cli
