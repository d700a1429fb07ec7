#include "engine/lun_rounds.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "common/log.h"

namespace rbdtier {

namespace {
// The storage's home tier: LunStorage numbers its tiers from the home one (engine/lun_storage.h).
constexpr TierId kHomeTier = 0;
}  // namespace

// The policy's view of where the LUN's extents are: read from the storage, its use of each tier
// as the rounds count it (LunRounds::used_bytes_locked), the LUN's migrations the executor holds
// (and, where the count listed them, its extents away from home).
class LunRounds::View : public PlacementView {
public:
    View(const LunRounds& rounds, const std::vector<TierSpec>& specs,
         const std::vector<std::uint64_t>& used_bytes,
         const std::vector<std::pair<ExtentIndex, TierId>>* away = nullptr)
        : rounds_(rounds), specs_(specs), used_(used_bytes), away_(away) {}

    TierId tier_of(LunId, ExtentIndex extent) const override {
        return extent < storage().extents() ? storage().tier(extent) : kHomeTier;
    }
    TierId home_tier(LunId) const override { return kHomeTier; }
    std::uint64_t used_bytes(TierId tier) const override {
        return tier < used_.size() ? used_[tier] : 0;
    }
    const std::vector<TierSpec>& tiers() const override { return specs_; }
    std::uint64_t extent_bytes() const override { return storage().extent_bytes(); }
    std::uint64_t extents(LunId) const override { return storage().extents(); }
    void migrations_in_flight(
        const std::function<void(const MigrationOrder&)>& each) const override {
        const MigrationExecutor::Client& client = rounds_;
        for (const MigrationOrder& o : rounds_.executor_->pending(client)) each(o);
    }
    void away_from_home(LunId lun,
                        const std::function<void(ExtentIndex, TierId)>& each) const override {
        if (away_ == nullptr) return PlacementView::away_from_home(lun, each);
        for (const auto& [extent, tier] : *away_) each(extent, tier);
    }

private:
    const LunStorage& storage() const { return rounds_.storage_; }

