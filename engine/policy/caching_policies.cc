#include "engine/policy/caching_policies.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <utility>

namespace rbdtier {

namespace {

constexpr std::size_t kMaxCandidatesPerRound = 4096;

// A set of extent keys for one round's bookkeeping: open addressing (linear probing) in one
// array, so that a key costs no allocation.
class KeySet {
public:
    // Whether `key` was absent (it is in the set now).
    bool insert(ExtentKey key) {
        if (key == kNoExtent) return !std::exchange(has_no_extent_, true);
        if ((size_ + 1) * 2 > slots_.size()) grow();
        std::size_t i = mix_key(key) & mask_;
        for (; slots_[i] != kNoExtent; i = (i + 1) & mask_)
            if (slots_[i] == key) return false;
        slots_[i] = key;
        ++size_;
        return true;
    }
    bool contains(ExtentKey key) const {
        if (key == kNoExtent) return has_no_extent_;
        if (slots_.empty()) return false;
        for (std::size_t i = mix_key(key) & mask_; slots_[i] != kNoExtent; i = (i + 1) & mask_)
            if (slots_[i] == key) return true;
        return false;
    }

private:
    void grow() {
        std::vector<ExtentKey> old = std::move(slots_);
        slots_.assign(std::max<std::size_t>(64, old.size() * 2), kNoExtent);
        mask_ = slots_.size() - 1;
        size_ = 0;
        for (ExtentKey key : old)
            if (key != kNoExtent) insert(key);
    }
    std::vector<ExtentKey> slots_;  // a power of two of them, kNoExtent where empty
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    bool has_no_extent_ = false;
};

TierId fastest_tier(const std::vector<TierSpec>& tiers) {
    TierId best = 0;
    for (std::size_t t = 1; t < tiers.size(); ++t)
        if (tiers[t].read_latency_us < tiers[best].read_latency_us) best = static_cast<TierId>(t);
    return best;
}

}  // namespace

CachingPolicy::CachingPolicy(std::string name, std::uint64_t extent_bytes, CachingParams params)
    : name_(std::move(name)), extent_bytes_(extent_bytes), params_(params) {
    // As large as allowed until the first plan() tells the fastest tier's size; folded then.
    if (params_.sketch_admission)
        sketch_.resize(params_.sketch_counters, params_.sketch_counters * 10 / 16);
}

void CachingPolicy::GhostList::push(ExtentKey key) {
    const std::uint64_t seq = ++next_seq_;
    entries_[key] = Entry{seq, false};
    order_.push_back({seq, key});
}

bool CachingPolicy::GhostList::first_hit(ExtentKey key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.hit) return false;
    it->second.hit = true;
    return true;
}

bool CachingPolicy::GhostList::erase(ExtentKey key) {
    return entries_.erase(key) != 0;
}

void CachingPolicy::GhostList::trim(std::size_t keep) {
    while (!order_.empty() && (entries_.size() > keep || order_.size() > 2 * entries_.size())) {
        const auto [seq, key] = order_.front();
        order_.pop_front();
        if (auto it = entries_.find(key); it != entries_.end() && it->second.seq == seq)
            entries_.erase(it);
    }
}

void CachingPolicy::touch_resident(ExtentKey key, Resident& r, std::uint64_t now_us) {
    (r.protected_ ? protected_ : probationary_).erase({r.last_use, key});
    r.last_use = ++seq_;
    r.last_us = std::max(r.last_us, now_us);
    if (params_.protected_share > 0 || params_.adaptive) r.protected_ = true;  // reused
    (r.protected_ ? protected_ : probationary_).insert({r.last_use, key});
    // An overfull protected segment hands its least recently used resident back to probation.
    while (protected_.size() > protected_slots_) {
        const auto oldest = *protected_.begin();
        protected_.erase(protected_.begin());
        residents_[oldest.second].protected_ = false;
        probationary_.insert(oldest);
    }
}

