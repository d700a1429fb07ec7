#include "engine/access_forecast.h"

#include <algorithm>
#include <cmath>

#include "common/log.h"
#include "engine/feedback.h"
#include "engine/forecast/ar_forecaster.h"
#include "engine/forecast/ensemble.h"
#include "engine/forecast/ewma_forecaster.h"
#include "engine/forecast/holt_winters_forecaster.h"

namespace rbdtier {

namespace {
constexpr std::size_t kLunSeries = 256;  // buckets of LUN load the LUN-level models see
}  // namespace

struct AccessForecast::LunModels {
    EwmaForecaster ewma{0.3};
    HoltWintersForecaster hw;
    ArForecaster ar{3, 0};
    Ensemble ensemble{3, 0.1};
    std::uint64_t fitted_bucket = 0;
    bool has_pending = false;
    std::array<double, 3> pending{};  // each model's forecast of bucket fitted_bucket + 1
};

AccessForecast::AccessForecast(const EngineConfig& config)
    : config_(config.validated()),
      profiler_(config_),
      scan_(config_.extent_bytes, 4, 256, std::max<std::uint64_t>(config_.bucket_us, 5'000'000)),
      coaccess_(1 << 14, std::max<std::uint64_t>(config_.bucket_us, 5'000'000), 0.5),
      drift_(config_.extent_bytes, config_.bucket_us),
      anomaly_(config_.extent_bytes, config_.bucket_us),
      calibration_(config_.horizon_us) {
    calibration_.set_bucket_ticks(profiler_.bucket_ticks());
}

AccessForecast::~AccessForecast() = default;

void AccessForecast::release(const void* planner) noexcept {
    const void* expected = planner;
    recorder_.compare_exchange_strong(expected, nullptr);
    std::erase_if(listeners_, [&](const auto& l) { return l.first == planner; });
}

void AccessForecast::subscribe(const void* planner, AccessListener listener) {
    listeners_.emplace_back(planner, std::move(listener));
}

void AccessForecast::consume(std::span<const IoEvent> events) {
    started_.clear();
    // The subscribers are told in chunks, from the stack: nothing is kept between drains.
    std::array<DrainedAccess, 64> chunk;
    std::size_t in_chunk = 0;
    const auto tell = [&] {
        for (const auto& [planner, listener] : listeners_)
            listener(std::span<const DrainedAccess>(chunk.data(), in_chunk));
        in_chunk = 0;
    };
    for (const IoEvent& e : events) {
        const bool muted = anomaly_.observe(e);
        const ExtentKey key = make_extent_key(e.lun, e.offset / config_.extent_bytes);
        if (scan_.muted(e.lun, e.initiator) != muted) scan_.mute(e.lun, e.initiator, muted);
        if (!muted) {
            scan_.observe(e);
            drift_.observe(e);
        }
        const ExtentStats* s = profiler_.extents().find(key);
        chunk[in_chunk++] = {key, e.lun, e.time_us,
                             s != nullptr && s->episode_count >= Feedback::kBusyEpisode};
        if (in_chunk == chunk.size()) tell();
        if (s == nullptr) continue;
        if (s->episode_start() == to_tick(e.time_us) && started_.insert(key).second && !muted)
            coaccess_.observe_episode_start(key, e.time_us);
    }
    if (in_chunk > 0) tell();
}

void AccessForecast::drain(std::uint64_t now_us) {
    if (evict_due_) {
        // The last step was due to forget idle extents: every planner of it has scored.
        profiler_.evict_idle(step_us_, config_.idle_evict_us);
        last_evict_us_ = step_us_;
        evict_due_ = false;
    }
    const auto events = profiler_.drain(now_us);
    events_ += events.size();
    consume(events);
    if (!tracking_limit_logged_ && profiler_.untracked() > 0) {
        tracking_limit_logged_ = true;
        RBDTIER_LOG_WARNING("", tracking_limit_problem());
    }
}

void AccessForecast::advance(std::uint64_t now_us) {
    if (steps_ > 0 && now_us == step_us_) return;
    drain(now_us);
    ++steps_;
    step_us_ = now_us;
    refit(now_us);
    calibration_.settle(now_us, profiler_.extents());
    collect_hints(now_us);
    evict_due_ = now_us >= last_evict_us_ + 4 * config_.horizon_us;
}

bool AccessForecast::claim_sampling(std::uint64_t now_us) {
    if (sampled_ && sampled_us_ == now_us) return false;
    sampled_ = true;
    sampled_us_ = now_us;
    return true;
}

void AccessForecast::refit(std::uint64_t now_us) {
    const std::uint64_t now_bucket = profiler_.bucket_of(now_us);
    const double h =
        static_cast<double>(config_.horizon_us) / static_cast<double>(config_.bucket_us);
    const auto h_steps = static_cast<std::size_t>(std::max(1.0, std::round(h)));
    for (const auto& [lun, lstats] : profiler_.luns()) {
        auto& models = lun_models_[lun];
        if (!models) models = std::make_unique<LunModels>();
        LunOutlook& out = outlooks_[lun];
        if (now_bucket > models->fitted_bucket) {
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
        LunForecast& f = luns_[lun];
        f.period_ticks = static_cast<std::uint32_t>(out.period_buckets * profiler_.bucket_ticks());
        f.load_ratio = out.load_ratio;
        const ModelReliability& r = calibration_.reliability(lun);
        for (std::size_t m = 0; m < kModelCount; ++m)
            f.reliability[m] = r.reliability(static_cast<ModelId>(m));
        const ForecastSkill& skill = calibration_.skill(lun);
        f.trust = static_cast<float>(skill.trust());
        f.proven = skill.proven();
        f.base_accesses = static_cast<float>(skill.base_rate());
    }
}

void AccessForecast::collect_hints(std::uint64_t now_us) {
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

std::string AccessForecast::tracking_limit_problem() const {
    if (profiler_.untracked() == 0) return {};
    return "the engine tracks at most " + std::to_string(profiler_.extents().max_entries()) +
           " extents (max_tracked_extents) and holds " +
           std::to_string(profiler_.extents().size()) + ": " +
           std::to_string(profiler_.untracked()) +
           " accesses to further extents were not profiled, so those extents are not placed "
           "ahead of their access";
}

}  // namespace rbdtier