    const LunRounds& rounds_;
    const std::vector<TierSpec>& specs_;
    const std::vector<std::uint64_t>& used_;
    const std::vector<std::pair<ExtentIndex, TierId>>* away_;  // null: not listed
};

namespace {
// Per tier id: the capacity the admission holds it to (0 = unlimited).
std::vector<std::uint64_t> capacities(const std::vector<TierSpec>& specs) {
    std::vector<std::uint64_t> out;
    out.reserve(specs.size());
    for (const TierSpec& s : specs) out.push_back(s.capacity_bytes);
    return out;
}

// The admission's configuration: the storage's pools, in the gateway's tenant ledger.
AdmissionConfig admission_config(const LunStorage& storage, std::size_t tiers,
                                 const LunRoundsOptions& options) {
    AdmissionConfig config;
    config.extent_bytes = storage.extent_bytes();
    for (std::size_t t = 0; t < tiers; ++t)
        config.pools.push_back(storage.tier_name(static_cast<TierId>(t)));
    config.tenants = options.tenants ? options.tenants : TenantLedger::process();
    return config;
}
}  // namespace

LunRounds::LunRounds(LunStorage& storage, std::vector<TierSpec> specs,
                     std::unique_ptr<PlacementPolicy> policy, LunRoundsOptions options)
    : storage_(storage),
      specs_(std::move(specs)),
      policy_(std::move(policy)),
      options_(options),
      epoch_(std::chrono::steady_clock::now()),
      ring_(options.event_ring),
      own_executor_(!options.executor),
      executor_(options.executor ? options.executor
                                 : std::make_shared<MigrationExecutor>(
                                       options.budget ? options.budget
                                                      : std::make_shared<GatewayBudget>(
                                                            options.bandwidth_bytes_per_s, 1),
                                       0)),
      budget_(executor_->budget()),
      pins_(storage_.extents(), specs_.size(), kHomeTier),
      admission_(admission_config(storage_, specs_.size(), options_), capacities(specs_)),
      round_us_(options.round_us) {
    stats_.extents_in_tier = count_extents(placement_epoch_);
    admission_.replace_placement(options_.lun, kHomeTier, stats_.extents_in_tier);
    admission_.set_tenant(options_.lun, options_.tenant, options_.name_in_tenant);
}

std::vector<std::uint64_t> LunRounds::count_extents(
    std::uint64_t& epoch, std::vector<std::pair<ExtentIndex, TierId>>* away) const {
    epoch = storage_.placement_epoch();  // first: a change during the count shows next time
    std::vector<std::uint64_t> counts(specs_.size(), 0);
    const std::uint64_t extents = storage_.extents();
    for (std::uint64_t e = 0; e < extents; ++e) {
        const auto t = storage_.tier(e);
        if (t < counts.size()) ++counts[t];
        if (away != nullptr && t != kHomeTier) away->emplace_back(e, t);
    }
    return counts;
}

void LunRounds::follow_placement(std::uint64_t now) {
    if (storage_.placement_epoch() == placement_epoch_) return;
    const std::uint64_t extents = storage_.extents();
    std::vector<std::pair<ExtentIndex, TierId>> away;
    auto counts = count_extents(placement_epoch_, &away);
    std::vector<std::uint64_t> before;
    std::vector<TierSpec> tiers;
    std::vector<std::uint64_t> used;
    {
        std::lock_guard lock(mutex_);
        before = std::exchange(stats_.extents_in_tier, counts);
        admission_.replace_placement(options_.lun, kHomeTier, counts);
        pins_.grow(extents);
        tiers = effective_tiers_locked();
        used = used_bytes_locked();
    }
    if (before != counts) {
        RBDTIER_LOG_INFO(storage_.lun_name(), [&](log::Emitter& line) {
            line << "placement changed by another hand (map reloaded, LUN taken over or "
                    "grown): extents per pool now";
            for (std::size_t t = 0; t < counts.size(); ++t)
                line << (t == 0 ? " " : ", ") << storage_.tier_name(t) << ' ' << counts[t]
                     << " (was " << before[t] << ')';
        });
    }
    const View view(*this, tiers, used, &away);
    policy_->placement_changed(options_.lun, now, view);
}

double LunRounds::budget_use(std::uint64_t window_us) const {
    const double allowed = bandwidth() * static_cast<double>(window_us) / 1e6;
    if (!(allowed > 0)) return 0;
    const auto now_unix_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    std::uint64_t bytes = 0;
    std::lock_guard lock(mutex_);
    if (!history_) return 0;
    for (auto it = history_->rbegin(); it != history_->rend(); ++it) {
        const std::uint64_t end_us = it->start_unix_ms * 1000 + it->duration_us;
        if (end_us + window_us < now_unix_us) break;  // older ones ended before the window
        if (it->outcome == "moved") bytes += it->bytes;
    }
    return static_cast<double>(bytes) / allowed;
}

LunRounds::~LunRounds() {
    stop();
}

void LunRounds::start() {
    std::lock_guard lock(registration_mutex_);
    if (registration_) return;
    stop_requested_.store(false);
    if (!driver_) driver_ = options_.driver ? options_.driver : RoundDriver::shared();
    // The first round is due at once, the next ones round_us after each one ended (a quiet
    // round's at least kQuietRoundUs after).
    registration_ = driver_->add([this] { return run_round(); });
}

void LunRounds::stop() {
    stop_requested_.store(true);
    std::optional<RoundDriver::Id> registration;
    {
        std::lock_guard lock(registration_mutex_);
        registration = std::exchange(registration_, std::nullopt);
    }
    // Waits for the round in progress, which may need registration_mutex_ until it ends.
    if (registration) driver_->remove(*registration);
    // No round submits any more: what waits leaves the queue, and the move in progress ends.
    executor_->stop(*this);
}

void LunRounds::set_paused(bool paused) {
    paused_.store(paused);
    if (!paused) return;
    // What waits leaves the queue; the move in progress ends as it would.
    std::lock_guard policy_lock(policy_mutex_);
    withdraw_locked(now_us());
}

std::vector<MigrationExecutor::Submitted> LunRounds::withdraw_locked(std::uint64_t now) {
    auto withdrawn = executor_->withdraw(*this);
    for (const MigrationExecutor::Submitted& w : withdrawn)
        if (!w.pin) policy_->dropped(w.order, now);
    return withdrawn;
}

void LunRounds::waited_for_budget(const std::vector<MigrationOrder>& orders) {
    if (orders.empty()) return;
    const MigrationOrder& first = orders.front();
    RBDTIER_LOG_LIMITED(log::Level::kDebug, storage_.lun_name(),
                        "extent " << first.extent << " to " << storage_.tier_name(first.to)
                                  << " waits: the migration budget ("
                                  << budget_->bandwidth() / (1 << 20)
                                  << " MiB/s, shared by the gateway's tiered LUNs) did not grant "
                                     "it within its round; "
                                  << orders.size() - 1 << " more orders wait with it");
    std::lock_guard lock(mutex_);
    stats_.deferred_bandwidth += orders.size();
}

const char* to_string(RoundOutcome outcome) {
    switch (outcome) {
        case RoundOutcome::kNoRound:
            return "no_round";
        case RoundOutcome::kMoved:
            return "moved";
        case RoundOutcome::kNothingToMove:
            return "nothing_to_move";
        case RoundOutcome::kPaused:
            return "paused";
        case RoundOutcome::kNotOwner:
            return "not_owner";
        case RoundOutcome::kBudget:
            return "budget";
        case RoundOutcome::kRefused:
            return "refused";
        case RoundOutcome::kFailed:
            return "failed";
    }
    return "unknown";
}

void LunRounds::settle_outcome_locked(std::size_t waited) {
    if (!outcome_pending_) return;
    outcome_pending_ = false;
    stats_.last_round = submitted_.moved > 0     ? RoundOutcome::kMoved
                        : waited > 0             ? RoundOutcome::kBudget
                        : submitted_.failed > 0  ? RoundOutcome::kFailed
                        : submitted_.refused > 0 ? RoundOutcome::kRefused
                                                 : RoundOutcome::kNothingToMove;
}

std::uint64_t LunRounds::run_round() {
    const bool quiet = quiet_round();
    const std::uint64_t round_us = round_us_.load();  // the round hook may have changed it
    return quiet ? std::max(round_us, kQuietRoundUs) : round_us;
}

bool LunRounds::quiet_round() {
    // What the policy logs without naming a LUN (it knows it by number) is about this one.
    const log::LunScope scope(storage_.lun_name());
    if (round_hook_) round_hook_();
    // Pools and tenant first: it asks the cluster, and inspect() must not wait for that.
    if (!paused_.load()) sample_resources(now_us());
    std::unique_lock policy_lock(policy_mutex_);
    IoEvent event;
    std::uint64_t events = 0;
    while (ring_.try_pop(event)) {
        policy_->observe(event);
        note_served(event);
        ++events;
    }
    const std::uint64_t now = now_us();
    {
        std::lock_guard lock(mutex_);
        ++stats_.rounds;
        stats_.events += events;
        stats_.dropped_events = dropped_.load(std::memory_order_relaxed);
        measure_served_locked();
    }
    if (const auto channel = channel_to_tell()) policy_->channel_changed(*channel, now);
    if (paused_.load()) {
        follow_placement(now);
        policy_->unplanned_round(now);
        std::lock_guard lock(mutex_);
        outcome_pending_ = false;
        stats_.last_round = RoundOutcome::kPaused;
        return events == 0;
    }
    // Asked first: taking the LUN over reloads the map and may reroute extents.
    const bool owner = !options_.may_plan || options_.may_plan();
    follow_placement(now);
    // The last round's orders not started yet are replaced by this round's plan (none if
    // another gateway owns the LUN): the policy hears them dropped before it plans again.
    const auto withdrawn = withdraw_locked(now);
    if (!own_executor_) {
        std::vector<MigrationOrder> waited;
        for (const MigrationExecutor::Submitted& w : withdrawn) waited.push_back(w.order);
        waited_for_budget(waited);
    }
    {
        std::lock_guard lock(mutex_);
        settle_outcome_locked(withdrawn.size());
    }
    if (!owner) {
        policy_->unplanned_round(now);
        not_owner_round();
        return events == 0;
    }

    std::vector<std::uint64_t> used;
    std::vector<TierSpec> tiers;
    double weight = 1;  // the tenant's bandwidth weight, as last sampled
    {
        std::lock_guard lock(mutex_);
        used = used_bytes_locked();
        tiers = effective_tiers_locked();
        if (tenant_room_ && tenant_room_->tenant_found) weight = tenant_room_->bandwidth_weight;
    }
    const View view(*this, tiers, used);
    auto planned = policy_->plan(now, view);
    // Pin orders first; the policy hears at once of its orders that pins overrule.
    std::vector<MigrationOrder> overruled;
    std::size_t pin_orders = 0;
    const auto orders = with_pins(std::move(planned), budget_->bandwidth(), pin_orders, overruled);
    for (const MigrationOrder& o : overruled) policy_->dropped(o, now);
    // Every order waits in the gateway's queue with the LUN's tenant and weight and its net
    // benefit (pin orders, an admin's: the highest); the executor carries each out when the budget
    // grants it (carry_out).
    // Orders that could never start (not this LUN's, the extent not where they say, pinned
    // elsewhere) are dropped at once rather than queued; the rest is checked again when it
    // starts.
    std::vector<bool> start(orders.size());
    bool any = false;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        start[i] = startable(orders[i]);
        if (!start[i] && i >= pin_orders) policy_->dropped(orders[i], now);
        any = any || start[i];
    }
    // Only now, with something to move, whether it may (for the live gateway a round trip).
    if (any && options_.may_migrate && !options_.may_migrate()) {
        for (std::size_t i = pin_orders; i < orders.size(); ++i)
            if (start[i]) policy_->dropped(orders[i], now);
        not_owner_round();
        return events == 0;
    }
    const std::uint64_t bytes = storage_.extent_bytes();
    {
        std::lock_guard lock(mutex_);
        submitted_ = {};
        outcome_pending_ = true;
    }
    std::size_t submitted = 0;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        if (!start[i]) continue;
        const bool pin = i < pin_orders;
        const double benefit = pin ? std::numeric_limits<double>::max() : orders[i].net_benefit;
        executor_->submit(*this, BudgetRequest{options_.tenant, weight, benefit, bytes}, orders[i],
                          pin);
        ++submitted;
    }
    policy_lock.unlock();
    // A budget of the LUN's own: what it grants now is carried out in this round.
    if (own_executor_) {
        executor_->run_granted();
        const auto waited = executor_->pending(*this);
        waited_for_budget(waited);
        std::lock_guard lock(mutex_);
        settle_outcome_locked(waited.size());
    }
    return events == 0 && submitted == 0;
}

