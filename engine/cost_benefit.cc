#include "engine/cost_benefit.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "engine/forecast/ewma_forecaster.h"
#include "engine/forecast/recurrence_predictor.h"

namespace rbdtier {

void ScoringContext::prepare(const ResourceModel& resources) {
    tiers = resources.tiers_fastest_first();
    TierId max_id = 0;
    for (TierId t : tiers) max_id = std::max(max_id, t);
    stride = static_cast<std::size_t>(max_id) + 1;
    read_latency_us.assign(stride, 0.0);
    write_latency_us.assign(stride, 0.0);
    move_cost_us.assign(stride * stride, 0.0);
    float w = 1.0f;
    ewma_tail_weight = 0;
    for (int i = 0; i < kBuckets; ++i) {
        ewma_weights[i] = w;
        if (i > 0) ewma_tail_weight += w;
        w *= 1.0f - ewma_alpha;
    }
    for (TierId t : tiers) {
        read_latency_us[t] = resources.access_latency_us(t, 0.0);
        write_latency_us[t] = resources.access_latency_us(t, 1.0);
        for (TierId u : tiers)
            move_cost_us[t * stride + u] =
                t == u ? 0.0 : resources.move_cost_us(t, u, extent_bytes);
    }
}

namespace {
const LunContext& default_lun() {
    static const LunContext kDefault = [] {
        LunContext c;
        c.reliability.fill(0.5);
        return c;
    }();
    return kDefault;
}
}  // namespace

const LunContext& lun_context(const ScoringContext& ctx, LunId lun) {
    if (ctx.luns != nullptr) {
        auto it = ctx.luns->find(lun);
        if (it != ctx.luns->end()) return it->second;
    }
    return default_lun();
}

ExtentScore score_extent(const ExtentStats& s, const ScoringContext& ctx) {
    return score_extent(s, ctx, nullptr);
}

ExtentScore score_extent(const ExtentStats& s, const ScoringContext& ctx, const LunContext* lc) {
    ExtentScore out;
    out.key = s.key;
    if (lc == nullptr) lc = &lun_context(ctx, key_lun(s.key));
    const bool known = lc != &default_lun();
    out.tenant = lc->tenant;
    out.home = known ? lc->home : ctx.default_home;
    out.current = ctx.placement != nullptr && !ctx.placement->away().empty()
                      ? ctx.placement->tier_of(s.key, out.home)
                      : out.home;

    std::array<float, kModelCount> p{}, e{};
    if (s.last_tick != 0) {
        // EWMA of the bucket ring, scaled by the LUN's load outlook. The newest bucket is
        // partial: it weighs as much of a bucket as has elapsed. A lone access (an episode of
        // one) is no evidence of a rate: the EWMA speaks from the second access of an episode
        // on (a lone access extrapolated to a rate made most of the wasted promotions).
        const std::uint64_t now_bucket = ctx.now_tick / ctx.bucket_ticks;
        const std::uint64_t newest = s.last_tick / ctx.bucket_ticks;
        if (now_bucket >= newest && now_bucket - newest < kBuckets && s.episode_count >= 2) {
            const float fraction =
                std::max(0.05f, static_cast<float>(ctx.now_tick % ctx.bucket_ticks + 1) /
                                    static_cast<float>(ctx.bucket_ticks));
            float num = 0;
            for (std::uint64_t age = now_bucket - newest; age < kBuckets; ++age) {
                const std::uint64_t b = now_bucket - age;
                if (newest - b >= kBuckets) break;
                num += ctx.ewma_weights[age] * s.bucket(b % kBuckets);
            }
            float rate = num / (fraction + ctx.ewma_tail_weight);
            // An extent that was busy and has been silent for many of its own inter-access
            // times has ended its episode: its rate fades fast instead of bucket by bucket.
            if (s.episode_count >= 3 && ctx.now_tick > s.last_tick) {
                const float span = static_cast<float>(s.last_tick - s.episode_start());
                float iat = std::max(1.0f, span / static_cast<float>(s.episode_count - 1));
                // An extent busy in several buckets of its episode comes back after silences
                // as long as the gaps between its busy buckets, however dense its bursts: its
                // inter-access time is measured between busy buckets too. Three at least: two
                // may be one burst across a bucket boundary.
                const std::uint64_t since =
                    std::max<std::uint64_t>(s.episode_start() / ctx.bucket_ticks,
                                            newest >= kBuckets - 1 ? newest - (kBuckets - 1) : 0);
                float busy = 0;
                for (std::uint64_t b = since; b <= newest; ++b)
                    if (s.bucket(b % kBuckets) > 0) busy += 1;
                if (busy >= 3) iat = std::max(iat, span / busy);
                const float silent = static_cast<float>(ctx.now_tick - s.last_tick) / iat;
                if (silent > 4.0f) rate *= std::exp(-(silent - 4.0f) / 4.0f);
            }
            const float h_buckets =
                static_cast<float>(ctx.horizon_ticks) / static_cast<float>(ctx.bucket_ticks);
            const float ew = rate * h_buckets * static_cast<float>(lc->load_ratio);
            e[static_cast<std::size_t>(ModelId::kEwma)] = ew;
            p[static_cast<std::size_t>(ModelId::kEwma)] = ew > 0 ? 1.0f - std::exp(-ew) : 0.0f;
        }
        // Recurrence of its episodes.
        RecurrenceParams rp;
        rp.bucket_ticks = ctx.bucket_ticks;
        rp.horizon_ticks = ctx.horizon_ticks;
        rp.episode_gap_ticks = ctx.episode_gap_ticks;
        rp.lun_period_ticks = lc->period_ticks;
        if (s.period_buckets() != 0) {
            const Forecast rf = recurrence_forecast(s, ctx.now_tick, rp);
            p[static_cast<std::size_t>(ModelId::kRecurrence)] = static_cast<float>(rf.p_access);
            e[static_cast<std::size_t>(ModelId::kRecurrence)] = static_cast<float>(rf.expected);
        }
        out.write_fraction = static_cast<float>(s.write_fraction());
    }
    if (ctx.hints != nullptr && !ctx.hints->empty()) {
        auto it = ctx.hints->find(s.key);
        if (it != ctx.hints->end()) {
            for (std::size_t m = 0; m < kModelCount; ++m) {
                p[m] = std::max(p[m], it->second.p[m]);
                e[m] = std::max(e[m], it->second.expected[m]);
            }
        }
    }
    float none = 1.0f, best_e = 0.0f;
    std::size_t best_m = 0;
    for (std::size_t m = 0; m < kModelCount; ++m) {
        const float r = static_cast<float>(lc->reliability[m]);
        none *= 1.0f - std::clamp(r * p[m], 0.0f, 1.0f);
        const float em = r * e[m];
        if (em > best_e) {
            best_e = em;
            best_m = m;
        }
    }
    out.p_access = 1.0f - none;
    out.model = static_cast<std::uint8_t>(best_m);
    out.forecast = best_e;
    out.proven = lc->proven;
    const float believed =
        lc->trust >= 1.0f ? best_e : lc->base_accesses + lc->trust * (best_e - lc->base_accesses);
    out.value = believed * static_cast<float>(lc->priority);

    // Best destination: the tier maximising value x latency saved - move cost.
    const double wf = out.write_fraction;
    const double here = ctx.latency(out.current, wf);
    double best_gain = 0;
    out.best = out.current;
    for (TierId t : ctx.tiers) {
        if (t == out.current) continue;
        const double gain = out.value * (here - ctx.latency(t, wf)) -
                            ctx.move_cost_factor * ctx.move_cost_us[out.current * ctx.stride + t];
        if (gain > best_gain) {
            best_gain = gain;
            out.best = t;
        }
    }
    out.gain_us = static_cast<float>(best_gain);
    return out;
}

namespace {

struct ScoreBody {
    const ExtentTable* table;
    const ScoringContext* ctx;
    float min_value;
    std::vector<ExtentScore> out;