void CachingPolicy::insert_resident(ExtentKey key, std::uint64_t now_us) {
    erase_resident(key);
    // An extent evicted lately and promoted again returns into the frequency side.
    const bool recency_ghost = params_.adaptive && recency_ghosts_.erase(key);
    const bool frequency_ghost = params_.adaptive && frequency_ghosts_.erase(key);
    Resident r{++seq_, recency_ghost || frequency_ghost, now_us};
    (r.protected_ ? protected_ : probationary_).insert({r.last_use, key});
    residents_.emplace(key, r);
}

void CachingPolicy::erase_resident(ExtentKey key) {
    auto it = residents_.find(key);
    if (it == residents_.end()) return;
    (it->second.protected_ ? protected_ : probationary_).erase({it->second.last_use, key});
    residents_.erase(it);
}

bool CachingPolicy::admitted(ExtentKey key) const {
    if (params_.admit_accesses <= 1) return true;
    auto it = history_.find(key);
    return it != history_.end() && it->second.accesses >= params_.admit_accesses;
}

bool CachingPolicy::reused_within_eviction_age(ExtentKey key) const {
    if (!params_.admit_by_eviction_age || eviction_age_us_ == UINT64_MAX) return true;
    auto it = history_.find(key);
    return it != history_.end() && it->second.gap_us <= eviction_age_us_;
}

std::uint64_t CachingPolicy::eviction_age(std::uint64_t now_us) const {
    // The resident LRU eviction takes first: the oldest probationary one, else protected one.
    const Lru& segment = probationary_.empty() ? protected_ : probationary_;
    if (segment.empty()) return UINT64_MAX;
    auto it = residents_.find(segment.begin()->second);
    if (it == residents_.end()) return UINT64_MAX;
    return now_us - std::min(now_us, it->second.last_us);
}

void CachingPolicy::prune_history(std::uint64_t now_us, std::int64_t slots) {
    std::uint64_t window = params_.admit_window_us;
    if (params_.admit_by_eviction_age && eviction_age_us_ != UINT64_MAX)
        window = std::max(window, eviction_age_us_);
    for (auto it = history_.begin(); it != history_.end();)
        it = now_us > it->second.last_us + window ? history_.erase(it) : std::next(it);
    // The ghost list of an eviction-age admission holds at most four times the tier's slots:
    // the extents seen longest ago go first.
    const std::int64_t ghosts = slots > INT64_MAX / 8 ? INT64_MAX / 2 : 4 * slots;
    const auto bound = static_cast<std::size_t>(std::max<std::int64_t>(ghosts, 4096));
    if (params_.admit_by_eviction_age && history_.size() > bound) {
        std::vector<std::uint64_t> times;
        times.reserve(history_.size());
        for (const auto& [key, h] : history_) times.push_back(h.last_us);
        const auto cut = times.begin() + static_cast<std::ptrdiff_t>(history_.size() - bound);
        std::nth_element(times.begin(), cut, times.end());
        const std::uint64_t oldest_kept = *cut;
        for (auto it = history_.begin(); it != history_.end();)
            it = it->second.last_us < oldest_kept ? history_.erase(it) : std::next(it);
    }
}

void CachingPolicy::want(ExtentKey key, std::uint64_t until_us) {
    if (!params_.carry_over) return;
    // A resident is not wanted: a promotion completed since its access.
    if (residents_.count(key) != 0) {
        wanted_.erase(key);
        return;
    }
    auto& until = wanted_[key];
    until = std::max(until, until_us);
    if (wanted_rounds_.empty() || wanted_rounds_.back().first != until_us)
        wanted_rounds_.push_back({until_us, {}});
    wanted_rounds_.back().second.push_back(key);
}

double CachingPolicy::decayed(const Heat& heat, std::uint64_t now_us) const {
    const double age = static_cast<double>(now_us - std::min(now_us, heat.at_us));
    return heat.value * std::exp2(-age / static_cast<double>(params_.heat_half_life_us));
}

