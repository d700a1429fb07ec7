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

// The N named fields of one trace line (names: string literals, in column order). Each accessor
// reads field i (0-based) and converts it, or throws RecordError
// "field <i+1> (<name>): <what>: '<value>'".
template <std::size_t N>
class Fields {
public:
    Fields(std::string_view line, char sep, const std::array<const char*, N>& names)
        : names_(names), fields_(split<N>(line, sep, names_)) {}

    std::string_view text(std::size_t i) const { return fields_[i]; }

    [[noreturn]] void bad(std::size_t i, const char* what) const {
        bad_field(i, names_[i], fields_[i], what);
    }

    std::uint64_t u64(std::size_t i, int base = 10) const {
        std::string_view s = fields_[i];
        std::uint64_t v = 0;
        if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            s.remove_prefix(2);
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size())
            bad_field(i, names_[i], s,
                      ec == std::errc::result_out_of_range ? "out of range" : "not a number");
        return v;
    }

    // A count of 512-byte sectors, in bytes.
    std::uint64_t sector_bytes(std::size_t i) const {
        const std::uint64_t n = u64(i);
        if (n > std::numeric_limits<std::uint64_t>::max() / kSector) bad(i, "out of range");
        return n * kSector;
    }

    // A time in whole microseconds (an unsigned integer that a signed 64-bit time holds).
    std::int64_t whole_time_us(std::size_t i) const {
        const std::uint64_t v = u64(i);
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            bad(i, "out of range");
        return static_cast<std::int64_t>(v);
    }

    // A non-negative time in units of `us_per_unit` microseconds, in whole microseconds.
    std::int64_t time_us(std::size_t i, double us_per_unit) const {
        const std::string_view s = fields_[i];
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) ||
            v < 0)
            bad(i, "not a non-negative number");
        const double us = v * us_per_unit;
        if (us > 9.2e18) bad(i, "out of range");
        return static_cast<std::int64_t>(std::llround(us));
    }

    // Read or write, by a case-insensitive word; anything else is `what`.
    IoOp op(std::size_t i, std::string_view read, std::string_view write, const char* what) const {
        if (iequals(fields_[i], read)) return IoOp::kRead;
        if (iequals(fields_[i], write)) return IoOp::kWrite;
        bad(i, what);
    }

private:
    std::array<const char*, N> names_;
    std::array<std::string_view, N> fields_;
};

// A parser whose volume key is built from the line (valid until the next parse).
class KeyedParser : public LineParser {
protected:
    // Sets out.volume to prefix + id, with no initiator of its own, as a data I/O record.
    void name_volume(TraceRecord& out, std::string_view prefix, std::string_view id) {
        key_.assign(prefix);
        key_.append(id);
        out.volume = key_;
        out.initiator = {};
        out.skip = false;
    }

private:
    std::string key_;
};

// MSR Cambridge: Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
class MsrParser final : public KeyedParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<7> f(
            line, ',',
            {"Timestamp", "Hostname", "DiskNumber", "Type", "Offset", "Size", "ResponseTime"});
        out.time_us = static_cast<std::int64_t>(f.u64(0) / 10);
        const std::string_view host = f.text(1);
        if (host.empty()) f.bad(1, "empty");
        f.u64(2);
        out.op = f.op(3, "read", "write", "expected Read or Write");
        out.offset = f.u64(4);
        out.length = f.u64(5);
        const std::uint64_t rt = f.text(6).empty() ? 0 : f.u64(6);
        out.latency_us = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(rt / 10, std::numeric_limits<std::uint32_t>::max()));
        host_slash_.assign(host);
        host_slash_ += '/';
        name_volume(out, host_slash_, f.text(2));
        out.initiator = out.volume.substr(0, host.size());
    }

private:
    std::string host_slash_;
};

// SNIA/UMass SPC: ASU,LBA,Size,Opcode,Timestamp
class SpcParser final : public KeyedParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ',', {"ASU", "LBA", "Size", "Opcode", "Timestamp"});
        f.u64(0);
        out.offset = f.sector_bytes(1);
        out.length = f.u64(2);
        out.op = f.op(3, "r", "w", "expected r or w");
        out.time_us = f.time_us(4, 1e6);
        name_volume(out, "asu", f.text(0));
    }
};

