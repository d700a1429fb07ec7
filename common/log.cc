#include "common/log.h"

#include <atomic>
#include <charconv>
#include <shared_mutex>

namespace rbdtier::log {

namespace {

constexpr int kOff = -1;  // threshold when no sink is bound

// The process's binding. Never destroyed: threads (librbd's, the runner's) may log while the
// process exits.
struct State {
    std::shared_mutex mutex;  // shared while a line is written, exclusive to bind
    Sink* sink = nullptr;
    std::atomic<int> threshold{kOff};
};

State& state() {
    static State& s = *new State;
    return s;
}

thread_local std::string_view scoped_lun;  // LunScope

}  // namespace

std::string_view to_string(Level level) {
    switch (level) {
        case Level::kError:
            return "error";
        case Level::kWarning:
            return "warning";
        case Level::kInfo:
            return "info";
        case Level::kDebug:
            return "debug";
    }
    return "?";
}

std::string Record::render() const {
    if (lun.empty()) return text;
    return lun + ": " + text;
}

bool enabled(Level level) noexcept {
    return static_cast<int>(level) <= state().threshold.load(std::memory_order_relaxed);
}

Binding::Binding(Sink& sink, Level threshold) {
    State& s = state();
    std::unique_lock lock(s.mutex);
    previous_sink_ = s.sink;
    previous_threshold_ = s.threshold.load();
    s.sink = &sink;
    s.threshold.store(static_cast<int>(threshold));
}

Binding::~Binding() {
    State& s = state();
    std::unique_lock lock(s.mutex);
    s.sink = previous_sink_;
    s.threshold.store(previous_threshold_);
}

LunScope::LunScope(std::string_view lun) noexcept : previous_(scoped_lun) {
    scoped_lun = lun;
}

LunScope::~LunScope() {
    scoped_lun = previous_;
}

std::string_view lun_or_scope(std::string_view lun) noexcept {
    return lun.empty() ? scoped_lun : lun;
}

void CaptureSink::write(const Record& record) noexcept {
    try {
        std::lock_guard lock(mutex_);
        records_.push_back(record);
    } catch (...) {  // no memory: the line is lost, as a full log device would lose it
    }
}

std::vector<Record> CaptureSink::records() const {
    std::lock_guard lock(mutex_);
    return records_;
}

std::vector<Record> CaptureSink::find(Level level, std::string_view lun,
                                      std::string_view text) const {
    std::lock_guard lock(mutex_);
    std::vector<Record> out;
    for (const Record& r : records_) {
        if (r.level == level && (lun.empty() || r.lun == lun) &&
            r.text.find(text) != std::string::npos) {
            out.push_back(r);
        }
    }
    return out;
}

void CaptureSink::clear() {
    std::lock_guard lock(mutex_);
    records_.clear();
}

Emitter::Emitter(Level level, std::string_view lun, const char* function, int line,
                 std::uint64_t suppressed) noexcept
    : suppressed_(suppressed) {
    record_.level = level;
    record_.function = function;
    record_.line = line;
    try {
        record_.lun.assign(lun_or_scope(lun));
    } catch (...) {
    }
}

Emitter::~Emitter() {
    if (suppressed_ != 0) {
        *this << " (" << suppressed_ << " more like this suppressed)";
    }
    State& s = state();
    std::shared_lock lock(s.mutex);
    // Checked again: the sink may have been unbound, or its threshold lowered, meanwhile.
    if (s.sink != nullptr && enabled(record_.level)) s.sink->write(record_);
}

void Emitter::append(std::string_view text) noexcept {
    try {
        record_.text.append(text);
    } catch (...) {
    }
}

Emitter& Emitter::signed_number(long long v) noexcept {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    return *this;
}

Emitter& Emitter::unsigned_number(unsigned long long v) noexcept {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    return *this;
}

Emitter& Emitter::operator<<(double v) noexcept {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
    append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    return *this;
}

Emitter& Emitter::operator<<(Hex h) noexcept {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, h.value, 16);
    const auto n = static_cast<int>(r.ptr - buf);
    append("0x");
    for (int i = n; i < h.digits; ++i) append("0");
    append(std::string_view(buf, static_cast<std::size_t>(n)));
    return *this;
}

RateLimit::Admission RateLimit::admit(std::string_view key, Clock::time_point now) noexcept {
    std::lock_guard lock(mutex_);
    Window* window = nullptr;
    try {
        std::string name(key);
        auto it = keys_.find(name);
        if (it == keys_.end()) it = keys_.emplace(std::move(name), Window{now, 0, 0}).first;
        window = &it->second;
    } catch (...) {
        return {true, 0};  // no memory to keep count: better a line too many than a lost one
    }
    Window& w = *window;
    if (now - w.start >= window_) {
        w.start = now;
        w.admitted = 0;
    }
    if (w.admitted >= burst_) {
        ++w.suppressed;
        return {};
    }
    ++w.admitted;
    Admission a{true, w.suppressed};
    w.suppressed = 0;
    return a;
}

}  // namespace rbdtier::log
