// log.h — how engine/, ceph/ and handler/ code tells an admin what the gateway does.
//
// Code logs with the RBDTIER_LOG_* macros: a level, the LUN the line is about ("" for none) and
// the text, built with operator<< (no printf: strings, characters, integers, floating point,
// log::Hex, or a function that appends to the line). Nothing is written until a sink is bound: the
// handler binds one writing to tcmu-runner's log, tests bind a CaptureSink. A line whose level is
// off costs one relaxed atomic load; its operands are not evaluated. Logging never throws.
// A LunScope names the LUN of the lines logged without one on its thread while it lives: code
// that knows a LUN only by number (engine/) logs with "", inside the scope of the code that knows
// its name (a LUN's tiering rounds).
// RBDTIER_LOG_LIMITED is for what can repeat fast (per command, per round): at each call site, per
// LUN, at most RateLimit::kDefaultBurst lines in every RateLimit::kDefaultWindow; the first line
// let through after some were suppressed says how many (a count not followed by another line of
// the same site and LUN is never told). A call site's limit lives for the whole process.
// Thread-safety: any thread may log at any time. Binding waits for the lines being written to the
// previous sink, so a sink may be destroyed once its Binding is gone. A Sink's write() is called
// from whatever thread logs, possibly from several at once; it must not log itself.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rbdtier::log {

// From the most to the least important; a sink takes lines up to its threshold.
enum class Level : std::uint8_t { kError, kWarning, kInfo, kDebug };
std::string_view to_string(Level level);

// One line, as a sink receives it.
struct Record {
    Level level = Level::kInfo;
    std::string lun;             // "pool[/ns]/image", or "" when about no one LUN
    std::string text;            // no trailing newline
    const char* function = "";   // of the call site
    int line = 0;                // of the call site
    std::string render() const;  // "<lun>: <text>", or "<text>" without a LUN
};

class Sink {
public:
    virtual ~Sink() = default;
    virtual void write(const Record& record) noexcept = 0;
};

// Whether a line of `level` reaches a sink now.
bool enabled(Level level) noexcept;

// Binds `sink` with `threshold` for its lifetime, then gives back what was bound before (bindings
// nest; destroy them in reverse order). The sink must outlive the Binding.
class Binding {
public:
    Binding(Sink& sink, Level threshold);
    ~Binding();
    Binding(const Binding&) = delete;
    Binding& operator=(const Binding&) = delete;

private:
    Sink* previous_sink_;
    int previous_threshold_;
};

// Lines of this thread logged with no LUN are about `lun` while the scope lives (scopes nest;
// destroy them in reverse order). `lun` must outlive the scope.
class LunScope {
public:
    explicit LunScope(std::string_view lun) noexcept;
    ~LunScope();
    LunScope(const LunScope&) = delete;
    LunScope& operator=(const LunScope&) = delete;

private:
    std::string_view previous_;
};

// `lun`, or when it is empty the LUN of this thread's innermost LunScope ("" without one).
std::string_view lun_or_scope(std::string_view lun) noexcept;

// Keeps every line (for tests). Thread-safe.
class CaptureSink : public Sink {
public:
    void write(const Record& record) noexcept override;
    std::vector<Record> records() const;
    // The records at `level` whose LUN is `lun` (any LUN when empty) and whose text contains
    // `text`.
    std::vector<Record> find(Level level, std::string_view lun, std::string_view text) const;
    void clear();

private:
    mutable std::mutex mutex_;
    std::vector<Record> records_;
};

// Hexadecimal with a 0x prefix, zero-padded to `digits`: opcodes, sense codes.
struct Hex {
    std::uint64_t value;
    int digits = 2;
};

// The line being built by a macro; writes it to the sink when destroyed.
class Emitter {
public:
    Emitter(Level level, std::string_view lun, const char* function, int line,
            std::uint64_t suppressed = 0) noexcept;
    ~Emitter();
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;

