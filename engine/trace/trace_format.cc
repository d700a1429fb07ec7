#include "engine/trace/trace_format.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/trace/line_parsers.h"

namespace rbdtier {

namespace {

struct Named {
    TraceFormat format;
    std::string_view name;
};
constexpr Named kNames[] = {
    {TraceFormat::kAuto, "auto"},         {TraceFormat::kMsr, "msr"},
    {TraceFormat::kSpc, "spc"},           {TraceFormat::kAlibaba, "alibaba"},
    {TraceFormat::kTencent, "tencent"},   {TraceFormat::kDiskSim, "disksim"},
    {TraceFormat::kVscsi, "vscsi"},       {TraceFormat::kCloudPhysicsCsv, "cloudphysics-csv"},
    {TraceFormat::kReplayer, "replayer"}, {TraceFormat::kBlkReplay, "blkreplay"},
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

// Complete lines of `head` (a possibly cut last line is left out), without trailing blanks.
std::vector<std::string_view> head_lines(std::string_view head) {
    std::vector<std::string_view> out;
    while (!head.empty()) {
        const std::size_t nl = head.find('\n');
        if (nl == std::string_view::npos && !out.empty()) break;
        std::string_view line = head.substr(0, nl);
        head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        out.push_back(line);
    }
    return out;
}

// blkreplay: some line is a record, and the records come after free text or nothing at all.
bool blkreplay_fits(std::string_view head) {
    auto parser = make_line_parser(TraceFormat::kBlkReplay, TimeUnit::kSeconds);
    TraceRecord record;
    int parsed = 0;
    for (std::string_view line : head_lines(head)) {
        if (line.find(';') == std::string_view::npos) continue;
        try {
            parser->parse(line, record);
            if (++parsed >= 2) return true;
        } catch (const RecordError&) {
        }
    }
    return parsed > 0;
}

// The replayer layout: DiskSim's columns, with byte offsets and sizes (whole sectors) and op 0/1.
bool replayer_fits(std::string_view head) {
    if (!text_fits(TraceFormat::kReplayer, head)) return false;
    auto parser = make_line_parser(TraceFormat::kReplayer, TimeUnit::kMilliseconds);
    TraceRecord record;
    int parsed = 0;
    for (std::string_view line : head_lines(head)) {
        if (line.empty() || line.front() == '#') continue;
        try {
            parser->parse(line, record);
        } catch (const RecordError&) {
            continue;
        }
        if (record.length < 512 || record.length % 512 != 0 || record.offset % 512 != 0)
            return false;
        if (++parsed >= 16) break;
    }
    return parsed > 0;
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
    if (blkreplay_fits(head)) return TraceFormat::kBlkReplay;
    if (replayer_fits(head)) return TraceFormat::kReplayer;
    for (TraceFormat f :
         {TraceFormat::kMsr, TraceFormat::kSpc, TraceFormat::kAlibaba, TraceFormat::kTencent,
          TraceFormat::kCloudPhysicsCsv, TraceFormat::kDiskSim})
        if (text_fits(f, head)) return f;
    return std::nullopt;
}

}  // namespace rbdtier
