// StrategySelector: a placement policy that follows, per LUN, whichever candidate strategy is
// doing best on the live access stream.
//
// Each candidate (e.g. reactive promote-on-access with LRU eviction, decayed frequency ranking,
// forecast-driven placement) runs twice: a live instance that observes every I/O, is told every
// completed migration and plans every round against the real placement, and a ghost instance
// that places extents in a GhostPlacement: a shadow copy of the tiers (the real latencies, as the
// view says them each round, and capacities) in which its own orders are executed by a
// MigrationChannel with the real budget (the same executor model as the replay's; a live
// executor's measured channel once channel_changed() tells it). Every observed I/O is served by
// each ghost; its modelled latency is added, per LUN, to that candidate's cost, and so is the cost
// of every migration the ghost starts (one access of the source tier and one of the destination, or
// SelectorParams::migration_cost_us, times migration_charge), so a strategy that churns pays for
// its transfers, and its ghost channel delays its later
// orders as the real one would. Costs are decayed with a half-life (the window), and also with a
// short one (the recent cost). The ghosts plan at every round, as the LUN does; the selector weighs
// them once per period (SelectorParams::period_us, one second), whatever the round's length, so
// that its hysteresis is in time and I/Os, not in rounds: a LUN planned every quarter second
// switches on the same evidence, at the same time, as one planned every second. A LUN switches
// to the candidate with the lowest windowed cost only
// when that cost has been lower than its current candidate's by more than `switch_margin`, and its
// recent cost not higher by more than that margin (closer lately is a tie, as in the window), in
// every period with I/O of a streak in which it served the period's I/O
// (migrations included) at a lower cost in `confirm_periods` periods (periods where it did not hold
// the streak: a challenger that wins every few periods, as on recurring bursts, gets there; a burst
// long past, still in the windows, confirms nothing) that spans at least `confirm_ios` I/Os of the
// LUN (the periods and I/Os of the run of the leader or of the candidate switched to: those in
// which it was ahead by the margin and served the period cheaper, whether or not it led the
// window; two challengers that trade the lead of the window while both beat the current
// candidate each gather their own evidence), or
// over which (a near-idle LUN) the challenger has served the LUN cheaper by more than the
// switch would cost (SelectorParams::switch_charge: a handful of reads is no reason to re-place
// much data, a lead that pays for moving a few extents is),
// or in `fast_confirm_periods` such periods that span at least `fast_confirm_ios` I/Os (a burst;
// a streak whose leader changed, SelectorParams::streak_across_leaders, confirms by its lead only),
// and never before it has had I/O in `warmup_periods` periods (hysteresis: a switch costs
// migrations, so it must pay), but for one early exit from the first candidate when another one
// serves the LUN clearly better since their shadows parted and no worse over the window
// (SelectorParams::early_periods). Once confirmed, the LUN switches to the candidate that served
// it best lately (lowest recent cost) of those ahead of its current one in
// the window by the margin that also served the period better, which is not always the leader of
// the window; the real orders are the live orders of each LUN's candidate, and the orders of the
// others are dropped (told to them as such). A LUN starts with the first followable candidate. A
// candidate that is not followable (Candidate::followable false) is shadowed and measured like the
// others but never followed, however cheap its shadow: it is a yardstick, not a strategy. Probation
// (SelectorParams::references, candidates' names, followable or not): while the candidate a LUN
// follows is none of the references and has not served the LUN at a windowed cost lower than at
// least one reference's by `switch_margin` (after `warmup_periods`; over the window, or over what
// the two cost since the comparison below started: an empty fast tier fills the same way for a
// candidate and for a yardstick that fills free room, and those periods would dilute a lead that
// trades earn once it is full), its orders that move an extent
// to a slower tier (demotions, evictions) are dropped: it may fill free room in faster tiers but
// not trade extents, so a candidate that has not proven itself cannot churn the LUN's data.
// Probation is judged by what the LUN really runs as well: the selector keeps where the real
// extents are (as migrated() and placement_changed() tell it) and serves every observed I/O from
// there with the ghosts' model, real migrations charged as the ghosts' are. The two are compared
// from a common starting point: from the first period, since the LUN began to follow its candidate,
// in which the real tiers faster than its home hold as much as the candidate's shadow holds there
// (one extent short counts) and no real migration of the LUN ended. Before that the shadow leads by
// its head start alone: its channel started its fill sooner (a shadow fills from the rounds the LUN
// followed another candidate, and its migrations are charged when they start, the real ones when
// they end), and a shadow that runs exactly as the LUN does would leave probation on that lead.
// From then on, a LUN on probation whose candidate's shadow has served it cheaper than its real,
// restricted run by `proof_margin` and beyond noise (lead_beyond_noise(), at `proof_error`), over
// more than `warmup_periods` periods with I/O and at least `confirm_ios` I/Os, is out of
// probation: what the candidate would do with trades has proven better than what the LUN does
// without them. The lead is tested again every period, so the bound holds over all of them, not
// at one: a lead that is noise crosses a bound of a fixed number of deviations at some period of a
// thousand far more often than at any one. It stays out until it switches candidate (a candidate
// whose trades stop paying loses the LUN to one that serves it better, "none" included, and the
// next one starts on probation). So a candidate that fills the fast tier with the wrong extents
// first, or a load that moves before the windowed costs show a lead over the references, does not
// hold the LUN on a stale fast tier.
//
// selection() reports, per LUN, the rounds spent following each candidate and every switch.
// Single-threaded, as PlacementPolicy requires.
//
// Built at the first I/O: until the selector observes its first I/O, only the live instance of the
// first followable candidate exists (it plans the real orders of every LUN until then, as it
// would); the other live instances and every ghost are made at the first observe(), so an idle LUN
// costs one candidate, not two of each. Until then the selector keeps what they must be told: the
// tiers, usage and homes of the last round's view and, per LUN, where its extents are away from
// home (as placement_changed() and migrated() said). The instances made then are told that
// placement (placement_changed()), and, if a round was planned before, catch up with that last
// round: each ghost runs it (the channel starts then; its tiers are that round's) and each new live
// instance plans it, its orders told dropped. So a selector whose first round comes before its
// first I/O (the replay's) runs exactly as if every instance had been there from the start; one
// that had several idle rounds gives the later candidates only the last of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/extent_key.h"
#include "engine/migration_channel.h"
#include "engine/placement_policy.h"