void LunRounds::not_owner_round() {
    std::lock_guard lock(mutex_);
    ++stats_.rounds_not_owner;
    outcome_pending_ = false;
    stats_.last_round = RoundOutcome::kNotOwner;
}

std::optional<ExtentPlace> LunRounds::place_of(const MigrationOrder& order) const {
    if (order.lun != options_.lun || order.extent >= storage_.extents()) return std::nullopt;
    return ExtentPlace{storage_.tier(order.extent), kHomeTier, false};
}

bool LunRounds::startable(const MigrationOrder& order) const {
    const auto place = place_of(order);
    std::lock_guard lock(mutex_);
    return place && admission_.never_startable(order, *place, &pins_) == Refusal::kNone;
}

bool LunRounds::carry_out(const MigrationOrder& order, bool pin) {
    const log::LunScope scope(storage_.lun_name());
    std::unique_lock lock(mutex_);
    auto dropped = [&] {
        lock.unlock();
        if (pin) return false;
        std::lock_guard policy_lock(policy_mutex_);
        policy_->dropped(order, now_us());
        return false;
    };
    // Paused or stopping since it was planned, or this gateway gave the LUN up (or found it
    // taken) since: it does not start.
    if (paused_.load() || stop_requested_.load() || !storage_.owns_extents()) return dropped();
    // Where the extent is now, and the pins and room now: it may have moved or been pinned
    // since the round planned it.
    const auto place = place_of(order);
    if (!place || admission_.never_startable(order, *place, &pins_) != Refusal::kNone)
        return dropped();
    const Refusal refusal = admission_.admit(order, *place, now_us(), &pins_);
    ++stats_.orders;
    if (refusal != Refusal::kNone) {
        refused_locked(order, refusal);
        ++submitted_.refused;
        return dropped();
    }
    MigrationRecord record;
    record.reason = order.reason;
    lock.unlock();  // the copy takes milliseconds: readers of stats must not wait for it
    const std::uint64_t started = now_us();
    const bool moved = storage_.migrate(order.extent, order.to, record);
    const std::uint64_t ended = now_us();
    if (moved) {
        std::lock_guard policy_lock(policy_mutex_);
        policy_->migrated(order, ended);
    }
    lock.lock();
    if (moved) {
        measured_.migrated(storage_.extent_bytes(), ended - started);
        moved_.push_back({order.extent, order.from, ended});
        if (!admission_.completed(order, kHomeTier, ended)) {
            RBDTIER_LOG_WARNING(storage_.lun_name(),
                                "extent " << order.extent << " left "
                                          << storage_.tier_name(order.from)
                                          << " but the admission counted nothing there");
        }
        ++stats_.moved;
        ++submitted_.moved;
        stats_.bytes_moved += record.bytes;
        --stats_.extents_in_tier[order.from];
        ++stats_.extents_in_tier[order.to];
    } else {
        admission_.abandoned(order, 0);
        ++stats_.failed;
        ++submitted_.failed;
    }
    if (!history_) history_.emplace();
    history_->push_back(std::move(record));
    if (history_->size() > options_.history) history_->pop_front();
    return true;
}

