#include "engine/trace/line_parsers.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace rbdtier {

namespace {

constexpr std::uint64_t kSector = 512;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::string shown(std::string_view s) {
    constexpr std::size_t kMax = 40;
    return "'" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...'" : "'");
}

// Splits `line` into exactly N fields on `sep` (or on runs of blanks when sep == ' ').
template <std::size_t N>
std::array<std::string_view, N> split(std::string_view line, char sep,
                                      const std::array<const char*, N>& names) {
    std::array<std::string_view, N> out{};
    std::size_t count = 0;
    if (sep == ' ') {
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
            if (i >= line.size()) break;
            std::size_t j = i;
            while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
            if (count < N) out[count] = line.substr(i, j - i);
            ++count;
            i = j;
        }
    } else {
        std::size_t start = 0;
        while (true) {
            const std::size_t pos = line.find(sep, start);
            const auto field =
                line.substr(start, pos == std::string_view::npos ? pos : pos - start);
            if (count < N) out[count] = trim(field);
            ++count;
            if (pos == std::string_view::npos) break;
            start = pos + 1;
        }
    }
    if (count < N) {
        std::string expected;
        for (auto* n : names) expected += (expected.empty() ? "" : ",") + std::string(n);
        throw RecordError("expected " + std::to_string(N) + " fields (" + expected + "), found " +
                          std::to_string(count));
    }
    // Extra trailing fields are tolerated only for whitespace formats (DiskSim may append).
    if (count > N && sep != ' ')
        throw RecordError("expected " + std::to_string(N) + " fields, found " +
                          std::to_string(count));
    return out;
}

[[noreturn]] void bad_field(std::size_t index, const char* name, std::string_view value,
                            const char* what) {
    throw RecordError("field " + std::to_string(index + 1) + " (" + name + "): " + what + ": " +
                      shown(value));
}

std::uint64_t to_u64(std::string_view s, std::size_t index, const char* name, int base = 10) {
    std::uint64_t v = 0;
    if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s.remove_prefix(2);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
        bad_field(index, name, s,
                  ec == std::errc::result_out_of_range ? "out of range" : "not a number");
    return v;
}

double to_double(std::string_view s, std::size_t index, const char* name) {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0)
        bad_field(index, name, s, "not a non-negative number");
    return v;
}

std::int64_t scaled_us(double value, double us_per_unit, std::size_t index, const char* name,
                       std::string_view raw) {
    const double us = value * us_per_unit;
    if (us > 9.2e18) bad_field(index, name, raw, "out of range");
    return static_cast<std::int64_t>(std::llround(us));
}

std::uint64_t sectors(std::uint64_t n, std::size_t index, const char* name, std::string_view raw) {
    if (n > std::numeric_limits<std::uint64_t>::max() / kSector)
        bad_field(index, name, raw, "out of range");
    return n * kSector;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// MSR Cambridge: Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
class MsrParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 7> kNames = {
            "Timestamp", "Hostname", "DiskNumber", "Type", "Offset", "Size", "ResponseTime"};
        const auto f = split<7>(line, ',', kNames);
        const std::uint64_t ticks = to_u64(f[0], 0, kNames[0]);
        out.time_us = static_cast<std::int64_t>(ticks / 10);
        if (f[1].empty()) bad_field(1, kNames[1], f[1], "empty");
        to_u64(f[2], 2, kNames[2]);
        if (iequals(f[3], "read"))
            out.op = IoOp::kRead;
        else if (iequals(f[3], "write"))
            out.op = IoOp::kWrite;
        else
            bad_field(3, kNames[3], f[3], "expected Read or Write");
        out.offset = to_u64(f[4], 4, kNames[4]);
        out.length = to_u64(f[5], 5, kNames[5]);
        const std::uint64_t rt = f[6].empty() ? 0 : to_u64(f[6], 6, kNames[6]);
        out.latency_us = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(rt / 10, std::numeric_limits<std::uint32_t>::max()));
        key_.assign(f[1]);
        key_ += '/';
        key_.append(f[2]);
        out.volume = key_;
        out.initiator = std::string_view(key_).substr(0, f[1].size());
        out.skip = false;
    }

private:
    std::string key_;
};

// SNIA/UMass SPC: ASU,LBA,Size,Opcode,Timestamp
class SpcParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 5> kNames = {"ASU", "LBA", "Size", "Opcode",
                                                              "Timestamp"};
        const auto f = split<5>(line, ',', kNames);
        to_u64(f[0], 0, kNames[0]);
        out.offset = sectors(to_u64(f[1], 1, kNames[1]), 1, kNames[1], f[1]);
        out.length = to_u64(f[2], 2, kNames[2]);
        if (iequals(f[3], "r"))
            out.op = IoOp::kRead;
        else if (iequals(f[3], "w"))
            out.op = IoOp::kWrite;
        else
            bad_field(3, kNames[3], f[3], "expected r or w");
        out.time_us = scaled_us(to_double(f[4], 4, kNames[4]), 1e6, 4, kNames[4], f[4]);
        key_.assign("asu");
        key_.append(f[0]);
        out.volume = key_;
        out.initiator = {};
        out.skip = false;
    }

private:
    std::string key_;
};

