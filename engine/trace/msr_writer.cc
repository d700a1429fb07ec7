#include "engine/trace/msr_writer.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "engine/trace/trace_error.h"

namespace rbdtier {

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const {
        if (f) std::fclose(f);
    }
};

void append_number(std::string& out, std::uint64_t v) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, r.ptr);
}

}  // namespace

void write_msr_csv(const std::string& path, std::span<const IoEvent> events) {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "w"));
    if (!f) throw TraceError(path + ": cannot create: " + std::strerror(errno), 0);
    std::string out;
    out.reserve((1 << 20) + 256);
    auto flush = [&] {
        if (std::fwrite(out.data(), 1, out.size(), f.get()) != out.size())
            throw TraceError(path + ": write error: " + std::strerror(errno), 0);
        out.clear();
    };
    for (const auto& e : events) {
        append_number(out, kMsrFiletimeOrigin + e.time_us * 10);
        out += ",host";
        append_number(out, e.initiator);
        out += ',';
        append_number(out, e.lun);
        out += e.op == IoOp::kRead ? ",Read," : ",Write,";
        append_number(out, e.offset);
        out += ',';
        append_number(out, e.length);
        out += ',';
        append_number(out, std::uint64_t{e.latency_us} * 10);
        out += '\n';
        if (out.size() >= (1 << 20)) flush();
    }
    flush();
    if (std::fflush(f.get()) != 0)
        throw TraceError(path + ": write error: " + std::strerror(errno), 0);
    if (std::fclose(f.release()) != 0)
        throw TraceError(path + ": close error: " + std::strerror(errno), 0);
}

}  // namespace rbdtier