std::vector<MigrationOrder> LunRounds::with_pins(std::vector<MigrationOrder> orders,
                                                 double budget_bytes, std::size_t& pin_orders,
                                                 std::vector<MigrationOrder>& overruled) const {
    pin_orders = 0;
    PinTable pins(0, 0);
    {
        std::lock_guard lock(mutex_);
        if (pins_.empty()) return orders;
        pins = pins_;
    }
    // Enough pin orders to use the budget (one more shows in the queue what waits for it).
    const auto most = static_cast<std::size_t>(budget_bytes / storage_.extent_bytes()) + 1;
    const std::size_t planned = orders.size();
    auto out = pins.with_pins(
        options_.lun, std::move(orders), [this](ExtentIndex e) { return storage_.tier(e); }, most,
        specs_, &overruled);
    pin_orders = out.size() - (planned - overruled.size());
    return out;
}

std::optional<AdmissionError> LunRounds::pin(ExtentIndex first, std::uint64_t count, TierId tier) {
    std::lock_guard lock(mutex_);
    return pins_.pin(first, count, tier);
}

void LunRounds::set_home_pinned(bool pinned, std::optional<std::uint64_t> if_version) {
    std::lock_guard lock(mutex_);
    pins_.set_home_pinned(pinned, if_version);
}