// Alibaba block traces: device_id,opcode,offset,length,timestamp (µs)
class AlibabaParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 5> kNames = {"device_id", "opcode", "offset",
                                                              "length", "timestamp"};
        const auto f = split<5>(line, ',', kNames);
        to_u64(f[0], 0, kNames[0]);
        if (iequals(f[1], "r"))
            out.op = IoOp::kRead;
        else if (iequals(f[1], "w"))
            out.op = IoOp::kWrite;
        else
            bad_field(1, kNames[1], f[1], "expected R or W");
        out.offset = to_u64(f[2], 2, kNames[2]);
        out.length = to_u64(f[3], 3, kNames[3]);
        out.time_us = static_cast<std::int64_t>(to_u64(f[4], 4, kNames[4]));
        key_.assign("dev");
        key_.append(f[0]);
        out.volume = key_;
        out.initiator = {};
        out.skip = false;
    }

private:
    std::string key_;
};

// Tencent CBS: Timestamp,Offset,Size,IOType,VolumeID (seconds, sectors, sectors, 0 read 1 write)
class TencentParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 5> kNames = {"Timestamp", "Offset", "Size",
                                                              "IOType", "VolumeID"};
        const auto f = split<5>(line, ',', kNames);
        out.time_us = scaled_us(to_double(f[0], 0, kNames[0]), 1e6, 0, kNames[0], f[0]);
        out.offset = sectors(to_u64(f[1], 1, kNames[1]), 1, kNames[1], f[1]);
        out.length = sectors(to_u64(f[2], 2, kNames[2]), 2, kNames[2], f[2]);
        if (f[3] == "0")
            out.op = IoOp::kRead;
        else if (f[3] == "1")
            out.op = IoOp::kWrite;
        else
            bad_field(3, kNames[3], f[3], "expected 0 (read) or 1 (write)");
        to_u64(f[4], 4, kNames[4]);
        key_.assign("vol");
        key_.append(f[4]);
        out.volume = key_;
        out.initiator = {};
        out.skip = false;
    }

private:
    std::string key_;
};

// DiskSim ASCII: arrival_time device lba size flags (blank separated; sectors; flags bit 0 = read)
class DiskSimParser final : public LineParser {
public:
    explicit DiskSimParser(TimeUnit unit) : us_per_unit_(microseconds_per(unit)) {}
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 5> kNames = {"arrival_time", "device", "lba",
                                                              "size", "flags"};
        const auto f = split<5>(line, ' ', kNames);
        out.time_us = scaled_us(to_double(f[0], 0, kNames[0]), us_per_unit_, 0, kNames[0], f[0]);
        to_u64(f[1], 1, kNames[1]);
        out.offset = sectors(to_u64(f[2], 2, kNames[2]), 2, kNames[2], f[2]);
        out.length = sectors(to_u64(f[3], 3, kNames[3]), 3, kNames[3], f[3]);
        out.op = (to_u64(f[4], 4, kNames[4]) & 1) ? IoOp::kRead : IoOp::kWrite;
        key_.assign("dev");
        key_.append(f[1]);
        out.volume = key_;
        out.initiator = {};
        out.skip = false;
    }
    bool is_header(std::string_view) const override { return false; }

private:
    double us_per_unit_;
    std::string key_;
};

// CloudPhysics CSV: version,time,op,size,lbn (µs, SCSI opcode in hex, bytes, sectors)
class CloudPhysicsCsvParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        static constexpr std::array<const char*, 5> kNames = {"version", "time", "op", "size",
                                                              "lbn"};
        const auto f = split<5>(line, ',', kNames);
        to_u64(f[0], 0, kNames[0]);
        out.time_us = static_cast<std::int64_t>(to_u64(f[1], 1, kNames[1]));
        const std::uint64_t opcode = to_u64(f[2], 2, kNames[2], 16);
        if (opcode > 0xff) bad_field(2, kNames[2], f[2], "not a SCSI opcode");
        out.skip = !scsi_opcode_op(static_cast<unsigned>(opcode), out.op);
        out.length = to_u64(f[3], 3, kNames[3]);
        out.offset = sectors(to_u64(f[4], 4, kNames[4]), 4, kNames[4], f[4]);
        out.volume = "disk";
        out.initiator = {};
    }
};

}  // namespace

bool LineParser::is_header(std::string_view line) const {
    line = trim(line);
    return !line.empty() &&
           ((line[0] >= 'a' && line[0] <= 'z') || (line[0] >= 'A' && line[0] <= 'Z'));
}

bool scsi_opcode_op(unsigned opcode, IoOp& op) {
    switch (opcode) {
        case 0x08:
        case 0x28:
        case 0x88:
        case 0xa8:
            op = IoOp::kRead;
            return true;
        case 0x0a:
        case 0x2a:
        case 0x8a:
        case 0xaa:
            op = IoOp::kWrite;
            return true;
        case 0x42:
            op = IoOp::kUnmap;
            return true;
        default:
            return false;
    }
}

std::unique_ptr<LineParser> make_line_parser(TraceFormat format, TimeUnit disksim_unit) {
    switch (format) {
        case TraceFormat::kMsr:
            return std::make_unique<MsrParser>();
        case TraceFormat::kSpc:
            return std::make_unique<SpcParser>();
        case TraceFormat::kAlibaba:
            return std::make_unique<AlibabaParser>();
        case TraceFormat::kTencent:
            return std::make_unique<TencentParser>();
        case TraceFormat::kDiskSim:
            return std::make_unique<DiskSimParser>(disksim_unit);
        case TraceFormat::kCloudPhysicsCsv:
            return std::make_unique<CloudPhysicsCsvParser>();
        case TraceFormat::kAuto:
        case TraceFormat::kVscsi:
            break;
    }
    return nullptr;
}

}  // namespace rbdtier
