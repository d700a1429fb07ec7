#include "engine/trace/trace_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/trace/input_file.h"
#include "engine/trace/line_parsers.h"
#include "engine/trace/trace_error.h"

namespace rbdtier {

namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kMaxLine = 1 << 20;
constexpr std::size_t kVscsiRecord = 32;
// Where a record's bytes must end: 2^40 extents of 4 MiB, where the engine's extent keys end
// (far past any RBD image). Beyond it an extent index would alias another.
constexpr std::uint64_t kMaxEndBytes = std::uint64_t{1} << 62;
// LUN ids an extent key holds (24 bits); a trace with more volumes would alias them.
constexpr std::uint32_t kMaxVolumes = 1u << 24;

// Shared by text and binary readers: time origin, units, volume ids.
class ReaderBase : public TraceReader {
protected:
    ReaderBase(const std::string& path, TraceFormat format) : file_(path), buffer_(kChunk) {
        format_ = format;
        file_bytes_ = file_.size();
    }

    [[noreturn]] void fail(std::uint64_t where, const char* unit, const std::string& why) const {
        throw TraceError(file_.path() + ": " + unit + " " + std::to_string(where) + ": " + why,
                         where);
    }

    void emit(const TraceRecord& r, IoEvent& out, std::uint64_t where, const char* unit) {
        if (r.length > std::numeric_limits<std::uint32_t>::max())
            fail(where, unit, "request of " + std::to_string(r.length) + " bytes is too large");
        if (r.offset >= kMaxEndBytes || r.length > kMaxEndBytes - r.offset)
            fail(where, unit,
                 "offset " + std::to_string(r.offset) + " + length " + std::to_string(r.length) +
                     " is not within the first 2^62 bytes (4 EiB): past any LUN");
        if (!has_origin_) {
            origin_ = r.time_us;
            has_origin_ = true;
        }
        out.time_us = r.time_us > origin_ ? static_cast<std::uint64_t>(r.time_us - origin_) : 0;
        out.offset = r.offset;
        out.length = static_cast<std::uint32_t>(r.length);
        out.latency_us = r.latency_us;
        out.op = r.op;
        out.lun = volumes_.luns.id_of(r.volume);
        if (out.lun >= kMaxVolumes)
            fail(where, unit,
                 "more than " + std::to_string(kMaxVolumes) +
                     " volumes (the engine keys extents of at most that many LUNs)");
        out.initiator = volumes_.initiators.id_of(r.initiator.empty() ? r.volume : r.initiator);
        ++events_;
    }

    InputFile file_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;  // unread bytes in buffer_
    std::uint64_t consumed_ = 0;       // bytes handed to parsing
    bool eof_ = false;
    bool has_origin_ = false;
    std::int64_t origin_ = 0;

    // Makes room and reads more; false when nothing more could be read.
    bool refill() {
        if (eof_) return false;
        if (begin_ > 0) {
            std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == buffer_.size()) {
            if (buffer_.size() >= kMaxLine + kChunk) return false;
            buffer_.resize(buffer_.size() * 2);
        }
        const std::size_t n = file_.read_some(buffer_.data() + end_, buffer_.size() - end_);
        if (n == 0) eof_ = true;
        end_ += n;
        return n > 0;
    }

public:
    // Progress is in bytes of the file on disk (compressed ones count compressed bytes).
    std::uint64_t bytes_consumed() const override {
        return file_.compressed() ? file_.raw_offset() : consumed_;
    }
};

class TextReader final : public ReaderBase {
public:
    TextReader(const std::string& path, TraceFormat format, TimeUnit unit)
        : ReaderBase(path, format), parser_(make_line_parser(format, unit)) {}