bool LunRounds::home_pinned() const {
    std::lock_guard lock(mutex_);
    return pins_.home_pinned();
}

std::uint64_t LunRounds::home_pin_version() const {
    std::lock_guard lock(mutex_);
    return pins_.home_pin_version();
}

void LunRounds::unpin(ExtentIndex first, std::uint64_t count) {
    std::lock_guard lock(mutex_);
    pins_.unpin(first, count);
}

void LunRounds::replace_pins(const std::vector<PinnedRange>& ranges,
                             std::optional<std::uint64_t> if_version) {
    std::lock_guard lock(mutex_);
    pins_.replace(ranges, if_version);
}

std::uint64_t LunRounds::pins_version() const {
    std::lock_guard lock(mutex_);
    return pins_.pins_version();
}

std::vector<PinnedRange> LunRounds::pins() const {
    std::lock_guard lock(mutex_);
    return pins_.ranges();
}

std::vector<MigrationOrder> LunRounds::queue() const {
    return executor_->pending(*this);
}

void LunRounds::inspect(
    const std::function<void(const PlacementPolicy&, const PlacementView&)>& fn) const {
    std::lock_guard policy_lock(policy_mutex_);
    std::vector<std::uint64_t> used;
    std::vector<TierSpec> tiers;
    {
        std::lock_guard lock(mutex_);
        used = used_bytes_locked();
        tiers = effective_tiers_locked();
    }
    const View view(*this, tiers, used);
    fn(*policy_, view);
}

