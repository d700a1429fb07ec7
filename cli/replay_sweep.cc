#include "cli/replay_sweep.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace rbdtier::cli {

namespace {

constexpr SweepDimension kDimensions[] = {SweepDimension::kFast, SweepDimension::kBandwidth,
                                          SweepDimension::kConcurrency};

std::optional<double> parse_number(std::string_view s) {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// One value of `spec`, checked against its dimension's range; the fast share as a fraction.
double parse_value(SweepDimension d, std::string_view text, const std::string& spec) {
    const auto bad = [&](const std::string& why) {
        return SweepError("--sweep " + spec + ": '" + std::string(text) + "' " + why);
    };
    switch (d) {
        case SweepDimension::kFast: {
            if (text.empty() || text.back() != '%')
                throw bad("is not a fast share: write a percentage of the working set, e.g. 10%");
            const auto v = parse_number(text.substr(0, text.size() - 1));
            if (!v || *v <= 0 || *v > 100)
                throw bad("is not a fast share: a percentage above 0% and at most 100%");
            return *v / 100;
        }
        case SweepDimension::kBandwidth: {
            const auto v = parse_number(text);
            if (!v || *v <= 0) throw bad("is not a bandwidth: a number of MiB/s above 0");
            return *v;
        }
        case SweepDimension::kConcurrency: {
            const auto v = parse_number(text);
            if (!v || *v < 1 || *v != std::floor(*v) || *v > 1e6)
                throw bad("is not a concurrency: a whole number of migrations, at least 1");
            return *v;
        }
    }
    throw bad("has no dimension");
}

}  // namespace

std::string_view sweep_dimension_name(SweepDimension d) {
    switch (d) {
        case SweepDimension::kFast:
            return "fast";
        case SweepDimension::kBandwidth:
            return "bandwidth";
        case SweepDimension::kConcurrency:
            return "concurrency";
    }
    return "?";
}

std::string sweep_value_label(SweepDimension d, double value) {
    char buf[64];
    switch (d) {
        case SweepDimension::kFast:
            std::snprintf(buf, sizeof buf, "%g%%", value * 100);
            break;
        case SweepDimension::kBandwidth:
            std::snprintf(buf, sizeof buf, "%g MiB/s", value);
            break;
        case SweepDimension::kConcurrency:
            std::snprintf(buf, sizeof buf, "%g", value);
            break;
    }
    return buf;
}

std::vector<Sweep> parse_sweeps(const std::vector<std::string>& specs) {
    std::vector<Sweep> sweeps;
    std::size_t points = 1;
    for (const std::string& spec : specs) {
        const auto eq = spec.find('=');
        const std::string name = spec.substr(0, eq);
        std::optional<SweepDimension> dimension;
        for (SweepDimension d : kDimensions)
            if (sweep_dimension_name(d) == name) dimension = d;
        if (!dimension)
            throw SweepError("--sweep " + spec + ": unknown sweep dimension '" + name +
                             "' (known: fast, bandwidth, concurrency)");
        for (const Sweep& s : sweeps)
            if (s.dimension == *dimension)
                throw SweepError("--sweep " + spec + ": dimension '" + name +
                                 "' swept twice: give all its values in one --sweep");
        Sweep sweep{*dimension, {}};
        const std::string list = eq == std::string::npos ? "" : spec.substr(eq + 1);
        std::size_t start = 0;
        while (start <= list.size() && !list.empty()) {
            const auto comma = std::min(list.find(',', start), list.size());
            const std::string_view text(list.data() + start, comma - start);
            if (text.empty()) throw SweepError("--sweep " + spec + ": an empty value in the list");
            const double v = parse_value(*dimension, text, spec);
            if (std::find(sweep.values.begin(), sweep.values.end(), v) != sweep.values.end())
                throw SweepError("--sweep " + spec + ": value '" + std::string(text) +
                                 "' given twice");
            sweep.values.push_back(v);
            start = comma + 1;
        }
        if (sweep.values.empty())
            throw SweepError("--sweep " + spec + ": no values (write " + name + "=V1,V2,...)");
        points *= sweep.values.size();
        if (points > kMaxSweepPoints)
            throw SweepError("--sweep: " + std::to_string(points) + " points or more, at most " +
                             std::to_string(kMaxSweepPoints) + " (fewer values per dimension)");
        sweeps.push_back(std::move(sweep));
    }
    return sweeps;
}

std::vector<SweepPoint> sweep_points(const std::vector<Sweep>& sweeps) {
    std::vector<SweepPoint> points(1);
    for (const Sweep& s : sweeps) {
        std::vector<SweepPoint> next;
        for (const SweepPoint& p : points) {
            for (double v : s.values) {
                SweepPoint q = p;
                switch (s.dimension) {
                    case SweepDimension::kFast:
                        q.fast_fraction = v;
                        break;
                    case SweepDimension::kBandwidth:
                        q.bandwidth_mib_s = v;
                        break;
                    case SweepDimension::kConcurrency:
                        q.concurrency = static_cast<unsigned>(v);
                        break;
                }
                next.push_back(q);
            }
        }
        points = std::move(next);
    }
    return points;
}

std::optional<double> sweep_value(const SweepPoint& point, SweepDimension d) {
    switch (d) {
        case SweepDimension::kFast:
            return point.fast_fraction;
        case SweepDimension::kBandwidth:
            return point.bandwidth_mib_s;
        case SweepDimension::kConcurrency:
            if (point.concurrency) return static_cast<double>(*point.concurrency);
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace rbdtier::cli
