#include "engine/tiering_engine.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "engine/forecast/ar_forecaster.h"
#include "engine/forecast/ewma_forecaster.h"
#include "engine/forecast/holt_winters_forecaster.h"
#include "engine/round_scores.h"

namespace rbdtier {

namespace {
constexpr std::size_t kLunSeries = 256;  // buckets of LUN load the LUN-level models see
constexpr std::size_t kForecastSamplesPerRound = 512;
constexpr std::size_t kTopSamplesPerRound = 32;
}  // namespace

struct TieringEngine::LunModels {
    EwmaForecaster ewma{0.3};
    HoltWintersForecaster hw;
    ArForecaster ar{3, 0};
    Ensemble ensemble{3, 0.1};
    std::uint64_t fitted_bucket = 0;
    bool has_pending = false;
    std::array<double, 3> pending{};  // each model's forecast of bucket fitted_bucket + 1
};

TieringEngine::TieringEngine(const EngineConfig& config)
    : config_(config.validated()),
      tenants_(config_.tenants, config_.lun_tenant),
      resources_(config_),
      profiler_(config_),
      placement_(tenants_, config_.extent_bytes),
      scan_(config_.extent_bytes, 4, 256, std::max<std::uint64_t>(config_.bucket_us, 5'000'000)),
      coaccess_(1 << 14, std::max<std::uint64_t>(config_.bucket_us, 5'000'000), 0.5),
      drift_(config_.extent_bytes, config_.bucket_us),
      anomaly_(config_.extent_bytes, config_.bucket_us),
      feedback_(config_.horizon_us, config_.extent_bytes),
      scheduler_(config_, tenants_),
      arena_(std::make_unique<tbb::task_arena>(
          config_.threads == 0 ? tbb::task_arena::automatic : static_cast<int>(config_.threads))) {
    feedback_.set_bucket_ticks(profiler_.bucket_ticks());
}

TieringEngine::~TieringEngine() = default;

void TieringEngine::consume(std::span<const IoEvent> events) {
    started_.clear();
    for (const IoEvent& e : events) {
        const bool muted = anomaly_.observe(e);
        const ExtentKey key = make_extent_key(e.lun, e.offset / config_.extent_bytes);
        if (scan_.muted(e.lun, e.initiator) != muted) scan_.mute(e.lun, e.initiator, muted);
        if (!muted) {
            scan_.observe(e);
            drift_.observe(e);
        }
        feedback_.on_access(key, e.time_us);
        const ExtentStats* s = profiler_.extents().find(key);
        if (s == nullptr) continue;
        if (s->episode_start() == to_tick(e.time_us) && started_.insert(key).second && !muted)
            coaccess_.observe_episode_start(key, e.time_us);
        if (s->episode_count >= Feedback::kBusyEpisode && placement_.has_home(e.lun)) {
            const TierId home = placement_.home(e.lun, 0);
            const TierId tier = placement_.tier_of(key, home);
            feedback_.on_busy_access(key, tenants_.tenant_of(e.lun),
                                     tier != home && resources_.access_latency_us(tier) <
                                                         resources_.access_latency_us(home));
        }
    }
}

void TieringEngine::refresh_luns(std::uint64_t now_us, const PlacementView& view) {
    const std::uint64_t now_bucket = profiler_.bucket_of(now_us);
    const double h =
        static_cast<double>(config_.horizon_us) / static_cast<double>(config_.bucket_us);
    const auto h_steps = static_cast<std::size_t>(std::max(1.0, std::round(h)));
    for (const auto& [lun, lstats] : profiler_.luns()) {
        if (!placement_.has_home(lun)) placement_.set_home(lun, view.home_tier(lun));
        auto& models = lun_models_[lun];
        if (!models) models = std::make_unique<LunModels>();
        LunOutlook& out = outlooks_[lun];
        if (now_bucket > models->fitted_bucket + 0 && now_bucket >= 1 &&
            (models->fitted_bucket == 0 || now_bucket > models->fitted_bucket)) {
            const std::uint64_t complete = now_bucket - 1;  // last complete bucket
            const auto series = lstats.series(complete, kLunSeries);
            if (models->has_pending && complete == models->fitted_bucket + 1 && !series.empty())
                models->ensemble.update(models->pending, series.back());
            if (series.size() >= 8) {
                models->hw.fit(series);
                models->ar.fit(series);
                const double level = models->ewma.level(series);
                models->pending = {level, models->hw.forecast(1),
                                   models->ar.fitted() ? models->ar.forecast(1) : level};
                models->has_pending = true;
                const auto w = models->ensemble.weights();
                out.weights = {w[0], w[1], w[2]};
                out.period_buckets = models->hw.period();
                out.forecast_next = models->ensemble.combine(models->pending);
                const std::array<double, 3> totals = {
                    level * h, models->hw.total(h_steps) * h / static_cast<double>(h_steps),
                    models->ar.fitted()
                        ? models->ar.total(h_steps) * h / static_cast<double>(h_steps)
                        : level * h};
                const double combined = models->ensemble.combine(totals);
                const double recent = level * h;
                out.load_ratio = recent > 0.5 ? std::clamp(combined / recent, 0.25, 4.0) : 1.0;
            }
            models->fitted_bucket = complete;
        }
        LunContext& c = lun_context_[lun];
        c.tenant = tenants_.tenant_of(lun);
        c.priority = tenants_.priority(c.tenant);
        c.home = placement_.home(lun, view.home_tier(lun));
        c.period_ticks = static_cast<std::uint32_t>(out.period_buckets * profiler_.bucket_ticks());
        c.load_ratio = out.load_ratio;
        const ModelReliability& r = feedback_.reliability(lun);
        for (std::size_t m = 0; m < kModelCount; ++m)
            c.reliability[m] = r.reliability(static_cast<ModelId>(m));
        const ForecastSkill& skill = feedback_.skill(lun);
        c.trust = static_cast<float>(skill.trust());
        c.proven = skill.proven();
        c.base_accesses = static_cast<float>(skill.base_rate());
    }
}

void TieringEngine::collect_hints(std::uint64_t now_us) {
    forecasts_.clear();
    scan_.predict(now_us, config_.horizon_us, forecasts_);
    coaccess_.predict(forecasts_);
    drift_.predict(now_us, config_.horizon_us, forecasts_);
    hints_.clear();
    for (const ExtentForecast& f : forecasts_) {
        if (anomaly_.quarantined(f.key)) continue;
        double expected = f.forecast.expected;
        if (f.model == ModelId::kCoAccess) {
            // A follower that is already busy needs no prediction; otherwise expect one of
            // its typical (substantial) episodes.
            if (const ExtentStats* s = profiler_.extents().find(f.key)) {
                if (s->last_tick != 0 &&
                    to_tick(now_us) - s->last_tick <
                        static_cast<std::uint32_t>(config_.episode_gap_us / kTickUs))
                    continue;
                expected *= std::max<double>(1.0, s->anchor_count);
            }
        }
        ExtentHint& h = hints_[f.key];
        const auto m = static_cast<std::size_t>(f.model);
        h.p[m] = std::max(h.p[m], static_cast<float>(f.forecast.p_access));
        h.expected[m] = std::max(h.expected[m], static_cast<float>(expected));
    }
}

void TieringEngine::prepare_context(std::uint64_t now_us) {
    ctx_.now_tick = to_tick(now_us);
    ctx_.bucket_ticks = profiler_.bucket_ticks();
    ctx_.horizon_ticks = static_cast<std::uint32_t>(config_.horizon_us / kTickUs);
    ctx_.episode_gap_ticks = static_cast<std::uint32_t>(config_.episode_gap_us / kTickUs);
    ctx_.extent_bytes = config_.extent_bytes;
    ctx_.move_cost_factor = config_.move_cost_factor;
    ctx_.luns = &lun_context_;
    ctx_.placement = &placement_;
    ctx_.hints = &hints_;
    ctx_.prepare(resources_);
    if (!ctx_.tiers.empty()) ctx_.default_home = ctx_.tiers.back();
}

void TieringEngine::score_all(bool parallel, std::vector<ExtentScore>& out) {
    if (parallel)
        arena_->execute([&] { CostBenefit::score(profiler_.extents(), ctx_, 0.0f, true, out); });
    else
        CostBenefit::score(profiler_.extents(), ctx_, 0.0f, false, out);
}

void TieringEngine::sync_capacity(const PlacementView& view) {
    // The executor's limits of now (a full pool, a tenant's quota) narrow the configured ones.
    for (const TierSpec& configured : config_.tiers) {
        std::uint64_t cap = configured.capacity_bytes;
        for (const TierSpec& now : view.tiers())
            if (now.id == configured.id) cap = tighter_capacity(cap, now.capacity_bytes);
        resources_.set_capacity(configured.id, cap);
    }
}

void TieringEngine::drain(std::uint64_t now_us) {
    const auto events = profiler_.drain(now_us);
    stats_.events += events.size();
    consume(events);
    if (!tracking_limit_logged_ && profiler_.untracked() > 0) {
        tracking_limit_logged_ = true;
        RBDTIER_LOG_WARNING("", tracking_limit_problem());
    }
}

std::vector<MigrationOrder> TieringEngine::plan_round(std::uint64_t now_us,
                                                      const PlacementView& view) {
    ++stats_.rounds;
    drain(now_us);
    refresh_luns(now_us, view);
    for (TierId t : resources_.tiers_fastest_first())
        resources_.set_used_bytes(t, view.used_bytes(t));
    sync_capacity(view);
    for (ExtentKey k : feedback_.settle(now_us, profiler_.extents())) scheduler_.release_early(k);
    collect_hints(now_us);
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

    const auto t0 = std::chrono::steady_clock::now();
    const float min_value = 1e-3f;
    // Per round: released when the round ends, so idle rounds hold no per-extent scores.
    RoundScores scores;
    arena_->execute(
        [&] { scores.score(profiler_.extents(), ctx_, min_value, true, for_scheduler); });
    stats_.score_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.scored = profiler_.extents().size();
    stats_.hinted = hints_.size();
    // Extents predicted but never seen yet (the next extents of a scan, say).
    for (const auto& [key, hint] : hints_) {
        if (profiler_.extents().find(key) != nullptr) continue;
        ExtentStats fresh;
        fresh.key = key;
        const ExtentScore s = score_extent(fresh, ctx_);
        if (s.value > min_value || s.forecast > min_value) scores.append(s, for_scheduler(s));
    }
    // Extents placed away from home whose statistics were evicted: residents worth nothing.
    for (const auto& [key, tier] : placement_.away()) {
        if (profiler_.extents().find(key) != nullptr) continue;
        ExtentStats gone;
        gone.key = key;
        const ExtentScore s = score_extent(gone, ctx_);
        scores.append(s, for_scheduler(s));
    }
    // Quarantined extents are not promoted on an anomalous initiator's account.
    for (ExtentScore& s : scores.kept())
        if (s.current == s.home && anomaly_.quarantined(s.key)) s.gain_us = 0;
    // A sample of forecasts is followed up, to learn each model's reliability per LUN.
    const std::size_t n = scores.size();
    const std::size_t stride = std::max<std::size_t>(1, n / kForecastSamplesPerRound);
    for (std::size_t i = stats_.rounds % stride; i < n; i += stride) {
        const ExtentScore s = scores.at(i);
        feedback_.track_forecast(s.key, key_lun(s.key), static_cast<ModelId>(s.model), s.p_access,
                                 now_us, s.forecast);
    }
    // The most forecast extents drive the decisions: they are followed up every round too
    // (for the forecast skill only: p = 0 keeps them out of the models' reliability).
    if (n > kForecastSamplesPerRound) {
        std::vector<std::uint32_t> top(n);  // positions (an extent table holds < 2^32 slots)
        for (std::size_t i = 0; i < n; ++i) top[i] = static_cast<std::uint32_t>(i);
        const auto k = static_cast<std::ptrdiff_t>(kTopSamplesPerRound);
        std::nth_element(top.begin(), top.begin() + k, top.end(),
                         [&](std::uint32_t a, std::uint32_t b) {
                             return scores.forecast(a) > scores.forecast(b);
                         });
        for (auto it = top.begin(); it != top.begin() + k; ++it) {
            if (*it % stride == stats_.rounds % stride) continue;  // already sampled above
            const ExtentScore s = scores.at(*it);
            feedback_.track_forecast(s.key, key_lun(s.key), static_cast<ModelId>(s.model), 0.0,
                                     now_us, s.forecast);
        }
    }

    std::vector<std::uint8_t> models;
    auto orders = scheduler_.schedule(now_us, scores.kept(), ctx_, resources_, placement_,
                                      stats_.threshold_us, stats_.min_accesses, &models);
    // Orders the executor refused or lost never come back through migrated(): forget them
    // once the scheduler no longer counts them in flight (it expires them).
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
    if (now_us >= last_evict_us_ + 4 * config_.horizon_us) {
        profiler_.evict_idle(now_us, config_.idle_evict_us);
        last_evict_us_ = now_us;
    }
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
    EngineStats s = stats_;
    s.dropped = profiler_.dropped();
    s.tracked_extents = profiler_.extents().size();
    s.max_tracked_extents = profiler_.extents().max_entries();
    s.untracked_accesses = profiler_.untracked();
    s.last_untracked_us = profiler_.last_untracked_us();
    s.bytes_per_extent = profiler_.bytes_per_extent();
    return s;
}

std::string TieringEngine::tracking_limit_problem() const {
    if (profiler_.untracked() == 0) return {};
    return "the engine tracks at most " + std::to_string(profiler_.extents().max_entries()) +
           " extents (max_tracked_extents) and holds " +
           std::to_string(profiler_.extents().size()) + ": " +
           std::to_string(profiler_.untracked()) +
           " accesses to further extents were not profiled, so those extents are not placed "
           "ahead of their access";
}

ExtentScore TieringEngine::explain(LunId lun, ExtentIndex extent) const {
    const ExtentKey key = make_extent_key(lun, extent);
    if (const ExtentStats* s = profiler_.extents().find(key)) return score_extent(*s, ctx_);
    ExtentStats fresh;
    fresh.key = key;
    return score_extent(fresh, ctx_);
}

}  // namespace rbdtier