namespace rbdtier {

// The lead (µs) a sum of per-I/O differences must exceed to be beyond noise at every round it is
// ever tested in, not at one: `spread` is the sum of their squares (µs²). Were the differences
// noise, each as likely either way (e.g. two placements of the same worth), their sum would
// exceed this bound at some round of all the rounds, however many, with a chance of at most
// `error` (0 < error < 1). The bound is sqrt((spread + scale) * (ln((spread + scale) / scale) +
// 2 ln(1 / error))), a normal-mixture bound (Robbins) on the self-normalized sum (de la Peña):
// at an error of one in ten thousand, about 4.8 deviations (the root of `spread`) for spreads of
// 5 to 100 times `scale` (µs², > 0: where the bound is tightest), 5.2 at 5,000 times, growing
// with the log of the spread as the looks accumulate, where a fixed number of deviations tested
// at every round is crossed by noise at some round far more often than at any one.
double lead_beyond_noise(double spread, double scale, double error);

// The latency (µs) `io` is served with from `placement`, as the selector models it: the slowest
// extent it touches, at its tier's read or write latency (0 for an extent of no known tier).
double modelled_service_us(const IoEvent& io, const PlacementView& placement);

// A shadow placement of all extents: where one candidate strategy would have put them.
class GhostPlacement final : public PlacementView {
public:
    GhostPlacement(std::unique_ptr<PlacementPolicy> policy, ChannelSpec channel);