double CachingPolicy::heat_at(ExtentKey key, std::uint64_t now_us) const {
    auto it = heat_.find(key);
    return it == heat_.end() ? 0 : decayed(it->second, now_us);
}

double CachingPolicy::frequency_at(ExtentKey key, std::uint64_t now_us) const {
    return params_.sketch_admission ? sketch_.estimate(key) : heat_at(key, now_us);
}

void CachingPolicy::observe(const IoEvent& io) {
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes_;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes_;
    for (std::uint64_t e = first; e <= last; ++e) {
        const ExtentKey key = make_extent_key(io.lun, e);
        if (params_.prefetch_depth > 0) {
            std::uint64_t run = 1;
            if (e > 0) {
                auto prev = last_access_.find(make_extent_key(io.lun, e - 1));
                if (prev != last_access_.end() &&
                    io.time_us - std::min(prev->second.time_us, io.time_us) <=
                        params_.run_window_us)
                    run = prev->second.length + 1;
            }
            RunMark& mark = last_access_[key];
            mark.time_us = std::max(mark.time_us, io.time_us);
            mark.length = std::max(mark.length, run);
            if (mark.length >= 3) {
                const bool paying =
                    !params_.prefetch_feedback || 2 * read_ahead_used_ >= read_ahead_wasted_;
                const std::uint64_t depth =
                    paying ? std::min<std::uint64_t>(params_.prefetch_depth, 2 * mark.length) : 1;
                for (std::uint64_t d = 1; d <= depth; ++d)
                    runs_.push_back(make_extent_key(io.lun, e + d));
            }
        }
        if (params_.heat_half_life_us > 0) {
            // One lookup: heat_at()'s value (0 for a new extent) plus this access.
            auto [it, fresh] = heat_.try_emplace(key);
            Heat& heat = it->second;
            heat.value = (fresh ? 0.0 : decayed(heat, io.time_us)) + 1.0;
            heat.at_us = std::max(heat.at_us, io.time_us);
        }
        if (params_.sketch_admission) sketch_.add(key);
        if (!read_ahead_unused_.empty() && read_ahead_unused_.erase(key)) count_read_ahead(true);
        auto it = residents_.find(key);
        if (it != residents_.end()) {
            touch_resident(key, it->second, io.time_us);
            continue;
        }
        if (params_.adaptive) {
            // A return of an extent evicted too soon from one side asks for more room on it.
            const auto ratio = [](std::size_t a, std::size_t b) {
                return std::max(
                    1.0, static_cast<double>(a) / static_cast<double>(std::max<std::size_t>(b, 1)));
            };
            if (recency_ghosts_.first_hit(key))
                recency_target_ = std::min(
                    static_cast<double>(fast_slots_),
                    recency_target_ + ratio(frequency_ghosts_.size(), recency_ghosts_.size()));
            else if (frequency_ghosts_.first_hit(key))
                recency_target_ = std::max(
                    0.0, recency_target_ - ratio(recency_ghosts_.size(), frequency_ghosts_.size()));
        }
        if (params_.admit_accesses > 1 || params_.admit_by_eviction_age) {
            auto [hit, fresh] = history_.try_emplace(key);
            History& h = hit->second;
            if (!fresh) h.gap_us = io.time_us - std::min(h.last_us, io.time_us);
            if (h.accesses > 0 && io.time_us > h.last_us + params_.admit_window_us) h.accesses = 0;
            ++h.accesses;
            h.last_us = std::max(h.last_us, io.time_us);
        }
        accessed_.push_back(key);
        if (accessed_.size() > 16 * kMaxCandidatesPerRound)
            accessed_.erase(accessed_.begin(), accessed_.begin() + 8 * kMaxCandidatesPerRound);
    }
}