// Alibaba block traces: device_id,opcode,offset,length,timestamp (µs)
class AlibabaParser final : public KeyedParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ',', {"device_id", "opcode", "offset", "length", "timestamp"});
        f.u64(0);
        out.op = f.op(1, "r", "w", "expected R or W");
        out.offset = f.u64(2);
        out.length = f.u64(3);
        out.time_us = f.whole_time_us(4);
        name_volume(out, "dev", f.text(0));
    }
};

// Tencent CBS: Timestamp,Offset,Size,IOType,VolumeID (seconds, sectors, sectors, 0 read 1 write)
class TencentParser final : public KeyedParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ',', {"Timestamp", "Offset", "Size", "IOType", "VolumeID"});
        out.time_us = f.time_us(0, 1e6);
        out.offset = f.sector_bytes(1);
        out.length = f.sector_bytes(2);
        out.op = f.op(3, "0", "1", "expected 0 (read) or 1 (write)");
        f.u64(4);
        name_volume(out, "vol", f.text(4));
    }
};

// DiskSim ASCII: arrival_time device lba size flags (blank separated; sectors; flags bit 0 = read)
class DiskSimParser final : public KeyedParser {
public:
    explicit DiskSimParser(TimeUnit unit) : us_per_unit_(microseconds_per(unit)) {}
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ' ', {"arrival_time", "device", "lba", "size", "flags"});
        out.time_us = f.time_us(0, us_per_unit_);
        f.u64(1);
        out.offset = f.sector_bytes(2);
        out.length = f.sector_bytes(3);
        out.op = (f.u64(4) & 1) ? IoOp::kRead : IoOp::kWrite;
        name_volume(out, "dev", f.text(1));
    }
    bool is_header(std::string_view) const override { return false; }

private:
    double us_per_unit_;
};

// replayer / FlashNet: arrival_ms devno offset size op (blank separated; bytes; 1 read, 0 write)
class ReplayerParser final : public KeyedParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ' ', {"arrival_ms", "devno", "offset", "size", "op"});
        out.time_us = f.time_us(0, 1e3);
        f.u64(1);
        out.offset = f.u64(2);
        out.length = f.u64(3);
        out.op = f.op(4, "1", "0", "expected 1 (read) or 0 (write)");
        name_volume(out, "dev", f.text(1));
    }
    bool is_header(std::string_view) const override { return false; }
};

// blkreplay load: start ; sector ; length ; op ; delay ; duration (seconds, sectors, R/W); one
// device per file. Lines that are not records (the free-text header, which some files repeat
// mid-file) are skipped.
class BlkReplayParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<6> f(line, ';', {"start", "sector", "length", "op", "delay", "duration"});
        out.time_us = f.time_us(0, 1e6);
        out.offset = f.sector_bytes(1);
        out.length = f.sector_bytes(2);
        out.op = f.op(3, "r", "w", "expected R or W");
        out.volume = "disk";
        out.initiator = {};
        out.skip = false;
    }
    bool is_header(std::string_view) const override { return false; }
    bool skips_malformed() const override { return true; }
};

// CloudPhysics CSV: version,time,op,size,lbn (µs, SCSI opcode in hex, bytes, sectors)
class CloudPhysicsCsvParser final : public LineParser {
public:
    void parse(std::string_view line, TraceRecord& out) override {
        const Fields<5> f(line, ',', {"version", "time", "op", "size", "lbn"});
        f.u64(0);
        out.time_us = f.whole_time_us(1);
        const std::uint64_t opcode = f.u64(2, 16);
        if (opcode > 0xff) f.bad(2, "not a SCSI opcode");
        out.skip = !scsi_opcode_op(static_cast<unsigned>(opcode), out.op);
        out.length = f.u64(3);
        out.offset = f.sector_bytes(4);
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
        case TraceFormat::kReplayer:
            return std::make_unique<ReplayerParser>();
        case TraceFormat::kBlkReplay:
            return std::make_unique<BlkReplayParser>();
        case TraceFormat::kAuto:
        case TraceFormat::kVscsi:
            break;
    }
    return nullptr;
}

}  // namespace rbdtier