    // Serves `io` as the real executor would from this placement; returns its latency (µs of
    // the slowest extent it touches) and shows the I/O to the ghost's policy. 0 (and nothing
    // shown) before the first round, when the tiers are not known yet.
    double serve(const IoEvent& io);
    // One planning round at `now_us`, as a live LUN's round runs (MigrationChannel::round):
    // completes due migrations, withdraws the last round's orders not started (the ghost policy
    // hears them dropped), then the policy plans against this placement (its migrations in
    // flight listed, their destinations counted in used_bytes()) and its orders start as the
    // channel allows. `real` gives the tiers (their latencies each round, the rest at the first)
    // and the LUNs' homes.
    void round(std::uint64_t now_us, const PlacementView& real);
    // The real channel is `channel` from `now_us` on (MigrationChannel::set_spec).
    void set_channel(const ChannelSpec& channel, std::uint64_t now_us);

    TierId tier_of(LunId lun, ExtentIndex extent) const override;
    TierId home_tier(LunId lun) const override;
    std::uint64_t used_bytes(TierId tier) const override;
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return extent_bytes_; }
    // The migrations its channel holds (at a plan: those in flight), as a live executor lists
    // them.
    void migrations_in_flight(
        const std::function<void(const MigrationOrder&)>& each) const override;

    const PlacementPolicy& policy() const { return *policy_; }

    // The price of one migration from `from` to `to` (µs), charged when it starts.
    using MigrationCost = std::function<double(const TierSpec& from, const TierSpec& to)>;
    void set_migration_cost(MigrationCost cost) { migration_cost_ = std::move(cost); }
    // The migration charges of the LUNs since the last call, emptied.
    std::unordered_map<LunId, double> take_charges();
    bool has_charges() const { return !charges_.empty(); }
    // Migrations the ghost has started.
    std::uint64_t migrations() const { return migrations_; }
    // The promotions that would bring LUN `lun`'s extents to where this ghost holds them in
    // tiers faster than its home, from where `real` holds them (one order per extent that is
    // elsewhere in `real`; in-flight ghost migrations count at their source).
    std::vector<MigrationOrder> promotions_to_follow(LunId lun, const PlacementView& real) const;

private:
    struct State {
        TierId tier = 0;
        bool in_flight = false;
    };
    void complete_until(std::uint64_t now_us);
    // What its channel asks of it (admit) and tells it (dropped, complete).
    MigrationChannel::Owner owner();
    bool admit(const MigrationOrder& order);  // whether it may start; reserves its room
    void complete(const MigrationOrder& order, std::uint64_t now_us);
    TierId home_or_default(LunId lun) const;

    std::unique_ptr<PlacementPolicy> policy_;
    ChannelSpec spec_;
    std::uint64_t extent_bytes_;
    std::optional<MigrationChannel> channel_;  // from the first round
    std::vector<TierSpec> tiers_;
    std::vector<std::uint64_t> used_;
    std::unordered_map<ExtentKey, State> extents_;
    std::unordered_map<LunId, TierId> homes_;
    TierId default_home_ = 0;
    MigrationCost migration_cost_;
    std::unordered_map<LunId, double> charges_;
    std::uint64_t migrations_ = 0;
};

// A placement policy that hands every observe, plan, round, migration, placement and channel call
// to `inner` (introspection is not handed on); a subclass overrides the calls it changes.
class ForwardingPolicy : public PlacementPolicy {
public:
    explicit ForwardingPolicy(std::unique_ptr<PlacementPolicy> inner) : inner_(std::move(inner)) {}

