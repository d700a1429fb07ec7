#include "load.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

namespace rbdtier::harness {

std::string LoadStats::summary() const {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "iops %.0f p50 %.1fus p99 %.1fus mean %.1fus cpu %.1fus/op cs %.2f/op (ops %llu, "
                  "errors %llu)",
                  iops, p50_us, p99_us, mean_us, cpu_us_per_op(), switches_per_op(),
                  static_cast<unsigned long long>(ops), static_cast<unsigned long long>(errors));
    return buf;
}

namespace {

// The process's CPU time (user + system) and context switches so far.
struct Usage {
    double cpu_seconds = 0;
    uint64_t switches = 0;
};

Usage process_usage() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return {secs(u.ru_utime) + secs(u.ru_stime), static_cast<uint64_t>(u.ru_nvcsw + u.ru_nivcsw)};
}

// ops, iops, p50, p99 and mean from s.latencies_us (ascending) and s.seconds.
void summarize_latencies(LoadStats& s) {
    const std::vector<double>& lat = s.latencies_us;
    s.ops = lat.size();
    s.iops = s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0;
    if (lat.empty()) return;
    auto pct = [&](double p) {
        return lat[static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1))];
    };
    s.p50_us = pct(0.50);
    s.p99_us = pct(0.99);
    double sum = 0;
    for (double v : lat) sum += v;
    s.mean_us = sum / static_cast<double>(lat.size());
}

}  // namespace

LoadStats run_closed_loop(const LoadSpec& spec, const SubmitFn& submit) {
    using Clock = std::chrono::steady_clock;
    if (spec.qd == 0 || spec.io_size == 0 || spec.span_bytes < spec.io_size)
        throw std::invalid_argument("run_closed_loop: bad qd/io_size/span");
    const uint64_t slots_in_span = spec.span_bytes / spec.io_size;
    std::mt19937_64 rng(spec.seed);
    std::uniform_int_distribution<uint64_t> pick(0, slots_in_span - 1);

    std::mutex mu;
    std::condition_variable cv;
    std::vector<unsigned> free_slots;
    for (unsigned i = 0; i < spec.qd; ++i) free_slots.push_back(spec.qd - 1 - i);
    std::vector<double> lat_us;
    lat_us.reserve(1 << 20);
    uint64_t errors = 0;
    bool measuring = false;

    const auto t0 = Clock::now();
    const auto t_measure = t0 + std::chrono::duration<double>(spec.warmup_seconds);
    const auto t_end = t_measure + std::chrono::duration<double>(spec.seconds);
    Clock::time_point measured_from{};
    Usage usage_from{};
    for (;;) {
        unsigned slot;
        {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return !free_slots.empty(); });
            auto now = Clock::now();
            if (now >= t_end) break;
            if (!measuring && now >= t_measure) {
                measuring = true;
                measured_from = now;
                usage_from = process_usage();
            }
            slot = free_slots.back();
            free_slots.pop_back();
        }
        const auto start = Clock::now();
        const bool counted = start >= t_measure;
        submit(slot, pick(rng) * spec.io_size, [&, slot, start, counted](bool ok) {
            const double us =
                std::chrono::duration<double, std::micro>(Clock::now() - start).count();
            std::lock_guard lk(mu);
            if (counted) {
                lat_us.push_back(us);
                if (!ok) ++errors;
            }
            free_slots.push_back(slot);
            cv.notify_one();
        });
    }
    const auto stop = Clock::now();
    const Usage usage_to = process_usage();
    {
        std::unique_lock lk(mu);  // wait for everything in flight
        cv.wait(lk, [&] { return free_slots.size() == spec.qd; });
    }
    LoadStats s;
    s.errors = errors;
    s.seconds = measuring ? std::chrono::duration<double>(stop - measured_from).count() : 0;
    if (measuring) {
        s.cpu_seconds = usage_to.cpu_seconds - usage_from.cpu_seconds;
        s.context_switches = usage_to.switches - usage_from.switches;
    }
    s.latencies_us = std::move(lat_us);
    std::sort(s.latencies_us.begin(), s.latencies_us.end());
    summarize_latencies(s);
    return s;
}

LoadStats combine(const std::vector<LoadStats>& runs) {
    LoadStats s;
    for (const LoadStats& r : runs) {
        s.errors += r.errors;
        s.seconds += r.seconds;
        s.cpu_seconds += r.cpu_seconds;
        s.context_switches += r.context_switches;
        s.latencies_us.insert(s.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
    }
    std::sort(s.latencies_us.begin(), s.latencies_us.end());
    summarize_latencies(s);
    return s;
}

}  // namespace rbdtier::harness
