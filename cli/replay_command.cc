// `rbdtier replay`: replays a block I/O trace (or writes a synthetic one) and compares
// placement policies under a tier model. See `rbdtier replay --help`.
#include <tbb/parallel_for.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "cli/command.h"
#include "cli/progress_bar.h"
#include "cli/replay_config_json.h"
#include "cli/replay_plot.h"
#include "cli/replay_report.h"
#include "cli/replay_sweep.h"
#include "engine/replay/replay_policies.h"
#include "engine/replay/replay_simulator.h"
#include "engine/replay/trace_window.h"
#include "engine/replay/workload_generator.h"
#include "engine/trace/msr_writer.h"
#include "engine/trace/trace_error.h"
#include "engine/trace/trace_reader.h"

namespace rbdtier::cli {

namespace {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

class ReplayCommand final : public Command {
public:
    CLI::App* add_to(CLI::App& app) override {
        sub_ = app.add_subcommand("replay",
                                  "Replay a block I/O trace against a tier model under placement "
                                  "policies, or generate a synthetic trace");
        sub_->add_option("TRACE", trace_path_,
                         "Trace file (MSR, SPC, Alibaba, Tencent, DiskSim, vscsi, CloudPhysics "
                         "CSV, replayer/FlashNet, blkreplay; gzip is read as it is)");
        std::vector<std::string> formats;
        for (auto f : all_trace_formats()) formats.emplace_back(trace_format_name(f));
        formats.insert(formats.begin(), "auto");
        sub_->add_option("--format", format_, "Trace format (default: detect from content)")
            ->check(CLI::IsMember(formats));
        sub_->add_option("--time-unit", time_unit_, "DiskSim time unit (default ms)")
            ->check(CLI::IsMember({"ns", "us", "ms", "s"}));
        sub_->add_option("--policy", policies_,
                         "Comma-separated policies, or 'all' (default: all)");
        sub_->add_option("--tiers", tiers_path_,
                         "Tier model JSON (default: nvme-a, hdd-a home, "
                         "nvme-b, hdd-b)");
        fast_fraction_option_ =
            sub_->add_option("--fast-fraction", fast_fraction_,
                             "Capacity of each faster-than-home tier as a share of the working set "
                             "(given: over the tier model's, as --bandwidth and --concurrency are; "
                             "default 0.1 for the built-in tier model)")
                ->check(CLI::Range(1e-6, 1.0));
        bandwidth_option_ =
            sub_->add_option("--bandwidth", bandwidth_mib_s_, "Migration bandwidth, MiB/s")
                ->check(CLI::PositiveNumber);
        sub_->add_option("--horizon", horizon_s_, "Policies' look-ahead horizon, seconds")
            ->check(CLI::PositiveNumber);
        sub_->add_option("--round", round_s_, "Planning round, seconds of trace time")
            ->check(CLI::PositiveNumber);
        concurrency_option_ =
            sub_->add_option("--concurrency", concurrency_, "Migrations in flight at once")
                ->check(CLI::PositiveNumber);
        sub_->add_option("--limit", limit_, "Replay only the first N I/Os");
        sub_->add_option("--window", window_,
                         "Replay only the I/Os from FROM seconds after the trace's first I/O, for "
                         "LENGTH seconds (FROM[:LENGTH]; no LENGTH: to the end), as if they were "
                         "the whole trace (the working set, and so the fast share, is theirs)");
        sub_->add_option("--lun", lun_,
                         "Replay only the I/Os of this volume (LUN number, 0 first, as the trace "
                         "names them in order of appearance)");
        sub_->add_option("--sweep", sweep_specs_,
                         "What-if: replay every policy at every point of the grid the sweeps "
                         "span, e.g. --sweep fast=5%,10%,20% --sweep bandwidth=20,50,200 "
                         "[--sweep concurrency=1,32] (fast: share of the working set in each "
                         "faster-than-home tier; bandwidth: MiB/s; at most " +
                             std::to_string(kMaxSweepPoints) + " points)")
            ->allow_extra_args(false);
        sub_->add_flag("--json", json_, "Print results as JSON");
        sub_->add_flag("--explain", explain_,
                       "Also print why each policy wins or loses (promotions used, wasted, "
                       "waits, idle rounds)");
        sub_->add_option("--plot", plot_path_,
                         "Also write the results as pictures to this HTML file (with --sweep: "
                         "mean and p99 of each policy across each swept dimension)");
        sub_->add_option("--generate", generate_,
                         "Write a synthetic trace (MSR CSV) instead of replaying: periodic, "
                         "diurnal, scan, shifting, uniform");
        sub_->add_option("--seed", seed_, "Seed of the synthetic trace");
        sub_->add_option("--duration", duration_s_, "Length of the synthetic trace, seconds")
            ->check(CLI::PositiveNumber);
        sub_->add_option("--iops", iops_, "Mean I/O rate of the synthetic trace")
            ->check(CLI::PositiveNumber);
        sub_->add_option("--out", out_path_, "Where --generate writes the trace");
        return sub_;
    }