    std::string_view name() const override { return inner_->name(); }
    void observe(const IoEvent& io) override { inner_->observe(io); }
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override {
        return inner_->plan(now_us, view);
    }
    void unplanned_round(std::uint64_t now_us) override { inner_->unplanned_round(now_us); }
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override {
        inner_->migrated(order, now_us);
    }
    void dropped(const MigrationOrder& order, std::uint64_t now_us) override {
        inner_->dropped(order, now_us);
    }
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override {
        inner_->placement_changed(lun, now_us, view);
    }
    void channel_changed(const ChannelSpec& channel, std::uint64_t now_us) override {
        inner_->channel_changed(channel, now_us);
    }

protected:
    PlacementPolicy& inner() { return *inner_; }

private:
    std::unique_ptr<PlacementPolicy> inner_;
};

// A placement policy that runs `inner` but drops its orders that move an extent to a slower
// tier (told to `inner` as dropped): it fills free room in faster tiers and never trades extents.
// As a candidate that is never followed it is the yardstick of probation: trading pays where a
// strategy's shadow beats filling the free room and keeping it.
class FillOnly final : public ForwardingPolicy {
public:
    FillOnly(std::string name, std::unique_ptr<PlacementPolicy> inner);

    std::string_view name() const override { return name_; }
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;

private:
    std::string name_;
};

struct SelectorParams {
    double switch_margin = 0.03;                     // switch when better by more than this share
    std::uint64_t half_life_us = 600'000'000;        // of the windowed cost
    std::uint64_t recent_half_life_us = 10'000'000;  // of the recent cost
    // The selector weighs its candidates once per period of this length (µs), at the planning
    // round that ends nearest the period's end, whatever the length of the rounds: every count
    // below is of periods, every "served the period cheaper" is over one, so a LUN planned every
    // 0.25 s switches on the same evidence and at the same time as one planned every second.
    // Rounds as long as the period or longer are periods of their own.
    std::uint64_t period_us = 1'000'000;
    unsigned confirm_periods = 10;     // ... in this many consecutive periods
    std::uint64_t confirm_ios = 1000;  // ... over which the LUN has had at least this many I/Os
    // A streak of at least `fast_confirm_periods` periods over which the LUN has had at least
    // `fast_confirm_ios` I/Os confirms as well: evidence is counted in I/Os, so a burst of
    // thousands of I/Os a second is decided in a few periods, not after it is over (0: off).
    std::uint64_t fast_confirm_ios = 3000;
    unsigned fast_confirm_periods = 3;
    unsigned warmup_periods = 60;  // periods with I/O watched before any switch
    // Cost (µs) charged to a ghost for one migration it starts; empty: the source tier's read
    // latency plus the destination's write latency (one access of each).
    GhostPlacement::MigrationCost migration_cost_us;
    double migration_charge = 1.0;  // multiplies that cost (0: migrations are free)
    // A streak of `confirm_periods` periods that spans fewer than `confirm_ios` I/Os (a near-idle
    // LUN) confirms once the challenger's lead over it exceeds this many times the switch's cost:
    // the promotions that bring the LUN's placement to the challenger's shadow placement
    // (migration_cost_us each, unscaled) plus the lead forgone while the channel runs them at
    // the streak's rate. 1: the real LUN pays a switch in full (0: only confirm_ios confirms).
    double switch_charge = 1.0;
    // Whether a streak runs on when another challenger takes the lead of the window (true) or
    // restarts (false). A streak that has had more than one leader and spans enough I/Os
    // confirms only once the lead of the candidate switched to pays for the switch (as a
    // near-idle LUN's does); the periods that confirm a near-idle LUN's switch are still those of
    // the current leader alone. Either way, the run of the leader or of the candidate switched to
    // (its periods ahead of the current candidate, whoever led the window in them) confirms by its
    // I/Os. At a burst the leader often changes as the shadows catch up, and a restart each time
    // delays the switch by periods, while a lead that pays for its switch is evidence enough.
    bool streak_across_leaders = false;
    // Leaving the first candidate early (0 periods: off). While a LUN follows the candidate it
    // started on and has never switched, the warmup, the margin and the confirmation do not hold
    // it there once another followable candidate has served it clearly better lately and no worse
    // over the window: a recent cost lower than the current one's by more than `early_margin`, a
    // lower cost in the period and a windowed cost no higher, in each of `early_periods`
    // consecutive periods with I/O (whichever candidate leads in each) that span at least
    // `early_ios` I/Os of the LUN. It then switches to the one of those with the lowest windowed
    // cost (the leader of the window among them). The recent costs compared are those since the two
    // shadows parted (the first period one served the LUN at another cost than the other): before,
    // they served it alike (an empty fast tier filled the same way), which adds the same to both
    // and is no evidence, and a share of a sum that holds it would shrink with it: a short fill
    // followed by a lead would wait for the fill to decay out of the recent costs. A first
    // candidate chosen for how it fills an empty fast tier so does not hold a LUN whose load it
    // does not suit (a hot set that moves) once another has made up for the fill, while one period
    // (a burst on a near-idle LUN) does not outweigh the window's evidence. It happens at most once
    // per LUN, so it cannot flap; later switches follow the rules above.
    unsigned early_periods = 0;
    double early_margin = 0.1;
    std::uint64_t early_ios = 0;
    // Names of the candidates the followed one must beat (any one of them) before it may demote
    // (see probation above); empty: no probation. A name that is not a candidate's is refused by
    // the selector.
    std::vector<std::string> references;
    // How much cheaper (a share) than the LUN's real run on probation its candidate's shadow must
    // have served it to let it out (see probation), compared from a common starting point.
    double proof_margin = 0.01;
    // ... and beyond noise: by more than lead_beyond_noise() of the sum of the squared per-I/O
    // differences of the two at this error, the chance that a shadow with no lead over the real
    // run is ever let out, over all the periods it is compared in. On structureless load the two
    // hold different extents of the same worth, and over a thousand I/Os their difference is a
    // few percent either way; a lead from trades that pay grows with the I/Os, the noise with
    // their root (and the bound with the log of their number). One in ten thousand: a LUN is
    // compared for hours, and a gateway runs many.
    double proof_error = 0.0001;
    // The bound is tightest at the spread of this many I/Os that each differ by the slowest
    // latency of the tiers (the most one I/O's latencies can differ by), as the comparison
    // starts: a few tens of differing I/Os, the least evidence a proof is made of.
    double proof_scale_ios = 20;
};

