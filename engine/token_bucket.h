// TokenBucket: a migration bandwidth budget. Tokens are bytes; the bucket fills continuously at
// `rate` bytes per second up to its depth, and a migration takes its bytes out of it before it
// starts. It starts full.
//
// Depth: a fixed number of bytes, or (depth 0) one second of the rate in force, which follows
// set_rate(): lowering the rate lowers what the bucket holds at the next refill.
//
// Time: the bucket reads no clock. Every call that depends on time takes `now_us`, microseconds
// on the caller's clock (steady time, or a simulation's time), and await() asks an injected
// Clock and Sleep; tests drive it with a fake clock. Times before the last refill count as the
// last refill (no tokens are taken back for a clock going backwards).
//
// Thread-safety: set_rate() and rate() may be called from any thread at any time (the new rate
// applies from the next refill on, to the whole interval since the previous one). Every other
// member must be called by one thread at a time: the caller serializes them.
//
// What the caller owes: take() only the bytes it saw there (level() after refill(), or await()
// returning true); a rate that is not positive makes the bucket never fill (wait_us() says
// kNever). A request larger than the depth is never there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>

namespace rbdtier {

class TokenBucket {
public:
    static constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();
    // Microseconds now, on the caller's clock.
    using Clock = std::function<std::uint64_t()>;
    // Waits about `wait_us` (or less); returns false if the wait was cut short for good (the
    // caller stops), so await() gives up.
    using Sleep = std::function<bool(std::uint64_t wait_us)>;

    // Full at `now_us`. depth_bytes 0: one second of the rate.
    TokenBucket(double rate_bytes_per_s, double depth_bytes, std::uint64_t now_us);

    TokenBucket(const TokenBucket& other);
    TokenBucket& operator=(const TokenBucket& other);

    void set_rate(double bytes_per_s) { rate_.store(bytes_per_s, std::memory_order_relaxed); }
    double rate() const { return rate_.load(std::memory_order_relaxed); }
    // The most the bucket holds at the rate in force.
    double depth() const { return depth_bytes_ != 0 ? depth_bytes_ : rate(); }

    // Adds the tokens of the time since the last refill (nothing if `now_us` is not later), at
    // most up to the depth.
    void refill(std::uint64_t now_us);
    // Tokens as of the last refill.
    double level() const { return level_; }
    // Tokens refill(now_us) would leave, without refilling.
    double level_at(std::uint64_t now_us) const;
    // Microseconds from `now_us` until `bytes` of tokens are there (0: they are; kNever: the
    // rate is not positive). Rounded up: refill(now_us + wait) finds them, up to floating point
    // rounding (see cover()).
    std::uint64_t wait_us(double bytes, std::uint64_t now_us) const;
    // Takes `bytes` of tokens out.
    void take(double bytes) { level_ -= bytes; }
    // Puts back `bytes` taken for a migration that never ran, at most up to the depth.
    void give_back(double bytes);
    // Raises the level to `bytes` if it is below: for a caller that waited wait_us() and found
    // the tokens a rounding error short.
    void cover(double bytes);

    // Waits (with `sleep`) until `bytes` of tokens are there, refilling on `clock`; gives up if
    // they would come after `deadline_us`, the rate is not positive, or `sleep` returns false.
    // Whether they are there (not taken: take() them).
    bool await(double bytes, std::uint64_t deadline_us, const Clock& clock, const Sleep& sleep);

private:
    std::atomic<double> rate_;
    double depth_bytes_ = 0;
    double level_ = 0;
    std::uint64_t refilled_us_ = 0;
};

}  // namespace rbdtier
