#include "engine/policy/deferred_policy.h"

#include <algorithm>

namespace rbdtier {

DeferredPolicy::DeferredPolicy(std::string name, Factory make)
    : name_(std::move(name)), make_(std::move(make)) {}

void DeferredPolicy::make(const PlacementView* view) {
    policy_ = make_();
    make_ = nullptr;
    PlacementPolicy& p = *policy_;
    if (channel_) p.channel_changed(channel_->first, channel_->second);
    const auto tell = [&](bool before_last_round) {
        if (view == nullptr) return;
        for (const auto& [lun, at] : told_)
            if ((!last_round_us_ || at <= *last_round_us_) == before_last_round)
                p.placement_changed(lun, at, *view);
    };
    tell(true);
    if (last_round_us_ && view != nullptr)
        for (const MigrationOrder& o : p.plan(*last_round_us_, *view))
            p.dropped(o, *last_round_us_);
    tell(false);
    for (const IoEvent& io : pending_) p.observe(io);
    std::vector<IoEvent>().swap(pending_);
    std::vector<std::pair<LunId, std::uint64_t>>().swap(told_);
    last_round_us_.reset();
    channel_.reset();
}

PlacementPolicy& DeferredPolicy::make_now() {
    if (!policy_) make(nullptr);
    return *policy_;
}

void DeferredPolicy::note_told(LunId lun, std::uint64_t now_us) {
    const auto it = std::find_if(told_.begin(), told_.end(),
                                 [lun](const auto& told) { return told.first == lun; });
    if (it == told_.end())
        told_.emplace_back(lun, now_us);
    else
        it->second = std::max(it->second, now_us);
}

void DeferredPolicy::observe(const IoEvent& io) {
    if (policy_) {
        policy_->observe(io);
        return;
    }
    if (pending_.size() == pending_.capacity()) {
        // Room for a round's worth at first, then doubled up to the most kept, never past it.
        pending_.reserve(pending_.empty() ? kFirstPendingIo
                                          : std::min(2 * pending_.capacity(), kMaxPendingIo));
    }
    pending_.push_back(io);
    if (pending_.size() >= kMaxPendingIo) make(nullptr);
}

std::vector<MigrationOrder> DeferredPolicy::plan(std::uint64_t now_us, const PlacementView& view) {
    if (!policy_ && pending_.empty()) {
        last_round_us_ = now_us;
        return {};
    }
    if (!policy_) make(&view);
    return policy_->plan(now_us, view);
}

void DeferredPolicy::unplanned_round(std::uint64_t now_us) {
    if (policy_) policy_->unplanned_round(now_us);
}

void DeferredPolicy::migrated(const MigrationOrder& order, std::uint64_t now_us) {
    if (policy_)
        policy_->migrated(order, now_us);
    else
        note_told(order.lun, now_us);
}

void DeferredPolicy::dropped(const MigrationOrder& order, std::uint64_t now_us) {
    if (policy_) policy_->dropped(order, now_us);
}

void DeferredPolicy::placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) {
    if (policy_)
        policy_->placement_changed(lun, now_us, view);
    else
        note_told(lun, now_us);
}

void DeferredPolicy::channel_changed(const ChannelSpec& channel, std::uint64_t now_us) {
    if (policy_)
        policy_->channel_changed(channel, now_us);
    else
        channel_.emplace(channel, now_us);
}

std::optional<ExtentOutlook> DeferredPolicy::outlook(LunId lun, ExtentIndex extent,
                                                     std::uint64_t now_us) const {
    return policy_ ? policy_->outlook(lun, extent, now_us) : std::nullopt;
}

std::optional<ForecastAccuracy> DeferredPolicy::accuracy() const {
    return policy_ ? policy_->accuracy() : std::nullopt;
}

std::vector<PolicyAlert> DeferredPolicy::alerts() const {
    return policy_ ? policy_->alerts() : std::vector<PolicyAlert>{};
}

std::optional<SelectionReport> DeferredPolicy::selection() const {
    return policy_ ? policy_->selection() : std::nullopt;
}

}  // namespace rbdtier
