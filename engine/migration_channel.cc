#include "engine/migration_channel.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rbdtier {

namespace {
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// The spec with its floors: a positive bandwidth, one slot.
ChannelSpec floored(ChannelSpec spec) {
    spec.bandwidth_bytes_per_s = std::max(spec.bandwidth_bytes_per_s, 1.0);
    spec.max_concurrent = std::max(spec.max_concurrent, 1u);
    return spec;
}

// bucket_bytes, or one second of bandwidth, and never less than one extent.
double bucket_depth(const ChannelSpec& spec) {
    const double depth = spec.bucket_bytes != 0 ? static_cast<double>(spec.bucket_bytes)
                                                : spec.bandwidth_bytes_per_s;
    return std::max(depth, static_cast<double>(spec.extent_bytes));
}

// How long one extent occupies the link (at least 1 µs).
std::uint64_t extent_time_us(const ChannelSpec& spec) {
    const double bytes = static_cast<double>(spec.extent_bytes);
    return std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(bytes / spec.bandwidth_bytes_per_s * 1e6)));
}
}  // namespace

MigrationChannel::MigrationChannel(ChannelSpec spec, std::uint64_t start_us)
    : spec_(floored(spec)),
      bucket_(spec_.bandwidth_bytes_per_s, bucket_depth(spec_), start_us),
      extent_us_(extent_time_us(spec_)),
      clock_us_(start_us) {}

void MigrationChannel::set_spec(ChannelSpec spec, std::uint64_t now_us) {
    clock_us_ = std::max(clock_us_, now_us);
    const double level = bucket_.level_at(clock_us_);
    spec_ = floored(spec);
    bucket_ = TokenBucket(spec_.bandwidth_bytes_per_s, bucket_depth(spec_), clock_us_);
    bucket_.take(bucket_.depth() - std::min(level, bucket_.depth()));
    extent_us_ = extent_time_us(spec_);
}

std::uint64_t MigrationChannel::next_start_us() const {
    if (queue_.empty() || flights_.size() >= spec_.max_concurrent) return kNever;
    return clock_us_ + bucket_.wait_us(static_cast<double>(spec_.extent_bytes), clock_us_);
}

std::vector<MigrationOrder> MigrationChannel::replace_queue(std::vector<MigrationOrder> orders,
                                                            std::uint64_t now_us) {
    clock_us_ = std::max(clock_us_, now_us);
    std::vector<MigrationOrder> left(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.end()));
    queue_.assign(std::make_move_iterator(orders.begin()), std::make_move_iterator(orders.end()));
    return left;
}

std::size_t MigrationChannel::round(std::uint64_t now_us, const Refused& withdrawn,
                                    const std::function<std::vector<MigrationOrder>()>& plan,
                                    const Owner& owner) {
    advance(now_us, owner);
    for (const MigrationOrder& left : replace_queue({}, now_us)) withdrawn(left, now_us);
    std::vector<MigrationOrder> orders = plan();
    const std::size_t planned = orders.size();
    replace_queue(std::move(orders), now_us);
    advance(now_us, owner);
    return planned;
}

void MigrationChannel::advance(std::uint64_t now_us, const Admit& admit, const Refused& refused,
                               const Completed& completed) {
    const double need = static_cast<double>(spec_.extent_bytes);
    for (;;) {
        const std::uint64_t done_at = flights_.empty() ? kNever : flights_.front().finish_us;
        const std::uint64_t start_at = next_start_us();
        const std::uint64_t t = std::min(done_at, start_at);
        if (t == kNever || t > now_us) break;
        clock_us_ = std::max(clock_us_, t);
        if (done_at <= start_at) {
            const Flight flight = std::move(flights_.front());
            flights_.pop_front();
            completed(flight);
            continue;
        }
        bucket_.refill(clock_us_);
        bucket_.cover(need);  // start_at was computed to have them (rounding)
        MigrationOrder order = std::move(queue_.front());
        queue_.pop_front();
        if (!admit(order, clock_us_)) {
            refused(order, clock_us_);
            continue;
        }
        bucket_.take(need);
        bytes_started_ += spec_.extent_bytes;
        Flight flight{std::move(order), std::max(clock_us_, link_free_us_), 0};
        flight.finish_us = flight.start_us + extent_us_;
        link_free_us_ = flight.finish_us;
        flights_.push_back(std::move(flight));
    }
    clock_us_ = std::max(clock_us_, now_us);
}

}  // namespace rbdtier
