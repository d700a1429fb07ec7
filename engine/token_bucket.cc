#include "engine/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

TokenBucket::TokenBucket(double rate_bytes_per_s, double depth_bytes, std::uint64_t now_us)
    : rate_(rate_bytes_per_s), depth_bytes_(depth_bytes), refilled_us_(now_us) {
    level_ = depth();
}

TokenBucket::TokenBucket(const TokenBucket& other)
    : rate_(other.rate()),
      depth_bytes_(other.depth_bytes_),
      level_(other.level_),
      refilled_us_(other.refilled_us_) {}

TokenBucket& TokenBucket::operator=(const TokenBucket& other) {
    set_rate(other.rate());
    depth_bytes_ = other.depth_bytes_;
    level_ = other.level_;
    refilled_us_ = other.refilled_us_;
    return *this;
}

double TokenBucket::level_at(std::uint64_t now_us) const {
    const double rate = this->rate();
    const double depth = depth_bytes_ != 0 ? depth_bytes_ : rate;
    if (now_us <= refilled_us_) return std::min(depth, level_);
    return std::min(depth, level_ + rate * static_cast<double>(now_us - refilled_us_) / 1e6);
}

void TokenBucket::refill(std::uint64_t now_us) {
    level_ = level_at(now_us);
    refilled_us_ = std::max(refilled_us_, now_us);
}

std::uint64_t TokenBucket::wait_us(double bytes, std::uint64_t now_us) const {
    const double missing = bytes - level_at(now_us);
    if (missing <= 0) return 0;
    const double rate = this->rate();
    if (!(rate > 0)) return kNever;
    const double wait = std::ceil(missing / rate * 1e6);
    if (!(wait < 1e19)) return kNever;  // beyond any clock
    return static_cast<std::uint64_t>(wait);
}

void TokenBucket::give_back(double bytes) {
    level_ = std::min(depth(), level_ + bytes);
}

void TokenBucket::cover(double bytes) {
    level_ = std::max(level_, bytes);
}

bool TokenBucket::await(double bytes, std::uint64_t deadline_us, const Clock& clock,
                        const Sleep& sleep) {
    for (;;) {
        const std::uint64_t now = clock();
        refill(now);
        const std::uint64_t wait = wait_us(bytes, now);
        if (wait == 0) return true;
        if (wait == kNever || now + wait > deadline_us) return false;
        if (!sleep(wait)) return false;
    }
}

}  // namespace rbdtier
