// Fuzz target: one trace reader (TraceReader over a file, as `rbdtier replay` reads one). Built
// once per format: RBDTIER_FUZZ_TRACE_FORMAT names it ("auto": format detection first). The
// input is the trace file's content; reading it must give events or a TraceError (no other
// exception, no crash, no undefined behaviour), and every event must lie within the first 2^62
// bytes of its LUN (an offset + length that wraps 2^64 or aliases an extent key is refused).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/trace/trace_error.h"
#include "engine/trace/trace_format.h"
#include "engine/trace/trace_reader.h"

#ifndef RBDTIER_FUZZ_TRACE_FORMAT
#error "RBDTIER_FUZZ_TRACE_FORMAT must name the trace format"
#endif

namespace {

// The trace as a file: one memory file for the whole run, rewritten for each input.
class MemoryFile {
public:
    MemoryFile() : fd_(::memfd_create("trace", MFD_CLOEXEC)) {
        if (fd_ < 0) std::abort();
    }
    ~MemoryFile() { ::close(fd_); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;

    std::string hold(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) std::abort();
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (n <= 0) std::abort();
            done += static_cast<std::size_t>(n);
        }
        return "/proc/self/fd/" + std::to_string(fd_);
    }

private:
    int fd_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static MemoryFile file;
    static const rbdtier::TraceFormat format =
        rbdtier::parse_trace_format(RBDTIER_FUZZ_TRACE_FORMAT).value();
    const std::string path = file.hold(data, size);
    rbdtier::TraceReaderOptions options;
    options.format = format;
    options.disksim_time_unit =
        size % 2 ? rbdtier::TimeUnit::kNanoseconds : rbdtier::TimeUnit::kMilliseconds;
    try {
        auto reader = rbdtier::TraceReader::open(path, options);
        rbdtier::IoEvent event;
        constexpr std::uint64_t kMaxEnd = std::uint64_t{1} << 62;
        while (reader->next(event)) {
            if (event.offset >= kMaxEnd || event.length > kMaxEnd - event.offset) std::abort();
        }
        (void)reader->volumes();
    } catch (const rbdtier::TraceError&) {
    }
    return 0;
}