std::vector<MigrationOrder> CachingPolicy::plan(std::uint64_t now_us, const PlacementView& view) {
    std::vector<MigrationOrder> orders;
    const auto& tiers = view.tiers();
    if (tiers.empty()) return orders;
    fast_ = fastest_tier(tiers);
    const auto e_bytes = static_cast<std::int64_t>(view.extent_bytes());
    const std::uint64_t capacity = tiers[fast_].capacity_bytes;
    const std::int64_t slots =
        capacity == 0 ? INT64_MAX / 2 : static_cast<std::int64_t>(capacity) / e_bytes;
    std::int64_t free = capacity == 0 ? INT64_MAX / 2
                                      : (static_cast<std::int64_t>(capacity) -
                                         static_cast<std::int64_t>(view.used_bytes(fast_))) /
                                            e_bytes;
    if (params_.protected_share > 0 && capacity != 0)
        protected_slots_ = std::max<std::size_t>(
            1, static_cast<std::size_t>(params_.protected_share * static_cast<double>(slots)));
    if (params_.admit_by_eviction_age) eviction_age_us_ = eviction_age(now_us);
    fast_slots_ = static_cast<std::size_t>(std::min<std::int64_t>(slots, 1 << 24));
    recency_target_ = std::min(recency_target_, static_cast<double>(fast_slots_));
    if (params_.sketch_admission) {
        // About 16 counters and 10 accesses between halvings per slot (TinyLFU's proportions),
        // within the sketch's bound.
        const std::size_t counters = std::min(params_.sketch_counters, 16 * fast_slots_);
        const std::uint64_t sample = std::min<std::uint64_t>(10 * fast_slots_, counters * 10 / 16);
        sketch_.resize(counters, sample);
    }
    freed_by_eviction_ = std::min(freed_by_eviction_, std::max<std::int64_t>(free, 0));
    std::int64_t open = free - freed_by_eviction_;
    // Free slots of the other tiers, and those tiers fastest first: an extent the fastest tier
    // has no room for goes to the fastest of them with room that is faster than where it is.
    std::vector<std::int64_t> room(tiers.size(), 0);
    std::vector<TierId> next_tiers;
    for (std::size_t t = 0; t < tiers.size(); ++t) {
        if (t == fast_) continue;
        const std::uint64_t cap = tiers[t].capacity_bytes;
        room[t] = cap == 0 ? INT64_MAX / 2
                           : (static_cast<std::int64_t>(cap) -
                              static_cast<std::int64_t>(view.used_bytes(static_cast<TierId>(t)))) /
                                 e_bytes;
        next_tiers.push_back(static_cast<TierId>(t));
    }
    std::stable_sort(next_tiers.begin(), next_tiers.end(), [&](TierId a, TierId b) {
        return tiers[a].read_latency_us < tiers[b].read_latency_us;
    });
    // The tier an extent in `current` that finds no room in the fastest one goes to, if any.
    const auto next_faster_with_room = [&](TierId current) -> std::optional<TierId> {
        for (TierId t : next_tiers) {
            if (!(tiers[t].read_latency_us < tiers[current].read_latency_us)) break;
            if (room[t] > 0) return t;
        }
        return std::nullopt;
    };

    // Extents to promote, best first: the read-ahead of runs (the latest run first, nearest
    // extent first), then those accessed this round (most recent first), then those still
    // wanted from earlier rounds (most recent first).
    const std::size_t max_orders =
        params_.max_orders_per_round > 0 ? params_.max_orders_per_round : kMaxCandidatesPerRound;
    const std::size_t max_candidates = std::min(max_orders, kMaxCandidatesPerRound);
    std::vector<ExtentKey> candidates;
    KeySet seen, accessed_now;
    auto consider = [&](ExtentKey key) {
        if (candidates.size() >= max_candidates || !seen.insert(key)) return;
        if (residents_.count(key) || promoting_.count(key)) return;
        candidates.push_back(key);
    };
    // runs_ holds the read-ahead of each access in order, nearest first: walk the accesses
    // from the latest and keep each one's order.
    for (std::size_t end = runs_.size(); end > 0;) {
        std::size_t begin = end - 1;
        while (begin > 0 && key_lun(runs_[begin - 1]) == key_lun(runs_[begin]) &&
               key_extent(runs_[begin - 1]) + 1 == key_extent(runs_[begin]))
            --begin;
        for (std::size_t i = begin; i < end; ++i) consider(runs_[i]);
        end = begin;
    }
    const std::size_t read_ahead_count = candidates.size();
    for (auto it = accessed_.rbegin(); it != accessed_.rend(); ++it) {
        accessed_now.insert(*it);
        if (admitted(*it)) {
            consider(*it);
            if (reused_within_eviction_age(*it)) want(*it, now_us + params_.want_ttl_us);
        }
    }
    // Still wanted: latest `until` first, ties by key, highest first; forgotten once past their
    // time or resident (an extent placed in the fast tier by another hand).
    if (!wanted_rounds_.empty() && wanted_rounds_.back().first == now_us + params_.want_ttl_us)
        std::sort(wanted_rounds_.back().second.begin(), wanted_rounds_.back().second.end(),
                  std::greater<>());
    while (!wanted_rounds_.empty() && wanted_rounds_.front().first < now_us) {
        const auto& [until, keys] = wanted_rounds_.front();
        for (ExtentKey key : keys)
            if (auto it = wanted_.find(key); it != wanted_.end() && it->second == until)
                wanted_.erase(it);
        wanted_rounds_.pop_front();
    }
    for (ExtentKey key : adopted_)
        if (residents_.count(key) != 0) wanted_.erase(key);
    adopted_.clear();
    for (auto round = wanted_rounds_.rbegin();
         round != wanted_rounds_.rend() && candidates.size() < max_candidates; ++round)
        for (auto key = round->second.begin();
             key != round->second.end() && candidates.size() < max_candidates; ++key)
            // Its entry in the list of the last round that wanted it counts.
            if (auto it = wanted_.find(*key); it != wanted_.end() && it->second == round->first)
                consider(*key);
    if (ranks_by_frequency()) {
        // Most frequent first, the read-ahead of runs staying ahead of everything else.
        const auto first_wanted =
            candidates.begin() + static_cast<std::ptrdiff_t>(read_ahead_count);
        std::vector<std::pair<double, ExtentKey>> by_heat;
        for (auto it = first_wanted; it != candidates.end(); ++it)
            by_heat.push_back({frequency_at(*it, now_us), *it});
        std::stable_sort(by_heat.begin(), by_heat.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        auto out = first_wanted;
        for (const auto& [h, key] : by_heat) *out++ = key;
    }
    if (params_.heat_half_life_us > 0) {
        if (now_us >= next_heat_prune_us_) {
            next_heat_prune_us_ = now_us + params_.heat_half_life_us;
            for (auto it = heat_.begin(); it != heat_.end();)
                it = heat_at(it->first, now_us) < 1e-3 ? heat_.erase(it) : std::next(it);
        }
    }
    accessed_.clear();
    runs_.clear();

    std::int64_t need_room = 0;
    std::vector<double> needy_heat;  // of the extents that found no room, in promotion order
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const ExtentKey key = candidates[i];
        const bool is_read_ahead = i < read_ahead_count;
        const LunId lun = key_lun(key);
        const TierId home = view.home_tier(lun);
        homes_[lun] = home;
        const TierId current = view.tier_of(lun, key_extent(key));
        if (current == fast_ || !(tiers[fast_].read_latency_us < tiers[current].read_latency_us))
            continue;
        const std::optional<TierId> next = free > 0 ? std::nullopt : next_faster_with_room(current);
        // An extent not reused within the eviction age takes only room of the fastest tier that
        // no eviction freed.
        if (!next && !is_read_ahead && !reused_within_eviction_age(key)) {
            if (open <= 0) continue;
            --open;
        }
        if (free > 0 || next) {
            if (next) {
                --room[*next];
            } else {
                --free;
                open = std::min(open, free);
            }
            MigrationOrder o;
            o.lun = lun;
            o.extent = key_extent(key);
            o.from = current;
            o.to = next.value_or(fast_);
            o.reason = name_ + (is_read_ahead ? ": read-ahead" : ": accessed") +
                       (next ? ", no room in the fastest tier" : "");
            promoting_.insert(key);
            if (is_read_ahead) {
                read_ahead_orders_.insert(key);
                read_ahead_unused_.insert(key);
            }
            orders.push_back(std::move(o));
        } else {
            // An eviction sends a resident home to make room. For an extent that already sits in
            // a tier faster than its home, the trade gains less per access (from its tier, not
            // from home) than the victim loses: LRU eviction, blind to how hot either is, does
            // not make that trade; coldest eviction weighs each side's heat by its gain.
            const double home_gap = tiers[home].read_latency_us - tiers[fast_].read_latency_us;
            const double gap = tiers[current].read_latency_us - tiers[fast_].read_latency_us;
            if (gap < home_gap && !trades_by_frequency()) continue;
            ++need_room;
            if (trades_by_frequency()) {
                // A read-ahead extent is as hot as the nearest extent of its run behind it.
                double h = frequency_at(key, now_us);
                for (std::uint64_t d = 1;
                     h == 0 && is_read_ahead && d <= params_.prefetch_depth && d <= key_extent(key);
                     ++d)
                    h = frequency_at(make_extent_key(lun, key_extent(key) - d), now_us);
                needy_heat.push_back(gap < home_gap && home_gap > 0 ? h * gap / home_gap : h);
            }
        }
    }
    // Hottest first (by heat weighed with its gain), as the victims are taken coldest first.
    std::stable_sort(needy_heat.begin(), needy_heat.end(), std::greater<>());

    // Room: demote least recently used residents (probationary first) for the extents that
    // found none, and ahead of need for the reserve, counting demotions already under way.
    const auto reserve = static_cast<std::int64_t>(
        std::ceil(params_.reserve_share * static_cast<double>(capacity == 0 ? 0 : slots)));
    std::int64_t deficit = need_room + reserve - free - static_cast<std::int64_t>(demoting_.size());
    // The residents in eviction order, each taken when the loop below needs one: coldest first
    // (a min-heap of (heat, key), every pair distinct), or least recently used first
    // (probationary, then protected).
    std::vector<std::pair<double, ExtentKey>> coldest;
    if (deficit > 0 && params_.evict_coldest) {
        coldest.reserve(residents_.size());
        for (const auto& [key, r] : residents_) coldest.push_back({heat_at(key, now_us), key});
        std::make_heap(coldest.begin(), coldest.end(), std::greater<>());
    }
    const Lru* segment = &probationary_;
    auto lru = segment->begin();
    // Adaptive: the recency side (probationary) and the frequency side (protected), each in LRU
    // order, and how many of the recency side's residents have not been taken yet.
    auto recency = probationary_.begin(), frequency = protected_.begin();
    std::size_t recency_left = probationary_.size();
    // The next resident in eviction order and its frequency (when trades weigh it); false after
    // the last.
    const auto next_victim = [&](ExtentKey& key, double& heat) {
        if (params_.evict_coldest) {
            if (coldest.empty()) return false;
            std::pop_heap(coldest.begin(), coldest.end(), std::greater<>());
            heat = coldest.back().first;
            key = coldest.back().second;
            coldest.pop_back();
            return true;
        }
        if (params_.adaptive) {
            const bool any_recency = recency != probationary_.end();
            const bool any_frequency = frequency != protected_.end();
            if (!any_recency && !any_frequency) return false;
            if (any_recency &&
                (!any_frequency || static_cast<double>(recency_left) > recency_target_)) {
                key = (recency++)->second;
                --recency_left;
            } else {
                key = (frequency++)->second;
            }
        } else {
            while (lru == segment->end()) {
                if (segment == &protected_) return false;
                segment = &protected_;
                lru = segment->begin();
            }
            key = (lru++)->second;
        }
        heat = frequency_at(key, now_us);
        return true;
    };
    // Coldest-first eviction and frequency admission trade a resident only for a more frequent
    // extent (the k-th extent that found no room, past those that room already being freed will
    // take, against the k-th resident in eviction order), so that one-off reads do not push out
    // extents that keep coming back.
    std::size_t paired = static_cast<std::size_t>(
        std::max<std::int64_t>(0, free + static_cast<std::int64_t>(demoting_.size())));
    ExtentKey key = 0;
    double heat = 0;
    while (deficit > 0 && orders.size() < max_orders && next_victim(key, heat)) {
        if (demoting_.count(key) || accessed_now.contains(key)) continue;
        if (trades_by_frequency()) {
            if (paired >= needy_heat.size()) break;
            const double wanted = needy_heat[paired];
            if (params_.sketch_admission) {
                // An extent accessed once lately never takes a resident's place (while the
                // channel is the bound, a one-off costs a promotion and a demotion for no hit);
                // otherwise the more frequent one wins, and a tie keeps the resident (trading
                // equals would only spend the channel).
                if (wanted < 2 || !(heat < wanted)) break;
            } else if (!(heat < wanted)) {
                break;
            }
            ++paired;
        }
        const LunId lun = key_lun(key);
        auto home = homes_.find(lun);
        const TierId to = home != homes_.end() ? home->second : view.home_tier(lun);
        const TierId current = view.tier_of(lun, key_extent(key));
        if (current == to) continue;
        MigrationOrder d;
        d.lun = lun;
        d.extent = key_extent(key);
        d.from = current;
        d.to = to;
        d.reason = name_ + (params_.evict_coldest      ? ": coldest eviction"
                            : params_.sketch_admission ? ": LRU eviction for a more frequent extent"
                                                       : ": LRU eviction");
        demoting_.insert(key);
        orders.push_back(std::move(d));
        --deficit;
    }

    // History older than its window can no longer admit or start a run.
    prune_history(now_us, slots);
    for (auto it = last_access_.begin(); it != last_access_.end();)
        it = now_us > it->second.time_us + params_.run_window_us ? last_access_.erase(it)
                                                                 : std::next(it);
    return orders;
}

