#include "engine/trace/trace_format.h"

#include <cstdint>
#include <cstring>

#include "engine/trace/line_parsers.h"

namespace rbdtier {

namespace {

struct Named {
    TraceFormat format;
    std::string_view name;
};
constexpr Named kNames[] = {
    {TraceFormat::kAuto, "auto"},       {TraceFormat::kMsr, "msr"},
    {TraceFormat::kSpc, "spc"},         {TraceFormat::kAlibaba, "alibaba"},
    {TraceFormat::kTencent, "tencent"}, {TraceFormat::kDiskSim, "disksim"},
    {TraceFormat::kVscsi, "vscsi"},     {TraceFormat::kCloudPhysicsCsv, "cloudphysics-csv"},
};

bool looks_binary(std::string_view head) {
    for (unsigned char c : head)
        if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return true;
    return false;
}

bool vscsi_v1(std::string_view head) {
    constexpr std::size_t kRecord = 32;
    if (head.size() < kRecord) return false;
    const std::size_t records = std::min<std::size_t>(head.size() / kRecord, 4);
    for (std::size_t r = 0; r < records; ++r) {
        std::uint16_t ver;
        std::memcpy(&ver, head.data() + r * kRecord + 14, sizeof ver);  // little-endian host
        if ((ver >> 8) != 1) return false;
    }
    return true;
}

// Does every sampled data line of `head` parse as `format`?
bool text_fits(TraceFormat format, std::string_view head) {
    auto parser = make_line_parser(format, TimeUnit::kMilliseconds);
    TraceRecord record;
    int parsed = 0, failed = 0, lines = 0;
    bool first = true;
    while (!head.empty() && parsed + failed < 8) {
        const std::size_t nl = head.find('\n');
        if (nl == std::string_view::npos && lines > 0) break;  // possibly cut: ignore the tail
        std::string_view line = head.substr(0, nl);
        head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
        ++lines;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (first && parser->is_header(line)) {
            first = false;
            continue;
        }
        try {
            parser->parse(line, record);
            ++parsed;
        } catch (const RecordError&) {
            if (first) return false;  // the first record must fit; later ones may be damaged
            ++failed;
        }
        first = false;
    }
    return parsed > 0 && parsed >= failed;
}

}  // namespace

std::optional<TraceFormat> parse_trace_format(std::string_view name) {
    for (const auto& n : kNames)
        if (n.name == name) return n.format;
    return std::nullopt;
}

std::string_view trace_format_name(TraceFormat format) {
    for (const auto& n : kNames)
        if (n.format == format) return n.name;
    return "?";
}

std::vector<TraceFormat> all_trace_formats() {
    std::vector<TraceFormat> out;
    for (const auto& n : kNames)
        if (n.format != TraceFormat::kAuto) out.push_back(n.format);
    return out;
}

std::optional<TimeUnit> parse_time_unit(std::string_view name) {
    if (name == "ns") return TimeUnit::kNanoseconds;
    if (name == "us") return TimeUnit::kMicroseconds;
    if (name == "ms") return TimeUnit::kMilliseconds;
    if (name == "s") return TimeUnit::kSeconds;
    return std::nullopt;
}

double microseconds_per(TimeUnit unit) {
    switch (unit) {
        case TimeUnit::kNanoseconds:
            return 1e-3;
        case TimeUnit::kMicroseconds:
            return 1;
        case TimeUnit::kMilliseconds:
            return 1e3;
        case TimeUnit::kSeconds:
            return 1e6;
    }
    return 1;
}

std::optional<TraceFormat> detect_trace_format(std::string_view head) {
    if (head.empty()) return std::nullopt;
    if (looks_binary(head)) {
        if (vscsi_v1(head)) return TraceFormat::kVscsi;
        return std::nullopt;
    }
    for (TraceFormat f :
         {TraceFormat::kMsr, TraceFormat::kSpc, TraceFormat::kAlibaba, TraceFormat::kTencent,
          TraceFormat::kCloudPhysicsCsv, TraceFormat::kDiskSim})
        if (text_fits(f, head)) return f;
    return std::nullopt;
}

}  // namespace rbdtier