class StrategySelector final : public PlacementPolicy {
public:
    using Factory = std::function<std::unique_ptr<PlacementPolicy>()>;
    struct Candidate {
        std::string name;
        // Called twice: the live instance and the ghost's (at the first I/O, but for the first
        // followable candidate's live instance, at construction); kept until then, so what it
        // refers to must outlive the selector's first observe().
        Factory make;
        // Whether a LUN may follow it; false: shadowed and measured only (a yardstick).
        bool followable = true;
    };

    // Throws std::invalid_argument when one of params.references names no candidate or when no
    // candidate is followable.
    StrategySelector(std::string name, const std::vector<Candidate>& candidates,
                     ChannelSpec channel, SelectorParams params = {});
    ~StrategySelector() override;

    std::string_view name() const override { return name_; }
    void observe(const IoEvent& io) override;
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    // Told to every live candidate (a ghost's forecast is its live instance's).
    void unplanned_round(std::uint64_t now_us) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    void dropped(const MigrationOrder& order, std::uint64_t now_us) override;
    // Told to every live candidate (the ghosts keep their own placements).
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;
    // The ghosts' channels (and those made later) are `channel` from now on; told to every
    // candidate.
    void channel_changed(const ChannelSpec& channel, std::uint64_t now_us) override;

    // Introspection is the live instance's of each LUN's candidate (or the first candidate's).
    std::optional<ExtentOutlook> outlook(LunId lun, ExtentIndex extent,
                                         std::uint64_t now_us) const override;
    std::optional<ForecastAccuracy> accuracy() const override;
    std::vector<PolicyAlert> alerts() const override;
    // Per LUN, the rounds spent following each candidate and every switch.
    std::optional<SelectionReport> selection() const override;