void CachingPolicy::count_read_ahead(bool used) {
    (used ? read_ahead_used_ : read_ahead_wasted_) += 1;
    if (read_ahead_used_ + read_ahead_wasted_ > 64) {
        read_ahead_used_ /= 2;
        read_ahead_wasted_ /= 2;
    }
}

void CachingPolicy::migrated(const MigrationOrder& order, std::uint64_t now_us) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    promoting_.erase(key);
    demoting_.erase(key);
    wanted_.erase(key);
    read_ahead_orders_.erase(key);
    if (order.to == fast_) {
        insert_resident(key, now_us);
        freed_by_eviction_ = std::max<std::int64_t>(freed_by_eviction_ - 1, 0);
    } else {
        if (residents_.count(key)) ++freed_by_eviction_;
        // An evicted extent joins the history with its last access: accessed again within the
        // eviction age, it was evicted too soon and is admitted again.
        auto resident = residents_.find(key);
        if (params_.admit_by_eviction_age && resident != residents_.end()) {
            History& h = history_[key];
            h.last_us = std::max(h.last_us, resident->second.last_us);
            h.accesses = std::max(h.accesses, 1u);
        }
        if (params_.adaptive && resident != residents_.end()) {
            GhostList& ghosts = resident->second.protected_ ? frequency_ghosts_ : recency_ghosts_;
            ghosts.push(key);
            ghosts.trim(fast_slots_);
        }
        erase_resident(key);
        if (read_ahead_unused_.erase(key)) count_read_ahead(false);
    }
}

