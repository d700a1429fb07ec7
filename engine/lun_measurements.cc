#include "engine/lun_measurements.h"

#include <algorithm>

namespace rbdtier {

void LunMeasurements::Mean::add(double x, double weight) {
    ++samples;
    value += std::max(weight, 1.0 / static_cast<double>(samples)) * (x - value);
}

void LunMeasurements::served(TierId tier, IoOp op, double latency_us) {
    std::vector<Mean>& means = op == IoOp::kRead ? read_ : write_;
    if (tier >= means.size()) means.resize(tier + 1u);
    means[tier].add(latency_us, kIoWeight);
}

void LunMeasurements::migrated(std::uint64_t bytes, std::uint64_t duration_us) {
    const double seconds = static_cast<double>(std::max<std::uint64_t>(duration_us, 1)) / 1e6;
    migration_rate_.add(static_cast<double>(bytes) / seconds, kMigrationWeight);
}

void LunMeasurements::apply(std::vector<TierSpec>& tiers) const {
    std::vector<double> reads(tiers.size());
    for (std::size_t t = 0; t < tiers.size(); ++t) {
        reads[t] = t < read_.size() && read_[t].samples >= kMinIoSamples ? read_[t].value
                                                                         : tiers[t].read_latency_us;
        if (t < write_.size() && write_[t].samples >= kMinIoSamples)
            tiers[t].write_latency_us = write_[t].value;
    }
    for (std::size_t a = 0; a < tiers.size(); ++a)
        for (std::size_t b = 0; b < tiers.size(); ++b)
            if (tiers[a].read_latency_us < tiers[b].read_latency_us && !(reads[a] < reads[b]))
                return;  // the measured reads would reorder the tiers
    for (std::size_t t = 0; t < tiers.size(); ++t) tiers[t].read_latency_us = reads[t];
}

double LunMeasurements::bandwidth(double budget) const {
    return bandwidth_measured() ? std::min(budget, migration_rate_.value) : budget;
}

}  // namespace rbdtier