    bool next(IoEvent& event) override {
        std::string_view line;
        while (next_line(line)) {
            while (!line.empty() &&
                   (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
                line.remove_suffix(1);
            if (line.empty() || line.front() == '#') continue;
            if (!seen_data_) {
                seen_data_ = true;
                if (parser_->is_header(line)) continue;
            }
            try {
                parser_->parse(line, record_);
            } catch (const RecordError& e) {
                if (parser_->skips_malformed()) continue;
                fail(line_no_, "line", e.what());
            }
            if (record_.skip) {
                ++skipped_;
                continue;
            }
            emit(record_, event, line_no_, "line");
            return true;
        }
        if (events_ == 0 && skipped_ == 0)
            throw TraceError(file_.path() + ": empty trace (no records)", 0);
        return false;
    }

private:
    bool next_line(std::string_view& line) {
        while (true) {
            const char* start = buffer_.data() + begin_;
            const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
            if (nl) {
                line = std::string_view(start, static_cast<std::size_t>(nl - start));
                begin_ += line.size() + 1;
                consumed_ += line.size() + 1;
                ++line_no_;
                return true;
            }
            if (!refill()) {
                if (!eof_) fail(line_no_ + 1, "line", "longer than 1 MiB (not a text trace?)");
                if (begin_ == end_) return false;
                line = std::string_view(buffer_.data() + begin_, end_ - begin_);
                consumed_ += line.size();
                begin_ = end_;
                ++line_no_;
                return true;
            }
        }
    }

    std::unique_ptr<LineParser> parser_;
    TraceRecord record_;
    std::uint64_t line_no_ = 0;
    bool seen_data_ = false;
};

// CloudPhysics / VMware vscsi binary, version 1: 32-byte little-endian records
//   u32 sn; u32 len; u32 nSG; u16 cmd; u16 ver; u64 lbn; u64 ts (µs)
class VscsiReader final : public ReaderBase {
public:
    explicit VscsiReader(const std::string& path) : ReaderBase(path, TraceFormat::kVscsi) {}

    bool next(IoEvent& event) override {
        while (true) {
            if (end_ - begin_ < kVscsiRecord) {
                refill();
                if (end_ - begin_ < kVscsiRecord) {
                    if (end_ != begin_)
                        fail(record_no_ + 1, "record",
                             "truncated (" + std::to_string(end_ - begin_) + " of 32 bytes)");
                    if (record_no_ == 0)
                        throw TraceError(file_.path() + ": empty trace (no records)", 0);
                    return false;
                }
            }
            const unsigned char* p =
                reinterpret_cast<const unsigned char*>(buffer_.data() + begin_);
            begin_ += kVscsiRecord;
            consumed_ += kVscsiRecord;
            ++record_no_;
            const std::uint32_t len = le32(p + 4);
            const std::uint16_t cmd = le16(p + 12);
            const std::uint16_t ver = le16(p + 14);
            const std::uint64_t lbn = le64(p + 16);
            const std::uint64_t ts = le64(p + 24);
            if ((ver >> 8) != 1)
                fail(record_no_, "record",
                     "version field 0x" + hex(ver) + " is not vscsi v1 (0x01xx)");
            TraceRecord r;
            if (!scsi_opcode_op(cmd & 0xff, r.op)) {
                ++skipped_;
                continue;
            }
            if (ts > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
                lbn > std::numeric_limits<std::uint64_t>::max() / 512)
                fail(record_no_, "record", "time or block number out of range");
            r.time_us = static_cast<std::int64_t>(ts);
            r.offset = lbn * 512;
            r.length = len;
            r.volume = "disk";
            emit(r, event, record_no_, "record");
            return true;
        }
    }

private:
    static std::uint16_t le16(const unsigned char* p) {
        return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
    }
    static std::uint32_t le32(const unsigned char* p) {
        return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
               (std::uint32_t{p[3]} << 24);
    }
    static std::uint64_t le64(const unsigned char* p) {
        return std::uint64_t{le32(p)} | (std::uint64_t{le32(p + 4)} << 32);
    }
    static std::string hex(unsigned v) {
        static const char* digits = "0123456789abcdef";
        std::string s;
        for (int shift = 12; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xf];
        return s;
    }

    std::uint64_t record_no_ = 0;
};

TraceFormat detect(const std::string& path) {
    InputFile file(path);
    std::string head(16384, '\0');
    head.resize(file.read_full(head.data(), head.size()));
    if (head.empty()) throw TraceError(path + ": empty trace (no records)", 0);
    if (auto f = detect_trace_format(head)) return *f;
    std::string first = head.substr(0, head.find('\n'));
    bool printable = true;
    for (unsigned char c : first)
        if (c < 0x20 && c != '\t' && c != '\r') printable = false;
    if (!printable || first.size() > 80) first = first.substr(0, 80);
    throw TraceError(path + ": unknown trace format" +
                         (printable ? " (first line: '" + first + "')" : " (binary)") +
                         "; name it with --format",
                     0);
}

}  // namespace

std::unique_ptr<TraceReader> TraceReader::open(const std::string& path,
                                               const TraceReaderOptions& options) {
    const TraceFormat format = options.format == TraceFormat::kAuto ? detect(path) : options.format;
    if (format == TraceFormat::kVscsi) return std::make_unique<VscsiReader>(path);
    return std::make_unique<TextReader>(path, format, options.disksim_time_unit);
}

LoadedTrace load_trace(const std::string& path, const TraceReaderOptions& options,
                       std::uint64_t limit, const LoadProgress& progress) {
    auto reader = TraceReader::open(path, options);
    LoadedTrace out;
    out.format = reader->format();
    IoEvent e;
    while ((limit == 0 || out.events.size() < limit) && reader->next(e)) {
        out.events.push_back(e);
        if (progress && (out.events.size() & 0xfffff) == 0)
            progress(reader->bytes_consumed(), reader->file_bytes());
    }
    if (progress) progress(reader->file_bytes(), reader->file_bytes());
    out.skipped = reader->skipped();
    out.volumes = reader->volumes();
    std::stable_sort(out.events.begin(), out.events.end(),
                     [](const IoEvent& a, const IoEvent& b) { return a.time_us < b.time_us; });
    return out;
}

}  // namespace rbdtier
