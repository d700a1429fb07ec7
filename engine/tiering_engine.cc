#include "engine/tiering_engine.h"

#include <algorithm>
#include <chrono>

#include "engine/round_scores.h"
#include "engine/scoring_arena.h"

namespace rbdtier {

namespace {
constexpr std::size_t kForecastSamplesPerRound = 512;
constexpr std::size_t kTopSamplesPerRound = 32;
}  // namespace

TieringEngine::TieringEngine(const EngineConfig& config)
    : TieringEngine(config, std::make_shared<AccessForecast>(config)) {}

TieringEngine::TieringEngine(const EngineConfig& config, std::shared_ptr<AccessForecast> forecast)
    : config_(config.validated()),
      forecast_(std::move(forecast)),
      tenants_(config_.tenants, config_.lun_tenant),
      resources_(config_),
      placement_(tenants_, config_.extent_bytes),
      feedback_(config_.horizon_us, config_.extent_bytes, forecast_->calibration()),
      scheduler_(config_, tenants_),
      arena_(&ScoringArena::process_wide(config_.threads)) {
    forecast_->subscribe(this,
                         [this](std::span<const DrainedAccess> accesses) { on_drained(accesses); });
}

TieringEngine::~TieringEngine() {
    forecast_->release(this);
}

void TieringEngine::on_drained(std::span<const DrainedAccess> accesses) {
    for (const DrainedAccess& a : accesses) {
        feedback_.on_access(a.key, a.time_us);
        if (!a.busy || !placement_.has_home(a.lun)) continue;
        const TierId home = placement_.home(a.lun, 0);
        const TierId tier = placement_.tier_of(a.key, home);
        feedback_.on_busy_access(a.key, tenants_.tenant_of(a.lun),
                                 tier != home && resources_.access_latency_us(tier) <
                                                     resources_.access_latency_us(home));
    }
}

void TieringEngine::refresh_luns(const PlacementView& view) {
    for (const auto& [lun, forecast] : forecast_->luns()) {
        if (!placement_.has_home(lun)) placement_.set_home(lun, view.home_tier(lun));
        LunContext& c = lun_context_[lun];
        c.tenant = tenants_.tenant_of(lun);
        c.priority = tenants_.priority(c.tenant);
        c.home = placement_.home(lun, view.home_tier(lun));
        forecast.describe(c);
    }
}

void TieringEngine::prepare_context(std::uint64_t now_us) {
    ctx_.now_tick = to_tick(now_us);
    ctx_.bucket_ticks = forecast_->profiler().bucket_ticks();
    ctx_.horizon_ticks = static_cast<std::uint32_t>(config_.horizon_us / kTickUs);
    ctx_.episode_gap_ticks = static_cast<std::uint32_t>(config_.episode_gap_us / kTickUs);
    ctx_.extent_bytes = config_.extent_bytes;
    ctx_.move_cost_factor = config_.move_cost_factor;
    ctx_.luns = &lun_context_;
    ctx_.placement = &placement_;
    ctx_.hints = &forecast_->hints();
    ctx_.prepare(resources_);
    if (!ctx_.tiers.empty()) ctx_.default_home = ctx_.tiers.back();
}

void TieringEngine::score_all(bool parallel, std::vector<ExtentScore>& out) {
    const ExtentTable& extents = forecast_->profiler().extents();
    if (parallel)
        arena_->execute([&] { CostBenefit::score(extents, ctx_, 0.0f, true, out); });
    else
        CostBenefit::score(extents, ctx_, 0.0f, false, out);
}

void TieringEngine::sync_tiers(const PlacementView& view) {
    // The executor's limits of now (a full pool, a tenant's quota) narrow the configured ones;
    // the latencies it measures replace the configured ones.
    for (const TierSpec& configured : config_.tiers) {
        std::uint64_t cap = configured.capacity_bytes;
        for (const TierSpec& now : view.tiers()) {
            if (now.id != configured.id) continue;
            cap = tighter_capacity(cap, now.capacity_bytes);
            if (now.read_latency_us > 0)
                resources_.set_latency(now.id, now.read_latency_us, now.write_latency_us);
        }
        resources_.set_capacity(configured.id, cap);
    }
}

void TieringEngine::sample_forecasts(const RoundScores& scores, std::uint64_t now_us) {
    ForecastCalibration& calibration = forecast_->calibration();
    const std::uint64_t step = forecast_->steps();
    // A sample of forecasts is followed up, to learn each model's reliability per LUN.
    const std::size_t n = scores.size();
    const std::size_t stride = std::max<std::size_t>(1, n / kForecastSamplesPerRound);
    for (std::size_t i = step % stride; i < n; i += stride) {
        const ExtentScore s = scores.at(i);
        calibration.track_forecast(s.key, key_lun(s.key), static_cast<ModelId>(s.model), s.p_access,
                                   now_us, s.forecast);
    }
    // The most forecast extents drive the decisions: they are followed up every round too
    // (for the forecast skill only: p = 0 keeps them out of the models' reliability).
    if (n <= kForecastSamplesPerRound) return;
    std::vector<std::uint32_t> top(n);  // positions (an extent table holds < 2^32 slots)
    for (std::size_t i = 0; i < n; ++i) top[i] = static_cast<std::uint32_t>(i);
    const auto k = static_cast<std::ptrdiff_t>(kTopSamplesPerRound);
    std::nth_element(
        top.begin(), top.begin() + k, top.end(),
        [&](std::uint32_t a, std::uint32_t b) { return scores.forecast(a) > scores.forecast(b); });
    for (auto it = top.begin(); it != top.begin() + k; ++it) {
        if (*it % stride == step % stride) continue;  // already sampled above
        const ExtentScore s = scores.at(*it);
        calibration.track_forecast(s.key, key_lun(s.key), static_cast<ModelId>(s.model), 0.0,
                                   now_us, s.forecast);
    }
}

std::vector<MigrationOrder> TieringEngine::plan_round(std::uint64_t now_us,
                                                      const PlacementView& view) {
    ++stats_.rounds;
    forecast_->advance(now_us);
    refresh_luns(view);
    for (TierId t : resources_.tiers_fastest_first())
        resources_.set_used_bytes(t, view.used_bytes(t));
    sync_tiers(view);
    for (ExtentKey k : feedback_.settle(now_us)) scheduler_.release_early(k);
    prepare_context(now_us);

    // Feedback tightens the evidence a promotion needs while promotions are wasted.
    stats_.threshold_us = config_.benefit_threshold_us;
    stats_.min_accesses = config_.min_expected_accesses * (1.0 + feedback_.threshold_factor());
    const double threshold_us = stats_.threshold_us, min_accesses = stats_.min_accesses;
    // What the scheduler reads: residents (away from home) and candidates to move.
    const auto for_scheduler = [&](const ExtentScore& s) {
        return s.current != s.home ||
               (s.best != s.current && s.gain_us > threshold_us && s.value >= min_accesses);
    };

    const ExtentTable& extents = forecast_->profiler().extents();
    const auto& hints = forecast_->hints();
    const auto t0 = std::chrono::steady_clock::now();
    const float min_value = 1e-3f;
    // Per round: released when the round ends, so idle rounds hold no per-extent scores.
    RoundScores scores;
    arena_->execute([&] { scores.score(extents, ctx_, min_value, true, for_scheduler); });
    stats_.score_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.scored = extents.size();
    stats_.hinted = hints.size();
    // Extents predicted but never seen yet (the next extents of a scan, say).
    for (const auto& [key, hint] : hints) {
        if (extents.find(key) != nullptr) continue;
        ExtentStats fresh;
        fresh.key = key;
        const ExtentScore s = score_extent(fresh, ctx_);
        if (s.value > min_value || s.forecast > min_value) scores.append(s, for_scheduler(s));
    }
    // Extents placed away from home whose statistics were evicted: residents worth nothing.
    for (const auto& [key, tier] : placement_.away()) {
        if (extents.find(key) != nullptr) continue;
        ExtentStats gone;
        gone.key = key;
        const ExtentScore s = score_extent(gone, ctx_);
        scores.append(s, for_scheduler(s));
    }
    // Quarantined extents are not promoted on an anomalous initiator's account.
    for (ExtentScore& s : scores.kept())
        if (s.current == s.home && forecast_->quarantined(s.key)) s.gain_us = 0;
    // The forecasts are followed up once per time step, by the first planner of the step.
    if (forecast_->claim_sampling(now_us)) sample_forecasts(scores, now_us);

    std::vector<MigrationOrder> held;
    view.migrations_in_flight([&held](const MigrationOrder& o) { held.push_back(o); });
    std::vector<std::uint8_t> models;
    auto orders = scheduler_.schedule(now_us, scores.kept(), ctx_, resources_, placement_,
                                      stats_.threshold_us, stats_.min_accesses, held, &models);
    // Orders the executor refused or lost never come back through migrated(): forget them
    // once the scheduler no longer counts them in flight (it expires them once the executor no
    // longer holds them).
    std::erase_if(order_model_,
                  [&](const auto& entry) { return !scheduler_.in_flight(entry.first); });
    std::vector<MigrationOrder> valid;
    valid.reserve(orders.size());
    for (std::size_t i = 0; i < orders.size(); ++i) {
        MigrationOrder& o = orders[i];
        const ExtentKey key = make_extent_key(o.lun, o.extent);
        const TierId actual = view.tier_of(o.lun, o.extent);
        if (actual != o.from) {
            // The executor knows better: resynchronise and skip.
            placement_.moved(key, o.from, actual, placement_.home(o.lun, view.home_tier(o.lun)));
            continue;
        }
        order_model_[key] = models[i];
        valid.push_back(std::move(o));
    }
    stats_.orders_last_round = valid.size();
    return valid;
}

void TieringEngine::placement_changed(LunId lun, const PlacementView& view) {
    const TierId home = view.home_tier(lun);
    placement_.set_home(lun, home);
    placement_.replace_lun(lun, home, view.extents(lun),
                           [&](ExtentIndex e) { return view.tier_of(lun, e); });
}

void TieringEngine::migrated(const MigrationOrder& order, std::uint64_t now_us) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    const TierId home = placement_.home(order.lun, order.from);
    placement_.moved(key, order.from, order.to, home);
    scheduler_.completed(order, now_us);
    const double saved =
        resources_.access_latency_us(order.from) - resources_.access_latency_us(order.to);
    if (saved > 0) {
        ModelId model = ModelId::kEwma;
        if (auto it = order_model_.find(key); it != order_model_.end()) {
            model = static_cast<ModelId>(it->second);
            order_model_.erase(it);
        }
        feedback_.on_promotion(key, tenants_.tenant_of(order.lun), model, saved, now_us);
    } else {
        order_model_.erase(key);
        feedback_.on_demotion(key, now_us);
    }
}

EngineStats TieringEngine::stats() const {
    const Profiler& profiler = forecast_->profiler();
    EngineStats s = stats_;
    s.events = forecast_->events();
    s.dropped = profiler.dropped();
    s.tracked_extents = profiler.extents().size();
    s.max_tracked_extents = profiler.extents().max_entries();
    s.untracked_accesses = profiler.untracked();
    s.last_untracked_us = profiler.last_untracked_us();
    s.bytes_per_extent = profiler.bytes_per_extent();
    return s;
}

std::string TieringEngine::tracking_limit_problem() const {
    return forecast_->tracking_limit_problem();
}

ExtentScore TieringEngine::explain(LunId lun, ExtentIndex extent) const {
    const ExtentKey key = make_extent_key(lun, extent);
    if (const ExtentStats* s = forecast_->profiler().extents().find(key))
        return score_extent(*s, ctx_);
    ExtentStats fresh;
    fresh.key = key;
    return score_extent(fresh, ctx_);
}

}  // namespace rbdtier
