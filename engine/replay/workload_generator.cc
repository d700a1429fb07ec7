#include "engine/replay/workload_generator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace rbdtier {

namespace {

constexpr std::uint64_t kExtent = 4ull << 20;

// xoshiro256** seeded by splitmix64: fast, and identical everywhere.
class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (auto& s : s_) {
            seed += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            s = z ^ (z >> 31);
        }
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    double exponential(double rate) { return -std::log1p(-uniform()) / rate; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

class Builder {
public:
    Builder(const WorkloadParams& p, std::uint64_t stream)
        : p_(p), rng_(p.seed * 0x100000001b3ULL + stream), extents_(p.lun_bytes / kExtent) {}

    Rng& rng() { return rng_; }
    std::uint64_t extents() const { return extents_; }

    // One request inside `extent` of `lun` at time `t_s`, random size and position.
    void random_io(std::vector<IoEvent>& out, double t_s, LunId lun, std::uint64_t extent) {
        static constexpr std::uint32_t kSizes[] = {4096, 4096,  4096,  4096,  8192,
                                                   8192, 16384, 16384, 65536, 262144};
        const std::uint32_t size = kSizes[rng_.below(std::size(kSizes))];
        const std::uint64_t slots = (kExtent - size) / 4096 + 1;
        io(out, t_s, lun, extent * kExtent + rng_.below(slots) * 4096, size);
    }

    void io(std::vector<IoEvent>& out, double t_s, LunId lun, std::uint64_t offset,
            std::uint32_t size) {
        IoEvent e;
        e.time_us = static_cast<std::uint64_t>(t_s * 1e6);
        e.offset = offset;
        e.length = size;
        e.lun = lun;
        e.initiator = lun;
        e.op = rng_.uniform() < p_.read_fraction ? IoOp::kRead : IoOp::kWrite;
        out.push_back(e);
    }

    // Distinct random extents (a hot set), deterministic.
    std::vector<std::uint64_t> pick(std::size_t n) {
        std::vector<std::uint64_t> all(extents_);
        for (std::uint64_t i = 0; i < extents_; ++i) all[i] = i;
        for (std::size_t i = 0; i < n && i < all.size(); ++i)
            std::swap(all[i], all[i + rng_.below(all.size() - i)]);
        all.resize(std::min<std::size_t>(n, all.size()));
        return all;
    }

    // Non-homogeneous Poisson arrivals by thinning; rate(t) <= max_rate.
    template <typename Rate, typename Emit>
    void arrivals(double max_rate, Rate rate, Emit emit) {
        if (!(max_rate > 0)) return;
        for (double t = rng_.exponential(max_rate); t < p_.duration_s;
             t += rng_.exponential(max_rate))
            if (rng_.uniform() * max_rate < rate(t)) emit(t);
    }

private:
    const WorkloadParams& p_;
    Rng rng_;
    std::uint64_t extents_;
};

void require_extents(const Builder& b, std::uint64_t needed, std::string_view kind) {
    if (b.extents() < needed)
        throw std::invalid_argument(std::string(kind) + " workload needs a LUN of at least " +
                                    std::to_string(needed * 4) + " MiB");
}

std::vector<IoEvent> periodic(const WorkloadParams& p) {
    constexpr double kPeriod = 600, kActive = 120;
    constexpr int kJobs = 3;
    constexpr std::size_t kHot = 300;
    Builder b(p, 1);
    require_extents(b, kJobs * kHot + 1, "periodic");
    std::vector<IoEvent> out;
    const auto hot = b.pick(kJobs * kHot);
    const double job_rate = 0.8 * p.iops * kPeriod / (kJobs * kActive);
    for (int j = 0; j < kJobs; ++j) {
        const double phase = j * kPeriod / kJobs;
        b.arrivals(
            job_rate,
            [&](double t) {
                const double in_period = std::fmod(t - phase + kPeriod, kPeriod);
                return in_period < kActive ? job_rate : 0.0;
            },
            [&](double t) {
                const auto e = hot[static_cast<std::size_t>(j) * kHot + b.rng().below(kHot)];
                b.random_io(out, t, 0, e);
            });
    }
    const double bg = 0.2 * p.iops;
    b.arrivals(
        bg, [&](double) { return bg; },
        [&](double t) { b.random_io(out, t, 0, b.rng().below(b.extents())); });
    return out;
}

std::vector<IoEvent> diurnal(const WorkloadParams& p) {
    constexpr double kDay = 1200;
    constexpr std::size_t kHot = 250;
    const std::uint32_t tenants = p.luns ? p.luns : 4;
    Builder b(p, 2);
    require_extents(b, kHot + 1, "diurnal");
    std::vector<IoEvent> out;
    const double base = p.iops / tenants;
    for (std::uint32_t i = 0; i < tenants; ++i) {
        const auto hot = b.pick(kHot);
        const double phase = 2 * std::numbers::pi * i / tenants;
        b.arrivals(
            1.9 * base,
            [&](double t) {
                return base * (1 + 0.9 * std::sin(2 * std::numbers::pi * t / kDay + phase));
            },
            [&](double t) {
                if (b.rng().uniform() < 0.85) {
                    const double u = b.rng().uniform();
                    b.random_io(out, t, i, hot[static_cast<std::size_t>(u * u * kHot)]);
                } else {
                    b.random_io(out, t, i, b.rng().below(b.extents()));
                }
            });
    }
    return out;
}

std::vector<IoEvent> scan(const WorkloadParams& p) {
    constexpr double kPeriod = 900, kScan = 120;
    constexpr std::uint64_t kRange = 400;
    constexpr std::uint32_t kRead = 512 * 1024;
    constexpr std::size_t kHot = 300;
    Builder b(p, 3);
    require_extents(b, 2 * kRange + kHot + 1, "scan");
    std::vector<IoEvent> out;
    const std::uint64_t reads_per_scan = kRange * (kExtent / kRead);
    for (int k = 0; k < 2; ++k) {
        const std::uint64_t start = k == 0 ? 0 : b.extents() / 2;
        for (double t0 = k * kPeriod / 2; t0 < p.duration_s; t0 += kPeriod)
            for (std::uint64_t r = 0; r < reads_per_scan; ++r) {
                const double t = t0 + kScan * static_cast<double>(r) / reads_per_scan;
                if (t >= p.duration_s) break;
                b.io(out, t, 0, start * kExtent + r * kRead, kRead);
                out.back().op = IoOp::kRead;
            }
    }
    // Background: skewed hot set outside the scanned ranges, plus uniform noise.
    std::vector<std::uint64_t> hot;
    for (std::uint64_t e = kRange; hot.size() < kHot; e += 3)
        if (e < b.extents() / 2 || e >= b.extents() / 2 + kRange) hot.push_back(e % b.extents());
    const double bg = p.iops;
    b.arrivals(
        bg, [&](double) { return bg; },
        [&](double t) {
            if (b.rng().uniform() < 0.6) {
                const double u = b.rng().uniform();
                b.random_io(out, t, 0, hot[static_cast<std::size_t>(u * u * kHot)]);
            } else {
                b.random_io(out, t, 0, b.rng().below(b.extents()));
            }
        });
    return out;
}

std::vector<IoEvent> shifting(const WorkloadParams& p) {
    constexpr std::uint64_t kWidth = 256;
    Builder b(p, 4);
    require_extents(b, 2 * kWidth, "shifting");
    std::vector<IoEvent> out;
    const double speed = 1.0;  // extents per second
    const double start = static_cast<double>(b.rng().below(b.extents()));
    b.arrivals(
        p.iops, [&](double) { return p.iops; },
        [&](double t) {
            if (b.rng().uniform() < 0.85) {
                const double centre = start + speed * t;
                const auto lo = static_cast<std::uint64_t>(centre) + b.extents() - kWidth / 2;
                b.random_io(out, t, 0, (lo + b.rng().below(kWidth)) % b.extents());
            } else {
                b.random_io(out, t, 0, b.rng().below(b.extents()));
            }
        });
    return out;
}

std::vector<IoEvent> uniform(const WorkloadParams& p) {
    Builder b(p, 5);
    require_extents(b, 1, "uniform");
    std::vector<IoEvent> out;
    const std::uint32_t luns = p.luns ? p.luns : 1;
    b.arrivals(
        p.iops, [&](double) { return p.iops; },
        [&](double t) {
            b.random_io(out, t, static_cast<LunId>(b.rng().below(luns)),
                        b.rng().below(b.extents()));
        });
    return out;
}

}  // namespace

std::optional<WorkloadKind> parse_workload_kind(std::string_view name) {
    for (auto kind : all_workload_kinds())
        if (workload_kind_name(kind) == name) return kind;
    return std::nullopt;
}

std::string_view workload_kind_name(WorkloadKind kind) {
    switch (kind) {
        case WorkloadKind::kPeriodic:
            return "periodic";
        case WorkloadKind::kDiurnal:
            return "diurnal";
        case WorkloadKind::kScan:
            return "scan";
        case WorkloadKind::kShifting:
            return "shifting";
        case WorkloadKind::kUniform:
            return "uniform";
    }
    return "?";
}

std::vector<WorkloadKind> all_workload_kinds() {
    return {WorkloadKind::kPeriodic, WorkloadKind::kDiurnal, WorkloadKind::kScan,
            WorkloadKind::kShifting, WorkloadKind::kUniform};
}

std::vector<IoEvent> generate_workload(WorkloadKind kind, const WorkloadParams& params) {
    if (!(params.duration_s > 0)) throw std::invalid_argument("duration must be positive");
    if (!(params.iops > 0)) throw std::invalid_argument("I/O rate must be positive");
    if (params.read_fraction < 0 || params.read_fraction > 1)
        throw std::invalid_argument("read fraction must be within [0, 1]");
    std::vector<IoEvent> events;
    switch (kind) {
        case WorkloadKind::kPeriodic:
            events = periodic(params);
            break;
        case WorkloadKind::kDiurnal:
            events = diurnal(params);
            break;
        case WorkloadKind::kScan:
            events = scan(params);
            break;
        case WorkloadKind::kShifting:
            events = shifting(params);
            break;
        case WorkloadKind::kUniform:
            events = uniform(params);
            break;
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const IoEvent& a, const IoEvent& b) { return a.time_us < b.time_us; });
    return events;
}

}  // namespace rbdtier