    ScoreBody(const ExtentTable& t, const ScoringContext& c, float m)
        : table(&t), ctx(&c), min_value(m) {}

    void operator()(const tbb::blocked_range<std::size_t>& r) {
        LunId last_lun = 0;
        const LunContext* lc = nullptr;
        for (std::size_t i = r.begin(); i != r.end(); ++i) {
            const ExtentStats& s = table->slot(i);
            if (s.empty()) continue;
            const LunId lun = key_lun(s.key);
            if (lc == nullptr || lun != last_lun) {
                lc = &lun_context(*ctx, lun);
                last_lun = lun;
            }
            ExtentScore sc = score_extent(s, *ctx, lc);
            if (sc.value > min_value || sc.forecast > min_value || sc.current != sc.home)
                out.push_back(sc);
        }
    }
};

}  // namespace

void CostBenefit::score(const ExtentTable& table, const ScoringContext& ctx, float min_value,
                        bool parallel, std::vector<ExtentScore>& out) {
    if (!parallel) {
        ScoreBody body(table, ctx, min_value);
        body(tbb::blocked_range<std::size_t>(0, table.capacity()));
        out = std::move(body.out);
        return;
    }
    // Fixed blocks scored in parallel into their own vectors, then copied in parallel to their
    // offsets: the result is in slot order, exactly what the serial path returns.
    constexpr std::size_t kBlock = 16384;
    const std::size_t n = table.capacity();
    const std::size_t blocks = (n + kBlock - 1) / kBlock;
    std::vector<std::vector<ExtentScore>> parts(blocks);
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, blocks, 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t b = r.begin(); b != r.end(); ++b) {
                ScoreBody body(table, ctx, min_value);
                body.out.reserve(kBlock);
                body(tbb::blocked_range<std::size_t>(b * kBlock, std::min(n, (b + 1) * kBlock)));
                parts[b] = std::move(body.out);
            }
        });
    std::vector<std::size_t> offset(blocks + 1, 0);
    for (std::size_t b = 0; b < blocks; ++b) offset[b + 1] = offset[b] + parts[b].size();
    out.resize(offset[blocks]);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t b = r.begin(); b != r.end(); ++b)
                              std::copy(parts[b].begin(), parts[b].end(), out.begin() + offset[b]);
                      });
}

}  // namespace rbdtier