LunRoundsStats LunRounds::stats() const {
    std::lock_guard lock(mutex_);
    LunRoundsStats s = stats_;
    s.dropped_events = dropped_.load(std::memory_order_relaxed);
    return s;
}

std::vector<MigrationRecord> LunRounds::history() const {
    std::lock_guard lock(mutex_);
    if (!history_) return {};
    return {history_->begin(), history_->end()};
}

std::vector<MigrationRecord> LunRounds::history(std::size_t last) const {
    std::lock_guard lock(mutex_);
    if (!history_) return {};
    const std::size_t skip = history_->size() > last ? history_->size() - last : 0;
    return {history_->begin() + static_cast<std::ptrdiff_t>(skip), history_->end()};
}

std::vector<bool> LunRounds::pools_full() const {
    std::lock_guard lock(mutex_);
    std::vector<bool> full(specs_.size());
    for (std::size_t t = 0; t < full.size(); ++t)
        full[t] = admission_.pool_full(static_cast<TierId>(t));
    return full;
}

void LunRounds::sample_resources(std::uint64_t now) {
    if (now < next_sample_us_) return;
    std::optional<ResourceReading> reading = storage_.sample_resources();
    if (!reading) return;  // the storage samples nothing
    next_sample_us_ = now + options_.resource_interval_us;
    std::optional<ResourceSample> sample = std::move(reading->pools);
    std::optional<TenantRoom> room = std::move(reading->tenant);
    std::string problem;
    if (!reading->tenant_problem.empty()) problem = "tenant: " + reading->tenant_problem;
    std::unique_lock lock(mutex_);
    if (room && (!tenant_room_ || tenant_room_->tenant_found != room->tenant_found ||
                 tenant_room_->quota != room->quota ||
                 tenant_room_->bandwidth_weight != room->bandwidth_weight)) {
        RBDTIER_LOG_INFO(storage_.lun_name(), [&room](log::Emitter& line) {
            if (!room->tenant_found) {
                line << "tenant not found: no quota, bandwidth weight " << room->bandwidth_weight;
                return;
            }
            line << "tenant's quota:";
            if (room->quota.empty()) line << " none";
            const char* separator = " ";
            for (const auto& [pool, bytes] : room->quota) {
                line << separator << pool << ' ' << bytes << " bytes";
                separator = ", ";
            }
            line << "; bandwidth weight " << room->bandwidth_weight;
        });
    }
    ++stats_.resource_samples;
    if (problem != stats_.resource_problem) {
        if (problem.empty()) {
            RBDTIER_LOG_INFO(storage_.lun_name(), "pools and tenant sampled again");
        } else {
            RBDTIER_LOG_WARNING(storage_.lun_name(),
                                "sampling pools and tenant: " << problem
                                                              << " (the last known room "
                                                                 "stays in force)");
        }
    }
    stats_.resource_problem = problem;
    if (sample) {
        for (std::size_t t = 0; t < specs_.size() && t < sample->pools.size(); ++t) {
            const double ratio = t < options_.pool_full_ratio.size() ? options_.pool_full_ratio[t]
                                                                     : kDefaultPoolFullRatio;
            admission_.set_pool_full(static_cast<TierId>(t),
                                     sample->pools[t].full(ratio, storage_.extent_bytes()));
        }
        resources_ = std::move(sample);
    }
    if (room) {
        // The tenant's quotas, and what its LUNs outside the ledger hold.
        admission_.tenants().set_quotas(options_.tenant, room->quota);
        admission_.tenants().set_measured(options_.tenant, room->luns);
        tenant_room_ = std::move(room);
    }
}

void LunRounds::replace_policy(std::unique_ptr<PlacementPolicy> policy, std::uint64_t round_us) {
    std::lock_guard policy_lock(policy_mutex_);
    policy_ = std::move(policy);
    told_channel_.reset();
    round_us_.store(round_us);
}

