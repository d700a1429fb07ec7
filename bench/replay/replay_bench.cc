// Replay throughput (I/Os per second of wall time, per policy) on a generated workload, and
// parser throughput (lines or records per second, per format) on generated trace files.
// Usage: replay_bench [--ios N] [--lines N] [--kind KIND] [--policy a,b,...] [--no-parse]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/replay/replay_policies.h"
#include "engine/replay/replay_simulator.h"
#include "engine/replay/workload_generator.h"
#include "engine/trace/trace_error.h"
#include "engine/trace/trace_reader.h"

namespace {

using namespace rbdtier;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU time of this thread: the machine may be shared, so wall time alone understates speed.
double cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

class TempDir {
public:
    TempDir() {
        std::string templ = "/tmp/rbdtier-bench-XXXXXX";
        if (!::mkdtemp(templ.data())) {
            std::perror("mkdtemp");
            std::exit(1);
        }
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// One line of `format` for event `e` (times from a fixed origin).
void format_line(TraceFormat format, const IoEvent& e, std::string& out) {
    char buf[160];
    const bool read = e.op == IoOp::kRead;
    int n = 0;
    switch (format) {
        case TraceFormat::kMsr:
            n = std::snprintf(buf, sizeof buf, "%llu,host%u,%u,%s,%llu,%u,%u\n",
                              128166372000000000ull + e.time_us * 10ull, e.initiator, e.lun,
                              read ? "Read" : "Write", static_cast<unsigned long long>(e.offset),
                              e.length, 1000u);
            break;
        case TraceFormat::kSpc:
            n = std::snprintf(buf, sizeof buf, "%u,%llu,%u,%c,%.6f\n", e.lun,
                              static_cast<unsigned long long>(e.offset / 512), e.length,
                              read ? 'r' : 'w', static_cast<double>(e.time_us) / 1e6);
            break;
        case TraceFormat::kAlibaba:
            n = std::snprintf(buf, sizeof buf, "%u,%c,%llu,%u,%llu\n", e.lun, read ? 'R' : 'W',
                              static_cast<unsigned long long>(e.offset), e.length,
                              1577808000000000ull + e.time_us);
            break;
        case TraceFormat::kTencent:
            n = std::snprintf(buf, sizeof buf, "%llu,%llu,%u,%d,%u\n",
                              1538323199ull + e.time_us / 1000000,
                              static_cast<unsigned long long>(e.offset / 512), e.length / 512,
                              read ? 0 : 1, 1000 + e.lun);
            break;
        case TraceFormat::kDiskSim:
            n = std::snprintf(buf, sizeof buf, "%.3f %u %llu %u %d\n",
                              static_cast<double>(e.time_us) / 1e3, e.lun,
                              static_cast<unsigned long long>(e.offset / 512), e.length / 512,
                              read ? 1 : 0);
            break;
        case TraceFormat::kCloudPhysicsCsv:
            n = std::snprintf(buf, sizeof buf, "1,%llu,%s,%u,%llu\n",
                              static_cast<unsigned long long>(e.time_us), read ? "28" : "2a",
                              e.length, static_cast<unsigned long long>(e.offset / 512));
            break;
        case TraceFormat::kVscsi: {
            unsigned char r[32] = {};
            auto put = [&](int at, std::uint64_t v, int bytes) {
                for (int i = 0; i < bytes; ++i)
                    r[at + i] = static_cast<unsigned char>(v >> (8 * i));
            };
            put(4, e.length, 4);
            put(8, 1, 4);
            put(12, read ? 0x28 : 0x2a, 2);
            put(14, 0x0100, 2);
            put(16, e.offset / 512, 8);
            put(24, e.time_us, 8);
            out.append(reinterpret_cast<const char*>(r), sizeof r);
            return;
        }
        case TraceFormat::kReplayer:
            n = std::snprintf(buf, sizeof buf, "%.3f %u %llu %u %d\n",
                              static_cast<double>(e.time_us) / 1e3, e.lun,
                              static_cast<unsigned long long>(e.offset / 512 * 512),
                              std::max(512u, e.length / 512 * 512), read ? 1 : 0);
            break;
        case TraceFormat::kBlkReplay:
            n = std::snprintf(buf, sizeof buf, "%.9f ; %llu ; %u ; %c ; 0.0 ; 0.0\n",
                              static_cast<double>(e.time_us) / 1e6,
                              static_cast<unsigned long long>(e.offset / 512), e.length / 512,
                              read ? 'R' : 'W');
            break;
        case TraceFormat::kAuto:
            return;
    }
    out.append(buf, static_cast<std::size_t>(n));
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto comma = s.find(',', start);
        const auto item =
            s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t ios = 1'000'000, lines = 2'000'000;
    std::string kind_name = "periodic", policy_list;
    bool parse = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--ios")
            ios = std::strtoull(value().c_str(), nullptr, 10);
        else if (a == "--lines")
            lines = std::strtoull(value().c_str(), nullptr, 10);
        else if (a == "--kind")
            kind_name = value();
        else if (a == "--policy")
            policy_list = value();
        else if (a == "--no-parse")
            parse = false;
        else {
            std::fprintf(stderr,
                         "usage: %s [--ios N] [--lines N] [--kind KIND] [--policy a,b] "
                         "[--no-parse]\n",
                         argv[0]);
            return 2;
        }
    }
    const auto kind = parse_workload_kind(kind_name);
    if (!kind) {
        std::fprintf(stderr, "unknown workload %s\n", kind_name.c_str());
        return 2;
    }

    WorkloadParams p;
    p.iops = 200;
    p.duration_s = static_cast<double>(ios) / p.iops;
    auto t = Clock::now();
    const auto events = generate_workload(*kind, p);
    std::printf("workload %s: %zu I/Os over %.0f s generated in %.2f s (%.1f M I/Os/s)\n",
                kind_name.c_str(), events.size(), p.duration_s, seconds_since(t),
                static_cast<double>(events.size()) / seconds_since(t) / 1e6);
    const StorageModel config = standard_replay_config(events);
    const auto registry = replay_policy_registry();
    const auto names = policy_list.empty() ? registry.names() : split(policy_list);
    std::printf("\n%-11s %12s %12s %8s %8s %10s %12s\n", "policy", "I/Os/s wall", "I/Os/s cpu",
                "wall s", "cpu s", "mean ms", "migrations");
    for (const auto& name : names) {
        auto policy = registry.create(name, {config, events});
        t = Clock::now();
        const double cpu0 = cpu_seconds();
        const auto r = replay(config, events, *policy);
        const double wall = seconds_since(t), cpu = cpu_seconds() - cpu0;
        std::printf("%-11s %12.0f %12.0f %8.2f %8.2f %10.3f %12llu\n", name.c_str(),
                    static_cast<double>(r.ios) / wall, static_cast<double>(r.ios) / cpu, wall, cpu,
                    r.mean_latency_us / 1000, static_cast<unsigned long long>(r.migrations));
        std::fflush(stdout);
    }
    if (!parse) return 0;

    TempDir dir;
    std::printf("\n%-17s %14s %14s %10s %10s\n", "format", "records/s wall", "records/s cpu",
                "MB/s cpu", "records");
    for (auto format : all_trace_formats()) {
        const std::string path = dir.file(std::string(trace_format_name(format)));
        {
            std::ofstream out(path, std::ios::binary);
            std::string chunk;
            for (std::uint64_t i = 0; i < lines; ++i) {
                format_line(format, events[i % events.size()], chunk);
                if (chunk.size() > (1 << 20)) {
                    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                    chunk.clear();
                }
            }
            out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        }
        const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
        try {
            TraceReaderOptions opt;  // detection included in the timing
            if (format == TraceFormat::kDiskSim) opt.format = TraceFormat::kDiskSim;
            t = Clock::now();
            const double cpu0 = cpu_seconds();
            auto reader = TraceReader::open(path, opt);
            IoEvent e;
            std::uint64_t n = 0, bytes = 0;
            while (reader->next(e)) {
                ++n;
                bytes += e.length;
            }
            const double wall = seconds_since(t), cpu = cpu_seconds() - cpu0;
            std::printf("%-17s %14.0f %14.0f %10.0f %10llu%s\n",
                        std::string(trace_format_name(format)).c_str(),
                        static_cast<double>(n) / wall, static_cast<double>(n) / cpu, mb / cpu,
                        static_cast<unsigned long long>(n), bytes == 0 ? " (no bytes?)" : "");
        } catch (const TraceError& err) {
            std::printf("%-17s error: %s\n", std::string(trace_format_name(format)).c_str(),
                        err.what());
        }
        std::filesystem::remove(path);
    }
    return 0;
}