void CachingPolicy::placement_changed(LunId lun, std::uint64_t, const PlacementView& view) {
    fast_ = fastest_tier(view.tiers());
    homes_[lun] = view.home_tier(lun);
    std::vector<ExtentKey> gone;
    for (const auto& [key, resident] : residents_)
        if (key_lun(key) == lun && view.tier_of(lun, key_extent(key)) != fast_) gone.push_back(key);
    for (ExtentKey key : gone) {
        erase_resident(key);
        read_ahead_unused_.erase(key);
    }
    // Extents another hand put in the fast tier: not used since as far as this policy knows, so
    // the first to be demoted. Outside its home they are among the LUN's extents away from home
    // (the view lists those without a walk of every extent, where it can).
    const auto adopt = [&](ExtentIndex e, TierId tier) {
        const ExtentKey key = make_extent_key(lun, e);
        if (tier != fast_ || residents_.count(key) != 0) return;
        probationary_.insert({0, key});
        residents_.emplace(key, Resident{0, false, 0});
        adopted_.push_back(key);
    };
    if (homes_[lun] != fast_) {
        view.away_from_home(lun, adopt);
        return;
    }
    const std::uint64_t extents = view.extents(lun);
    for (ExtentIndex e = 0; e < extents; ++e) adopt(e, view.tier_of(lun, e));
}

