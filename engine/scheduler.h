// Scheduler: turns scored extents into migration orders under every limit.
//
// Candidates (extents whose best tier is faster than where they are, with net gain above the
// threshold and at least `min_accesses` credible accesses within H) are served best-first per
// tenant, and tenants are served in weighted fair order
// (the tenant with the fewest bytes granted per unit of bandwidth weight goes next). Limits:
//  - bandwidth: a token bucket (engine/token_bucket.h) refilled at the migration bandwidth
//    (depth burst_bytes, by default one second of it); every order spends one extent of tokens;
//  - concurrency: at most max_concurrent_migrations orders in flight: the scheduler's own (an
//    order leaves the flight when completed() or dropped() is called, or, once the executor no
//    longer holds it, after an expiry: the executor lost it) and the other migrations the
//    executor holds (`held`: an admin's pin, another planner's order). Every migration in
//    flight keeps its extent from being ordered again and counts against its tenant's quota;
//  - tier capacity and tenant quota per tier: never exceeded by what the engine orders, and
//    counted by the executors' admission's own rule (a PlanningLedger of engine/admission.h per
//    round: the executor's bytes away from home, the placement's per tenant, the destinations of
//    the orders in flight; a move home needs no room), so a round proposes no order the
//    admission would refuse for room, and holds back none it would admit, in the same state;
//  - hysteresis: an extent moved less than min_residency ago is not moved again (unless
//    feedback marked its promotion wasted; a Hysteresis ledger, as the admission keeps), and
//    displacing a resident requires the newcomer to be worth (1 + benefit_margin) times what the
//    resident is worth there, and more than the resident by displacement_z Poisson standard
//    deviations of the two forecasts.
// When the destination is full (or the tenant's quota there is), the coldest resident (of that
// tenant, for quota) is demoted (to a slower tier that has room and is faster than its home,
// else home) if that pays: the displaced value is part of the cost. An
// extent whose LUN's forecast skill is not yet measured (ExtentScore::proven) fills free room
// but displaces nobody.
// Executors free a tier's space only when a migration out of it completes, so the promotion
// waits for a later round (it will still rank high); orders come back best-first.
// schedule() reads only the residents (scores away from home) and the candidates among `scores`
// and breaks ties by their order there: any subsequence that holds all of them, in order, gets the
// same orders (a round passes just those).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/admission.h"
#include "engine/cost_benefit.h"
#include "engine/engine_config.h"
#include "engine/placement_state.h"
#include "engine/resource_model.h"
#include "engine/tenant.h"
#include "engine/token_bucket.h"

namespace rbdtier {

struct SchedulerStats {
    std::uint64_t orders = 0;
    std::uint64_t promotions = 0;
    std::uint64_t demotions = 0;
    std::uint64_t displacements = 0;
    std::uint64_t expired = 0;         // orders never reported completed
    std::uint64_t skipped_budget = 0;  // candidates left for lack of tokens/concurrency
    std::uint64_t skipped_hysteresis = 0;
    std::uint64_t skipped_quota = 0;
};

class Scheduler {
public:
    Scheduler(const EngineConfig& config, const TenantTable& tenants);

    // `held`: the migrations the executor holds now, waiting or in progress, whoever ordered
    // them (PlacementView::migrations_in_flight).
    std::vector<MigrationOrder> schedule(std::uint64_t now_us, std::span<const ExtentScore> scores,
                                         const ScoringContext& ctx, const ResourceModel& resources,
                                         const PlacementState& placement, double threshold_us,
                                         double min_accesses,
                                         std::span<const MigrationOrder> held = {},
                                         std::vector<std::uint8_t>* order_models = nullptr);
    // The executor completed `order` (or reported it finished).
    void completed(const MigrationOrder& order, std::uint64_t now_us);
    // The executor did not take `order`: it leaves the flight and its tokens come back.
    void dropped(const MigrationOrder& order);
    // Feedback: the promotion of `key` was wasted; it may leave before its minimum residency.
    void release_early(ExtentKey key) { hysteresis_.release_early(key); }

    std::size_t in_flight() const { return in_flight_.size(); }
    bool in_flight(ExtentKey key) const { return in_flight_.count(key) != 0; }
    double tokens_bytes() const { return bucket_ ? bucket_->level() : 0; }
    const SchedulerStats& stats() const { return stats_; }
    std::uint64_t granted_bytes(TenantIndex t) const {
        return t < granted_total_.size() ? granted_total_[t] : 0;
    }

private:
    void refill(std::uint64_t now_us);

    EngineConfig config_;
    const TenantTable* tenants_;
    std::optional<TokenBucket> bucket_;  // from the first schedule()
    struct Flight {
        std::uint64_t expiry_us = 0;
        TenantIndex tenant = 0;
        TierId to = 0;
        TierId home = 0;  // of the extent: a move there counts against no quota
    };
    std::unordered_map<ExtentKey, Flight> in_flight_;
    Hysteresis hysteresis_;  // when each extent last completed a move
    std::vector<std::uint64_t> granted_total_;
    SchedulerStats stats_;
};

}  // namespace rbdtier