    // The candidate `lun` follows now (index into the candidates; the first followable one for
    // an unseen LUN).
    std::size_t choice(LunId lun) const;
    const std::string& candidate_name(std::size_t i) const { return names_.at(i); }
    std::size_t candidates() const { return names_.size(); }
    // Windowed cost of candidate `i`'s ghost for `lun` (µs, decayed), for tests and people.
    double windowed_cost(LunId lun, std::size_t i) const;
    std::uint64_t switches() const { return switches_; }
    // LUN-rounds spent following each candidate.
    const std::vector<std::uint64_t>& rounds_followed() const { return rounds_followed_; }
    // Migrations candidate `i`'s ghost has started (all LUNs; 0 before the first I/O).
    std::uint64_t ghost_migrations(std::size_t i) const {
        return ghosts_.empty() ? 0 : ghosts_.at(i).migrations();
    }
    // Whether every candidate's live and ghost instances exist (from the first I/O on).
    bool built() const { return deferred_ == nullptr; }

private:
    struct LunState {
        std::size_t choice = 0;
        std::size_t challenger = 0;    // the candidate that has been better lately
        unsigned streak = 0;           // consecutive periods it has been better by the margin
        std::uint64_t ios = 0;         // I/Os seen (all time)
        std::uint64_t streak_ios = 0;  // `ios` when the streak began
        unsigned leader_run = 0;       // periods of the streak led by the window's leader
        // Per candidate, its run: the periods with I/O since it last was not ahead of `choice`
        // (count_runs()) in which it served the LUN cheaper, and `ios` when the run began.
        std::vector<unsigned> run;
        std::vector<std::uint64_t> run_ios;
        std::uint64_t streak_us = 0;   // when the streak's first period began
        std::uint64_t periods = 0;     // periods in which the LUN had I/O
        unsigned early = 0;            // consecutive periods another candidate clearly led lately
        std::uint64_t early_ios = 0;   // `ios` when those periods began
        std::uint64_t period_ios = 0;  // `ios` when the last period ended
        bool active = false;           // had I/O since the last period ended
        bool trusted = false;          // its candidate may demote (out of probation)
        // Since the comparison started (see probation; `comparing`), the LUN's
        // real run's cost (µs: its I/O from the real placement, its real migrations), its
        // candidate's shadow cost over the same I/O, periods with I/O, and `ios` at the start.
        double held_real = 0;
        double held_shadow = 0;
        double held_spread = 0;  // sum of the squared differences of the two per I/O (µs²)
        double held_scale = 1;   // where lead_beyond_noise() is tightest (µs², proof_scale_ios)
        std::uint64_t held_periods = 0;
        std::uint64_t held_ios = 0;
        bool comparing = false;        // the real run and the shadow are compared (see probation)
        std::uint64_t real_moves = 0;  // real migrations of the LUN ended since the last period
        bool proven = false;           // the shadow beat the real run: out of probation (see above)
        // The windowed costs (`cost`) as the comparison started, decayed as they are.
        std::vector<double> cost_at_start;
        std::uint64_t at_us = 0;  // costs are decayed to this time
        std::vector<double> cost;
        std::vector<double> recent;         // decayed with the short half-life
        std::vector<double> period_cost;    // since the last period ended, undecayed
        std::vector<double> recent_before;  // `recent` as the last period ended
        // Per candidate, whether its shadow has served a period of the LUN with I/O at another
        // cost (migrations included) than the first candidate's, and the recent costs of both
        // as the period before that one ended (see SelectorParams::early_periods).
        std::vector<bool> parted;
        std::vector<double> parted_own;
        std::vector<double> parted_first;
        std::vector<double> streak_lead;       // µs cheaper than `choice` over the streak
        std::vector<std::uint64_t> followed;   // rounds spent following each candidate
        std::vector<StrategySwitch> switches;  // in time order
    };
    void decay(LunState& s, std::uint64_t now_us) const;
    // Whether the round planned at `now_us` ends a period (SelectorParams::period_us).
    bool ends_period(std::uint64_t now_us) const;
    // Weighs the candidates for `lun` at the end of a period: switches it if the evidence says
    // so (see the top of this file) and decides whether its candidate may demote.
    void judge(LunId lun, LunState& s, std::uint64_t now_us, const PlacementView& view,
               double slowest_us);
    // Counts a period with I/O in each candidate's run: a candidate ahead of the one `s` follows
    // in the window by the margin and not behind lately by more than it runs on (a period in
    // which it also served the LUN cheaper lately and in the period counts, any other holds);
    // any other candidate's run ends.
    void count_runs(LunState& s) const;
    // Switches a LUN away from its first candidate if it leaves it early this period (see
    // SelectorParams::early_periods), having had I/O in it (`active`).
    void leave_first_early(LunState& s, bool active, std::uint64_t now_us);
    // Whether the candidate `lun` follows may move extents to slower tiers (see probation).
    bool trusted(LunId lun) const;
    LunState& lun_state(LunId lun, std::uint64_t now_us);
    // Adds the migration charges ghost `i` has made since the last call to its LUNs' costs.
    void charge(std::size_t i, std::uint64_t now_us);
    // The cost (µs) of moving LUN `lun`'s placement in `real` to candidate `i`'s shadow
    // placement, times switch_charge: its promotions at migration_cost_us each, plus the lead
    // forgone while the channel runs them (`lead_per_us` µs of lead per µs, for as long as the
    // channel takes to move them at its bandwidth).
    double switch_cost(LunId lun, std::size_t i, const PlacementView& real,
                       double lead_per_us) const;

