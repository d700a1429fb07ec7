// engine_replay_compare: predictive against the baseline policies on the synthetic workloads,
// through the replay simulator (engine/replay/), with the acceptance figures.
//
// Usage: engine_replay_compare [workload ...] [--duration S] [--iops N] [--seed N]
// Prints per workload and policy: mean/p99 latency, fast share, migrations, wasted, refused, and
// the share of the none -> oracle gap that predictive closes.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/policy/predictive_config.h"
#include "engine/predictive_policy.h"
#include "engine/replay/replay_policies.h"
#include "engine/replay/replay_simulator.h"
#include "engine/replay/workload_generator.h"

namespace {

// Wraps a policy and tallies, per phase bin of a period, which tier served the I/Os.
class PhaseProbe : public rbdtier::PlacementPolicy {
public:
    PhaseProbe(std::unique_ptr<rbdtier::PlacementPolicy> inner, double period_s, int bins)
        : inner_(std::move(inner)), period_us_(period_s * 1e6), bins_(bins), tally_(bins * 4, 0) {}
    std::string_view name() const override { return inner_->name(); }
    void observe(const rbdtier::IoEvent& io) override {
        inner_->observe(io);
        if (view_ != nullptr) {
            const auto tier = view_->tier_of(io.lun, io.offset / view_->extent_bytes());
            const int bin = static_cast<int>(
                std::fmod(static_cast<double>(io.time_us), period_us_) / period_us_ * bins_);
            if (tier < 4) ++tally_[bin * 4 + tier];
        }
    }
    std::vector<rbdtier::MigrationOrder> plan(std::uint64_t now,
                                              const rbdtier::PlacementView& v) override {
        view_ = &v;
        return inner_->plan(now, v);
    }
    void migrated(const rbdtier::MigrationOrder& o, std::uint64_t now) override {
        inner_->migrated(o, now);
    }
    void print() const {
        for (int b = 0; b < bins_; ++b) {
            double tot = 0;
            for (int t = 0; t < 4; ++t) tot += tally_[b * 4 + t];
            std::printf("    phase %5.0f s:", period_us_ / 1e6 * b / bins_);
            for (int t = 0; t < 4; ++t)
                std::printf(" %5.1f%%", tot ? 100.0 * tally_[b * 4 + t] / tot : 0.0);
            std::printf("  (%.0f)\n", tot);
        }
    }
    rbdtier::PlacementPolicy& inner() { return *inner_; }

private:
    std::unique_ptr<rbdtier::PlacementPolicy> inner_;
    const rbdtier::PlacementView* view_ = nullptr;
    double period_us_;
    int bins_;
    std::vector<double> tally_;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace rbdtier;
    EngineConfig knobs;
    double phase_period = 0;
    WorkloadParams params;
    params.duration_s = 3600;
    params.iops = 200;
    params.seed = 11;
    std::vector<WorkloadKind> kinds;
    std::vector<std::string> policies = {"none", "reactive", "frequency", "oracle", "predictive"};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--duration" && i + 1 < argc)
            params.duration_s = std::atof(argv[++i]);
        else if (a == "--iops" && i + 1 < argc)
            params.iops = std::atof(argv[++i]);
        else if (a == "--seed" && i + 1 < argc)
            params.seed = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--idle-cost" && i + 1 < argc)
            knobs.idle_move_cost = std::atof(argv[++i]);
        else if (a == "--margin" && i + 1 < argc)
            knobs.benefit_margin = std::atof(argv[++i]);
        else if (a == "--residency" && i + 1 < argc)
            knobs.min_residency_us = static_cast<std::uint64_t>(std::atof(argv[++i]) * 1e6);
        else if (a == "--min-disp" && i + 1 < argc)
            knobs.displacement_z = std::atof(argv[++i]);
        else if (a == "--min-acc" && i + 1 < argc)
            knobs.min_expected_accesses = std::atof(argv[++i]);
        else if (a == "--bucket" && i + 1 < argc)
            knobs.bucket_us = static_cast<std::uint64_t>(std::atof(argv[++i]) * 1e6);
        else if (a == "--phase" && i + 1 < argc)
            phase_period = std::atof(argv[++i]);
        else if (a == "--only-predictive")
            policies = {"none", "predictive"};
        else if (auto k = parse_workload_kind(a))
            kinds.push_back(*k);
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (kinds.empty()) kinds = all_workload_kinds();
    const auto registry = replay_policy_registry();
    for (WorkloadKind kind : kinds) {
        const auto events = generate_workload(kind, params);
        const StorageModel config = standard_replay_config(events);
        std::printf("== %s: %zu I/Os\n", std::string(workload_kind_name(kind)).c_str(),
                    events.size());
        std::printf("%-11s %9s %9s %6s %7s %7s %7s %7s %6s %6s %6s\n", "policy", "mean_us",
                    "p99_us", "fast%", "migr", "promo", "wasted", "refused", "prec", "recall",
                    "wall_s");
        double none = 0, oracle = 0, pred = 0;
        for (const auto& name : policies) {
            std::unique_ptr<PlacementPolicy> policy;
            if (name == "predictive")
                policy = std::make_unique<PredictivePolicy>(engine_config_for(config, knobs));
            else
                policy = registry.create(name, {config, events});
            PhaseProbe* probe = nullptr;
            if (phase_period > 0) {
                auto wrapped = std::make_unique<PhaseProbe>(std::move(policy), phase_period, 20);
                probe = wrapped.get();
                policy = std::move(wrapped);
            }
            const ReplayResult r = replay(config, events, *policy);
            if (probe != nullptr) probe->print();
            PlacementPolicy* inner = probe != nullptr ? &probe->inner() : policy.get();
            std::printf("%-11s %9.1f %9.1f %6.1f %7llu %7llu %7llu %7llu %6.2f %6.2f %6.1f\n",
                        name.c_str(), r.mean_latency_us, r.p99_latency_us, 100 * r.fast_share(),
                        static_cast<unsigned long long>(r.migrations),
                        static_cast<unsigned long long>(r.promotions),
                        static_cast<unsigned long long>(r.wasted_promotions),
                        static_cast<unsigned long long>(r.refused()), r.precision(), r.recall(),
                        r.wall_seconds);
            std::printf("            tiers:");
            for (std::size_t t = 0; t < r.tier_names.size(); ++t)
                std::printf(" %s %.1f%%", r.tier_names[t].c_str(),
                            r.ios ? 100.0 * static_cast<double>(r.ios_per_tier[t]) /
                                        static_cast<double>(r.ios)
                                  : 0.0);
            std::printf("\n");
            if (name == "none") none = r.mean_latency_us;
            if (name == "oracle") oracle = r.mean_latency_us;
            if (name == "predictive") {
                pred = r.mean_latency_us;
                if (auto* p = dynamic_cast<PredictivePolicy*>(inner)) {
                    const auto& fb = p->engine().feedback();
                    const auto st = p->engine().stats();
                    const auto& ss = p->engine().scheduler_stats();
                    std::printf(
                        "  engine: min accesses %.1f, precision %.2f recall %.2f, bytes/extent "
                        "%.1f, scored %zu, expired %llu, displacements %llu, alerts %zu, refused: "
                        "cap %llu quota %llu bw %llu conc %llu invalid %llu\n",
                        st.min_accesses, fb.total().precision(), fb.total().recall(),
                        st.bytes_per_extent, st.scored, static_cast<unsigned long long>(ss.expired),
                        static_cast<unsigned long long>(ss.displacements),
                        p->engine().alerts().size(),
                        static_cast<unsigned long long>(r.refused_capacity),
                        static_cast<unsigned long long>(r.refused_quota),
                        static_cast<unsigned long long>(r.refused_bandwidth),
                        static_cast<unsigned long long>(r.refused_concurrency),
                        static_cast<unsigned long long>(r.refused_invalid));
                    for (const auto& [lun, outlook] : p->engine().outlooks()) {
                        const ForecastSkill& sk = p->engine().forecast().calibration().skill(lun);
                        std::printf(
                            "    lun %u skill: slope %.3f r %.3f trust %.2f base %.2f samples "
                            "%zu\n",
                            static_cast<unsigned>(lun), sk.slope(), sk.correlation(), sk.trust(),
                            sk.base_rate(), sk.samples());
                    }
                    for (std::size_t m = 0; m < kModelCount; ++m) {
                        const auto& c = fb.by_model(static_cast<ModelId>(m));
                        if (c.promotions)
                            std::printf("    model %-10s promotions %llu precision %.2f\n",
                                        std::string(model_name(static_cast<ModelId>(m))).c_str(),
                                        static_cast<unsigned long long>(c.promotions),
                                        c.precision());
                    }
                }
            }
        }
        if (oracle > 0 && none > oracle)
            std::printf("  gap closed by predictive: %.1f%%\n",
                        100 * (none - pred) / (none - oracle));
    }
    return 0;
}
