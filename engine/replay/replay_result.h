// ReplayResult: what one policy achieved on one trace under one tier model.
//
// Shares are of I/Os (and bytes) served from each tier; an I/O spanning extents in several tiers
// is attributed to the tier of its first byte and costs the slowest part. A promotion is a
// completed migration to a tier faster (lower read latency) than the extent's home; it is wasted
// when the extent is not accessed in that tier before it leaves or the replay ends.
//   precision = useful promotions / (useful + wasted promotions)
//   recall    = (extent, round) pairs whose first access in the round found the extent already
//               in a tier faster than its home / all (extent, round) pairs with an access whose
//               home is not the fastest tier (how often the needed extent was there in time).
// Why a policy wins or loses:
//   wasted_promotion_bytes        bandwidth spent on promotions never used before they left
//   mean_promotion_wait_us        for promotions of an extent accessed while it sat in a tier not
//                                 faster than its home: from that first access to the completed
//                                 promotion (how late the policy reacts or how early it predicts)
//   slow_first_accesses           extent accesses served from a tier not faster than home,
//                                 the extent's first access of the trace (no placement policy
//                                 reacting to accesses could have served it faster)
//   slow_after_demotion           such accesses to an extent that was sent back from a faster
//                                 tier and not promoted since (what eviction gave away)
//   slow_after_demotion_10s       those of them within 10 s of the demotion (evicted too soon)
//   slow_within_round             the other such accesses within a round of the first slow
//                                 access the extent's promotion would answer (a burst that ends
//                                 before a policy that reacts at the next round can move it)
//   slow_before_promotion         the rest: to an extent accessed more than a round before and
//                                 not promoted since (the policy has not moved it yet, or never)
//   idle_rounds_without_promotion rounds that began with no migration in flight, followed a round
//                                 with accesses served slower than possible, and accepted no
//                                 promotion (bandwidth left unused while there was demand)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/placement_policy.h"

namespace rbdtier {

struct ReplayResult {
    std::string policy;
    std::uint64_t ios = 0;
    std::uint64_t bytes = 0;
    std::vector<std::string> tier_names;
    std::vector<std::uint64_t> ios_per_tier;
    std::vector<std::uint64_t> bytes_per_tier;
    std::uint64_t fast_ios = 0;  // served from a tier faster than the LUN's home
    double mean_latency_us = 0;
    double p50_latency_us = 0;
    double p99_latency_us = 0;

    std::uint64_t migrations = 0;  // completed
    std::uint64_t bytes_migrated = 0;
    std::uint64_t promotions = 0;
    std::uint64_t demotions = 0;
    std::uint64_t useful_promotions = 0;
    std::uint64_t wasted_promotions = 0;
    std::uint64_t unfinished_migrations = 0;  // still in flight at the end
    std::uint64_t wasted_promotion_bytes = 0;
    std::uint64_t promotion_wait_us_sum = 0;  // over promotions_after_wait
    std::uint64_t promotions_after_wait = 0;
    std::uint64_t idle_rounds_without_promotion = 0;
    std::uint64_t slow_first_accesses = 0;
    std::uint64_t slow_after_demotion = 0;
    std::uint64_t slow_after_demotion_10s = 0;
    std::uint64_t slow_within_round = 0;
    std::uint64_t slow_before_promotion = 0;

    std::uint64_t orders = 0;  // proposed by the policy
    std::uint64_t refused_capacity = 0;
    std::uint64_t refused_quota = 0;
    std::uint64_t refused_bandwidth = 0;
    std::uint64_t refused_concurrency = 0;
    std::uint64_t refused_invalid = 0;  // stale source, in flight, unknown tier, no-op

    std::uint64_t recall_hits = 0;
    std::uint64_t recall_needed = 0;
    std::uint64_t rounds = 0;
    std::uint64_t start_us = 0;  // time of the trace's first I/O
    std::uint64_t trace_duration_us = 0;
    double wall_seconds = 0;
    // Which candidate strategy each LUN followed, when the policy selects among several.
    std::optional<SelectionReport> selection;

    double fast_share() const { return ios ? static_cast<double>(fast_ios) / ios : 0.0; }
    double precision() const {
        const auto done = useful_promotions + wasted_promotions;
        return done ? static_cast<double>(useful_promotions) / done : 0.0;
    }
    double recall() const {
        return recall_needed ? static_cast<double>(recall_hits) / recall_needed : 0.0;
    }
    double mean_promotion_wait_us() const {
        return promotions_after_wait ? static_cast<double>(promotion_wait_us_sum) /
                                           static_cast<double>(promotions_after_wait)
                                     : 0.0;
    }
    std::uint64_t refused() const {
        return refused_capacity + refused_quota + refused_bandwidth + refused_concurrency +
               refused_invalid;
    }
};

}  // namespace rbdtier