    // Starts gathering the evidence of the real run of `s` anew (see probation).
    static void hold_anew(LunState& s);
    // Decides whether the candidate `s` follows may demote this period (see probation); `level`:
    // whether its real faster tiers hold as much as its candidate's shadow's (level_with_shadow);
    // `slowest_us`: the slowest latency of the tiers this round.
    void judge_probation(LunState& s, bool active, bool switched, bool level, double slowest_us);
    // Whether the tiers faster than `lun`'s home hold, in `real`, as many bytes as candidate
    // `i`'s shadow holds there (one extent short counts as level).
    bool level_with_shadow(LunId lun, std::size_t i, const PlacementView& real) const;

    // What the candidates made at the first I/O are told (see the top of this file).
    struct Deferred;
    // Where the real extents are, from the first I/O on (see probation).
    class RealPlacement;
    std::unique_ptr<RealPlacement> real_;
    // Makes the instances the first I/O needs and tells them what they missed.
    void build();
    // Keeps what the last round's `view` says of the tiers, for build().
    void defer_round(const PlacementView& view);

    std::string name_;
    std::vector<std::string> names_;
    std::vector<Factory> factories_;                      // until build()
    std::unique_ptr<Deferred> deferred_;                  // null once built
    std::vector<std::unique_ptr<PlacementPolicy>> live_;  // null until built, but first_'s
    std::vector<GhostPlacement> ghosts_;
    SelectorParams params_;
    ChannelSpec channel_;
    std::uint64_t last_round_us_ = 0;             // when the last round was planned
    std::uint64_t period_start_us_ = 0;           // when the last period ended
    std::optional<std::uint64_t> period_end_us_;  // when the current one ends (none: no round yet)
    std::vector<std::size_t> references_;  // indices of params_.references; empty: no probation
    std::vector<bool> followable_;         // per candidate
    std::size_t first_ = 0;                // the first followable candidate, where a LUN starts
    std::unordered_map<LunId, LunState> luns_;
    std::uint64_t switches_ = 0;
    std::vector<std::uint64_t> rounds_followed_;
};

}  // namespace rbdtier