    int run() override {
        try {
            if (!generate_.empty()) return generate();
            return replay_trace();
        } catch (const UsageError& e) {
            std::cerr << "rbdtier replay: " << e.what() << "\n";
            return kExitUsage;
        } catch (const TraceError& e) {
            std::cerr << "rbdtier replay: " << e.what() << "\n";
            return kExitFailure;
        } catch (const InvariantViolation& e) {
            std::cerr << "rbdtier replay: invariant violated (a bug): " << e.what() << "\n";
            return kExitFailure;
        } catch (const std::exception& e) {
            std::cerr << "rbdtier replay: " << e.what() << "\n";
            return kExitFailure;
        }
    }

private:
    int generate() {
        const auto kind = parse_workload_kind(generate_);
        if (!kind) {
            std::string known;
            for (auto k : all_workload_kinds())
                known += (known.empty() ? "" : ", ") + std::string(workload_kind_name(k));
            throw UsageError("unknown workload '" + generate_ + "' (known: " + known + ")");
        }
        if (out_path_.empty()) throw UsageError("--generate needs --out FILE");
        if (!trace_path_.empty()) throw UsageError("give either TRACE or --generate, not both");
        WorkloadParams p;
        p.seed = seed_;
        p.duration_s = duration_s_;
        p.iops = iops_;
        std::vector<IoEvent> events;
        try {
            events = generate_workload(*kind, p);
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
        write_msr_csv(out_path_, events);
        std::cerr << "wrote " << events.size() << " I/Os (" << generate_ << ", seed " << seed_
                  << ", " << duration_s_ << " s) to " << out_path_ << " as MSR CSV\n";
        return kExitOk;
    }

    // The replay's configuration at one sweep point (an empty point: the options alone). The
    // options, and a sweep point's values, override the tier model's.
    StorageModel build_config(std::uint64_t working_set, const SweepPoint& point) {
        ReplayConfigFile model;
        if (!tiers_path_.empty()) {
            try {
                model = read_replay_config_file(tiers_path_);
            } catch (const std::invalid_argument& e) {
                throw std::runtime_error(e.what());  // bad input file: exit 1
            }
        } else {
            model.config = default_replay_config();
            model.capacity_fraction.assign(model.config.tiers.size(), -1.0);
        }
        // The share of the working set in each faster-than-home tier: the sweep point's, else
        // --fast-fraction's when given, else the tier model's, else (the built-in tier model)
        // --fast-fraction's default.
        std::optional<double> fast = point.fast_fraction;
        if (!fast && fast_fraction_option_->count() > 0) fast = fast_fraction_;
        const auto& tiers = model.config.tiers;
        const double home_latency = tiers[model.config.default_home].spec.read_latency_us;
        for (std::size_t i = 0; i < tiers.size(); ++i) {
            if (tiers[i].spec.read_latency_us >= home_latency) continue;
            double& fraction = model.capacity_fraction[i];
            if (fast)
                fraction = *fast;
            else if (fraction < 0 && tiers_path_.empty())
                fraction = fast_fraction_;
        }
        StorageModel config = resolve_capacity_fractions(std::move(model), working_set);
        if (bandwidth_mib_s_ > 0) config.bandwidth_bytes_per_s = bandwidth_mib_s_ * (1 << 20);
        if (point.bandwidth_mib_s)
            config.bandwidth_bytes_per_s = *point.bandwidth_mib_s * (1 << 20);
        if (horizon_s_ > 0) config.horizon_us = static_cast<std::uint64_t>(horizon_s_ * 1e6);
        if (round_s_ > 0) config.round_us = static_cast<std::uint64_t>(round_s_ * 1e6);
        if (concurrency_ > 0) config.max_concurrent = concurrency_;
        if (point.concurrency) config.max_concurrent = *point.concurrency;
        try {
            config.validate();
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
        return config;
    }

    // The sweeps asked, checked against the options they would contradict.
    std::vector<Sweep> parse_sweep_options() {
        std::vector<Sweep> sweeps;
        try {
            sweeps = parse_sweeps(sweep_specs_);
        } catch (const SweepError& e) {
            throw UsageError(e.what());
        }
        for (const Sweep& s : sweeps) {
            const CLI::Option* same = s.dimension == SweepDimension::kFast ? fast_fraction_option_
                                      : s.dimension == SweepDimension::kBandwidth
                                          ? bandwidth_option_
                                          : concurrency_option_;
            if (same->count() > 0)
                throw UsageError("--sweep " + std::string(sweep_dimension_name(s.dimension)) +
                                 " and " + same->get_name() + " both given: give one of them");
        }
        return sweeps;
    }

    // Every policy at every point, in parallel (each replay has its own simulator and policy;
    // the events are shared read-only). Results keep the points' and the policies' order.
    std::vector<SweepPointResult> run_sweep(const PolicyRegistry& registry,
                                            const std::vector<std::string>& names,
                                            const std::vector<IoEvent>& events,
                                            std::uint64_t working_set,
                                            const std::vector<SweepPoint>& grid) {
        std::vector<SweepPointResult> points(grid.size());
        std::vector<StorageModel> configs;
        for (std::size_t i = 0; i < grid.size(); ++i) {
            configs.push_back(build_config(working_set, grid[i]));
            const StorageModel& c = configs.back();
            SweepPointResult& p = points[i];
            p.point = grid[i];
            p.bandwidth_mib_s = c.bandwidth_bytes_per_s / (1 << 20);
            p.concurrency = c.max_concurrent;
            const double home_latency = c.tiers[c.default_home].spec.read_latency_us;
            const TierModel* fastest = &c.tiers[c.default_home];
            for (const auto& t : c.tiers)
                if (t.spec.read_latency_us < fastest->spec.read_latency_us) fastest = &t;
            p.fast_capacity_extents = fastest->spec.read_latency_us < home_latency
                                          ? fastest->spec.capacity_bytes / c.extent_bytes
                                          : 0;
            p.fast_fraction = grid[i].fast_fraction.value_or(
                working_set ? static_cast<double>(p.fast_capacity_extents) /
                                  static_cast<double>(working_set)
                            : 0.0);
            p.results.resize(names.size());
        }
        const std::size_t runs = grid.size() * names.size();
        std::mutex bar_mutex;
        std::atomic<std::uint64_t> done{0};
        ProgressBar bar("sweep: " + std::to_string(grid.size()) + " points x " +
                        std::to_string(names.size()) + " policies");
        tbb::parallel_for(std::size_t{0}, runs, [&](std::size_t k) {
            const std::size_t i = k / names.size(), j = k % names.size();
            auto policy = registry.create(names[j], {configs[i], events});
            points[i].results[j] = replay(configs[i], events, *policy);
            const std::uint64_t finished = done.fetch_add(1) + 1;
            std::lock_guard lock(bar_mutex);
            bar.update(finished, runs);
        });
        return points;
    }
    int replay_trace() {
        if (trace_path_.empty())
            throw UsageError("give a TRACE file (or --generate KIND --out FILE)");
        const auto registry = replay_policy_registry();
        std::vector<std::string> names;
        if (policies_.empty() || policies_ == "all") {
            names = registry.names();
        } else {
            for (const auto& n : split_list(policies_)) {
                if (!registry.contains(n)) {
                    std::string known;
                    for (const auto& k : registry.names()) known += (known.empty() ? "" : ", ") + k;
                    throw UsageError("unknown policy '" + n + "' (known: " + known + ")");
                }
                names.push_back(n);
            }
            if (names.empty()) throw UsageError("--policy names no policy");
        }
        const std::vector<Sweep> sweeps = parse_sweep_options();  // before the trace is read

        TraceReaderOptions options;
        options.format = parse_trace_format(format_).value_or(TraceFormat::kAuto);
        if (!time_unit_.empty()) options.disksim_time_unit = *parse_time_unit(time_unit_);
        LoadedTrace trace;
        {
            ProgressBar bar("reading trace");
            trace = load_trace(
                trace_path_, options, limit_,
                [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
        }
        if (!window_.empty() || lun_) {
            TraceWindow window;
            try {
                if (!window_.empty()) window = parse_trace_window(window_);
            } catch (const std::invalid_argument& e) {
                throw UsageError(e.what());
            }
            window.lun = lun_;
            trace.events = window_of(trace.events, window);
            if (trace.events.empty())
                throw std::runtime_error("the window (--window, --lun) holds no I/O of the trace");
        }
        TraceSummary summary;
        summary.source = trace_path_;
        summary.format = std::string(trace_format_name(trace.format));
        summary.events = trace.events.size();
        summary.skipped = trace.skipped;
        summary.luns = trace.volumes.luns.names().size();
        summary.duration_us =
            trace.events.empty() ? 0 : trace.events.back().time_us - trace.events.front().time_us;
        StorageModel probe = tiers_path_.empty() ? default_replay_config()
                                                 : read_replay_config_file(tiers_path_).config;
        summary.working_set_extents = working_set_extents(trace.events, probe.extent_bytes);
        if (!sweeps.empty()) {
            const auto points = run_sweep(registry, names, trace.events,
                                          summary.working_set_extents, sweep_points(sweeps));
            if (!plot_path_.empty()) {
                std::ofstream plot(plot_path_);
                if (plot) write_sweep_plot(plot, summary, sweeps, points);
                if (!plot) {
                    std::cerr << "rbdtier: cannot write " << plot_path_ << "\n";
                    return kExitFailure;
                }
            }
            if (json_) {
                std::cout << sweep_json(summary, sweeps, points).dump(2) << "\n";
            } else {
                print_sweep_table(std::cout, summary, probe.extent_bytes, sweeps, points);
                if (explain_)
                    for (std::size_t i = 0; i < points.size(); ++i) {
                        std::cout << "\npoint " << i + 1 << ":";
                        print_replay_explain(std::cout, points[i].results);
                    }
            }
            return kExitOk;
        }
        const StorageModel config = build_config(summary.working_set_extents, SweepPoint{});

        std::vector<ReplayResult> results;
        for (const auto& name : names) {
            auto policy = registry.create(name, {config, trace.events});
            ProgressBar bar("replay: " + name);
            results.push_back(
                replay(config, trace.events, *policy,
                       [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); }));
        }
        if (!plot_path_.empty()) {
            std::ofstream plot(plot_path_);
            if (plot) write_replay_plot(plot, summary, results);
            if (!plot) {
                std::cerr << "rbdtier: cannot write " << plot_path_ << "\n";
                return kExitFailure;
            }
        }
        if (json_)
            std::cout << replay_json(summary, config, results).dump(2) << "\n";
        else
            print_replay_table(std::cout, summary, config, results);
        if (explain_ && !json_) print_replay_explain(std::cout, results);
        return kExitOk;
    }

    CLI::App* sub_ = nullptr;
    std::string trace_path_;
    std::string format_ = "auto";
    std::string time_unit_;
    std::string policies_;
    std::string tiers_path_;
    double fast_fraction_ = 0.1;
    double bandwidth_mib_s_ = 0;
    double horizon_s_ = 0;
    double round_s_ = 0;
    unsigned concurrency_ = 0;
    std::uint64_t limit_ = 0;
    std::string window_;
    std::optional<LunId> lun_;
    bool json_ = false;
    bool explain_ = false;
    std::string generate_;
    std::uint64_t seed_ = 1;
    double duration_s_ = 3600;
    double iops_ = 200;
    std::string out_path_;
    std::string plot_path_;
    std::vector<std::string> sweep_specs_;
    CLI::Option* fast_fraction_option_ = nullptr;
    CLI::Option* bandwidth_option_ = nullptr;
    CLI::Option* concurrency_option_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> make_replay_command() {
    return std::make_unique<ReplayCommand>();
}

}  // namespace rbdtier::cli
