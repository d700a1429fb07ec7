#include "engine/forecast/drift_predictor.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

void DriftPredictor::close_bucket(Lun& l) {
    if (l.n > 0) {
        const double mean = l.sum / l.n;
        const double var = std::max(0.0, l.sum2 / l.n - mean * mean);
        l.history[l.points % kHistory] = {static_cast<double>(l.bucket), mean, std::sqrt(var), l.n};
        ++l.points;
    }
    l.n = l.sum = l.sum2 = 0;
}

void DriftPredictor::observe(const IoEvent& e) {
    Lun& l = luns_[e.lun];
    const std::uint64_t b = e.time_us / bucket_us_;
    if (b > l.bucket) {
        close_bucket(l);
        l.bucket = b;
    }
    const double x = static_cast<double>(e.offset / extent_bytes_);
    l.n += 1;
    l.sum += x;
    l.sum2 += x * x;
}

DriftPredictor::Fit DriftPredictor::fit(LunId lun) const {
    Fit f;
    auto it = luns_.find(lun);
    if (it == luns_.end()) return f;
    const Lun& l = it->second;
    const std::size_t n = std::min(l.points, kHistory);
    if (n < 6) return f;
    double st = 0, sx = 0, stt = 0, stx = 0, sxx = 0, spread = 0, rate = 0;
    double last_t = -1;
    for (std::size_t i = 0; i < n; ++i) {
        const Point& p = l.history[i];
        st += p.bucket, sx += p.centroid, stt += p.bucket * p.bucket;
        stx += p.bucket * p.centroid, sxx += p.centroid * p.centroid;
        spread += p.spread, rate += p.count;
        if (p.bucket > last_t) {
            last_t = p.bucket;
            f.centroid = p.centroid;
        }
    }
    const double dn = static_cast<double>(n);
    const double vt = stt - st * st / dn, vx = sxx - sx * sx / dn, ctx = stx - st * sx / dn;
    if (vt <= 0 || vx <= 0) return f;
    f.speed = ctx / vt;
    f.r2 = ctx * ctx / (vt * vx);
    f.spread = spread / dn;
    // Rate per bucket over the buckets spanned (idle buckets count as zero).
    double first_t = last_t;
    for (std::size_t i = 0; i < n; ++i) first_t = std::min(first_t, l.history[i].bucket);
    f.rate = rate / std::max(1.0, last_t - first_t + 1);
    f.valid = true;
    return f;
}

void DriftPredictor::predict(std::uint64_t now_us, std::uint64_t horizon_us,
                             std::vector<ExtentForecast>& out) {
    for (auto& [lun, l] : luns_) {
        // A bucket that ended without a newer access is closed now.
        if (now_us / bucket_us_ > l.bucket && l.n > 0) close_bucket(l);
        const Fit f = fit(lun);
        if (!f.valid || f.r2 < min_r2_ || std::abs(f.speed) < 0.2) continue;
        const double half = std::max(1.0, 1.5 * f.spread);
        const double h_buckets = static_cast<double>(horizon_us) / static_cast<double>(bucket_us_);
        const double elapsed = static_cast<double>(now_us) / static_cast<double>(bucket_us_) -
                               (l.history[(l.points - 1) % kHistory].bucket + 0.5);
        const double now_c = f.centroid + f.speed * std::max(0.0, elapsed);
        const double dir = f.speed > 0 ? 1.0 : -1.0;
        const double front = now_c + dir * half;
        const double reach = now_c + f.speed * h_buckets + dir * half;
        const double per_bucket_extent = f.rate / (2 * half);
        const double covered_buckets = 2 * half / std::abs(f.speed);
        const double lo = std::min(front, reach), hi = std::max(front, reach);
        std::uint32_t emitted = 0;
        for (double x = std::ceil(std::max(0.0, lo)); x <= hi && emitted < max_ahead_;
             x += 1, ++emitted) {
            const double t_enter = std::abs(x - front) / std::abs(f.speed);  // buckets from now
            const double in_h = std::clamp(h_buckets - t_enter, 0.0, covered_buckets);
            // Urgency, as for recurrence: what the front reaches soon counts fully.
            const double lead = h_buckets / 4;
            const double urgency =
                t_enter <= lead
                    ? 1.0
                    : std::max(0.1, 1.0 - (t_enter - lead) / std::max(1e-9, h_buckets - lead));
            const double e = per_bucket_extent * in_h * urgency;
            if (e <= 0) continue;
            ExtentForecast ef;
            ef.key = make_extent_key(lun, static_cast<ExtentIndex>(x));
            ef.model = ModelId::kDrift;
            ef.forecast = {f.r2 * poisson_p_any(e), f.r2 * e};
            ef.eta_us =
                now_us + static_cast<std::uint64_t>(t_enter * static_cast<double>(bucket_us_));
            out.push_back(ef);
        }
    }
}

}  // namespace rbdtier
