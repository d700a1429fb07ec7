#include "handler/connection_guard.h"

namespace rbdtier {

void ServerLog::warn(const std::string& kind, const std::string& line) {
    const auto now = std::chrono::steady_clock::now();
    Kind& k = kinds_[kind];
    if (k.said && now - k.last < period_) {
        ++k.held;
        return;
    }
    std::string out = line;
    if (k.held > 0) out += " (" + std::to_string(k.held) + " more since the last report)";
    k.said = true;
    k.last = now;
    k.held = 0;
    if (sink_) sink_(out);
}

SessionLimit::Member::~Member() {
    if (limit_) limit_->leave(*this);
}

bool SessionLimit::admit(Member& m) {
    bool cut = false;
    while (members_.size() >= max_) {
        Member* oldest = members_.front();
        leave(*oldest);
        ++cuts_;
        cut = true;
        oldest->cut("too many sessions (at most " + std::to_string(max_) +
                    "): the oldest is closed to make room");
    }
    m.limit_ = this;
    m.slot_ = members_.insert(members_.end(), &m);
    return cut;
}

void SessionLimit::leave(Member& m) {
    if (m.limit_ != this) return;
    members_.erase(m.slot_);
    m.limit_ = nullptr;
}

void AcceptPause::then(std::function<void()> accept) {
    ++pauses_;
    timer_.expires_after(pause_);
    timer_.async_wait([accept = std::move(accept)](boost::system::error_code ec) {
        if (!ec) accept();
    });
}

}  // namespace rbdtier