void CachingPolicy::dropped(const MigrationOrder& order, std::uint64_t) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    promoting_.erase(key);
    demoting_.erase(key);
    if (read_ahead_orders_.erase(key)) read_ahead_unused_.erase(key);  // never moved: no cost
}

std::vector<CachingVariant> caching_variants() {
    CachingParams readahead;
    readahead.prefetch_depth = 32;
    readahead.prefetch_feedback = true;
    CachingParams lrfu;
    lrfu.heat_half_life_us = 60'000'000;
    lrfu.evict_coldest = true;
    CachingParams admit;
    admit.admit_by_eviction_age = true;
    admit.carry_over = false;
    CachingParams slru;
    slru.heat_half_life_us = 600'000'000;
    slru.protected_share = 0.8;
    CachingParams tinylfu;
    tinylfu.sketch_admission = true;
    tinylfu.prefetch_depth = 32;
    tinylfu.prefetch_feedback = true;
    CachingParams arc;
    arc.adaptive = true;
    return {
        {"readahead",
         "promote on access and the next extents of a sequential run ahead of it, evict LRU",
         readahead},
        {"lrfu",
         "promote on access hottest first (1-minute decayed heat), evict the coldest resident "
         "only for a hotter extent",
         lrfu},
        {"slru",
         "promote on access hottest first (10-minute decayed heat), segmented LRU eviction "
         "protecting reused extents",
         slru},
        {"admit",
         "promote on access while the fast tier has room; once it is full, only an extent "
         "accessed again within the tier's eviction age (the idle time of its least recently "
         "used resident), evict LRU: extents touched once do not push out reused ones",
         admit},
        {"tinylfu",
         "promote on access most frequent first (count-min sketch of recent accesses); once the "
         "fast tier is full, evict a resident (segmented LRU) only for an extent accessed more "
         "often lately (TinyLFU admission)",
         tinylfu},
        {"arc",
         "promote on access; evict from the recency or the frequency side of the fast tier, "
         "whichever is above the share that returns of evicted extents ask for (ARC)",
         arc},
    };
}

std::unique_ptr<PlacementPolicy> make_caching_policy(const CachingVariant& variant,
                                                     const StorageModel& config) {
    CachingParams params = variant.params;
    const double per_round = config.bandwidth_bytes_per_s * static_cast<double>(config.round_us) /
                             1e6 /
                             static_cast<double>(std::max<std::uint64_t>(config.extent_bytes, 1));
    params.max_orders_per_round =
        2 * (static_cast<std::size_t>(std::ceil(per_round)) + config.max_concurrent);
    return std::make_unique<CachingPolicy>(variant.name, config.extent_bytes, params);
}

}  // namespace rbdtier