void LunRounds::note_served(const IoEvent& event) {
    if (!LunMeasurements::counts(event.op, event.length, event.latency_us)) return;
    const std::uint64_t bytes = storage_.extent_bytes();
    const ExtentIndex extent = event.offset / bytes;
    if (extent != (event.offset + std::max<std::uint32_t>(event.length, 1) - 1) / bytes ||
        extent >= storage_.extents())
        return;
    served_.push_back({extent, storage_.tier(extent), event.op, event.latency_us, event.time_us});
}

void LunRounds::measure_served_locked() {
    // The tiers were read after these migrations began: one that ended after a command moved
    // its extent away from where the command found it.
    for (const Served& s : served_) {
        TierId tier = s.tier;
        for (const Moved& m : moved_)
            if (m.extent == s.extent && m.at_us > s.time_us) {
                tier = m.from;
                break;
            }
        measured_.served(tier, s.op, s.latency_us);
    }
    served_.clear();
    moved_.clear();
}

std::optional<ChannelSpec> LunRounds::channel_to_tell() {
    ChannelSpec channel;
    {
        std::lock_guard lock(mutex_);
        if (!measured_.bandwidth_measured()) return std::nullopt;
        channel.bandwidth_bytes_per_s = measured_.bandwidth(budget_->bandwidth());
    }
    channel.max_concurrent = MigrationExecutor::kMigrationsPerLun;
    channel.extent_bytes = storage_.extent_bytes();
    if (told_channel_ &&
        std::abs(channel.bandwidth_bytes_per_s - told_channel_->bandwidth_bytes_per_s) <=
            kChannelChange * told_channel_->bandwidth_bytes_per_s)
        return std::nullopt;
    told_channel_ = channel;
    return channel;
}

void LunRounds::refused_locked(const MigrationOrder& order, Refusal refusal) {
    const std::string& pool = storage_.tier_name(order.to);
    switch (refusal) {
        case Refusal::kCapacity:
            ++stats_.refused_capacity;
            RBDTIER_LOG_LIMITED(log::Level::kInfo, storage_.lun_name(),
                                "extent " << order.extent << " not moved to " << pool
                                          << ": the tier's capacity ("
                                          << specs_[order.to].capacity_bytes << " bytes) is used");
            return;
        case Refusal::kPoolFull:
            ++stats_.refused_pool_full;
            RBDTIER_LOG_LIMITED(
                log::Level::kWarning, storage_.lun_name(),
                "extent " << order.extent << " not moved to " << pool << ": the pool is full");
            return;
        case Refusal::kQuota: {
            ++stats_.refused_tenant_quota;
            std::uint64_t quota = 0;
            if (tenant_room_) {
                if (auto q = tenant_room_->quota.find(pool); q != tenant_room_->quota.end())
                    quota = q->second;
            }
            RBDTIER_LOG_LIMITED(log::Level::kWarning, storage_.lun_name(),
                                "extent " << order.extent << " not moved to " << pool
                                          << ": the tenant's quota there (" << quota
                                          << " bytes) is used");
            return;
        }
        default:
            RBDTIER_LOG_LIMITED(log::Level::kInfo, storage_.lun_name(),
                                "extent " << order.extent << " not moved to " << pool << ": "
                                          << refusal_name(refusal));
            return;
    }
}

std::vector<std::uint64_t> LunRounds::used_bytes_locked() const {
    std::vector<std::uint64_t> used(specs_.size(), 0);
    for (std::size_t t = 0; t < used.size(); ++t) {
        used[t] = t == kHomeTier ? stats_.extents_in_tier[t] * storage_.extent_bytes()
                                 : admission_.used(static_cast<TierId>(t));
    }
    return used;
}

std::vector<TierSpec> LunRounds::effective_tiers_locked() const {
    std::vector<TierSpec> tiers = admission_.effective_tiers(specs_, options_.lun, kHomeTier);
    measured_.apply(tiers);
    return tiers;
}

std::vector<TierSpec> LunRounds::effective_tiers() const {
    std::lock_guard lock(mutex_);
    return effective_tiers_locked();
}

std::optional<ResourceSample> LunRounds::resources() const {
    std::lock_guard lock(mutex_);
    return resources_;
}

std::optional<TenantRoom> LunRounds::tenant_room() const {
    std::lock_guard lock(mutex_);
    return tenant_room_;
}

}  // namespace rbdtier