    // Appending never throws: a line that cannot grow (no memory) is written as far as it got.
    Emitter& operator<<(std::string_view text) noexcept {
        append(text);
        return *this;
    }
    Emitter& operator<<(const char* text) noexcept { return *this << std::string_view(text); }
    Emitter& operator<<(const std::string& text) noexcept {
        return *this << std::string_view(text);
    }
    Emitter& operator<<(char c) noexcept { return *this << std::string_view(&c, 1); }
    Emitter& operator<<(bool b) noexcept { return *this << (b ? "true" : "false"); }
    template <std::signed_integral T>
    requires(!std::same_as<T, char>) Emitter& operator<<(T v) noexcept {
        return signed_number(static_cast<long long>(v));
    }
    template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>) Emitter& operator<<(T v) noexcept {
        return unsigned_number(static_cast<unsigned long long>(v));
    }
    Emitter& operator<<(double v) noexcept;
    Emitter& operator<<(Hex h) noexcept;
    // A function that appends to the line itself (for text built by branches).
    template <typename F>
    requires std::invocable<F&, Emitter&> Emitter& operator<<(F&& append_to) noexcept {
        try {
            append_to(*this);
        } catch (...) {  // no memory: the line goes out as far as it got
        }
        return *this;
    }

private:
    void append(std::string_view text) noexcept;
    Emitter& signed_number(long long v) noexcept;
    Emitter& unsigned_number(unsigned long long v) noexcept;

    Record record_;
    std::uint64_t suppressed_;
};

// Lets at most `burst` lines per key through in every `window`. Thread-safe.
class RateLimit {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::uint32_t kDefaultBurst = 10;
    static constexpr std::chrono::seconds kDefaultWindow{60};

    struct Admission {
        bool admitted = false;
        std::uint64_t suppressed = 0;  // lines of the key refused since the last one admitted
        explicit operator bool() const { return admitted; }
    };

    explicit RateLimit(std::uint32_t burst = kDefaultBurst, Clock::duration window = kDefaultWindow)
        : burst_(burst), window_(window) {}
    Admission admit(std::string_view key, Clock::time_point now = Clock::now()) noexcept;

private:
    struct Window {
        Clock::time_point start;
        std::uint32_t admitted = 0;
        std::uint64_t suppressed = 0;
    };
    std::uint32_t burst_;
    Clock::duration window_;
    std::mutex mutex_;
    std::unordered_map<std::string, Window> keys_;
};

}  // namespace rbdtier::log

#define RBDTIER_LOG(level, lun, ...)                                                    \
    do {                                                                                \
        if (::rbdtier::log::enabled(level))                                             \
            ::rbdtier::log::Emitter((level), (lun), __func__, __LINE__) << __VA_ARGS__; \
    } while (0)

#define RBDTIER_LOG_LIMITED(level, lun, ...)                                               \
    do {                                                                                   \
        if (::rbdtier::log::enabled(level)) {                                              \
            static auto& rbdtier_log_limit_ = *new ::rbdtier::log::RateLimit;              \
            const std::string_view rbdtier_log_lun_ = ::rbdtier::log::lun_or_scope(lun);   \
            if (const auto rbdtier_log_pass_ = rbdtier_log_limit_.admit(rbdtier_log_lun_)) \
                ::rbdtier::log::Emitter((level), rbdtier_log_lun_, __func__, __LINE__,     \
                                        rbdtier_log_pass_.suppressed)                      \
                    << __VA_ARGS__;                                                        \
        }                                                                                  \
    } while (0)

#define RBDTIER_LOG_ERROR(lun, ...) RBDTIER_LOG(::rbdtier::log::Level::kError, lun, __VA_ARGS__)
#define RBDTIER_LOG_WARNING(lun, ...) RBDTIER_LOG(::rbdtier::log::Level::kWarning, lun, __VA_ARGS__)
#define RBDTIER_LOG_INFO(lun, ...) RBDTIER_LOG(::rbdtier::log::Level::kInfo, lun, __VA_ARGS__)
#define RBDTIER_LOG_DEBUG(lun, ...) RBDTIER_LOG(::rbdtier::log::Level::kDebug, lun, __VA_ARGS__)
