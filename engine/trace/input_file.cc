#include "engine/trace/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "engine/trace/trace_error.h"

namespace rbdtier {

InputFile::InputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw TraceError(path + ": cannot open: " + std::strerror(errno), 0);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int err = errno;
        ::close(fd_);
        throw TraceError(path + ": cannot stat: " + std::strerror(err), 0);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd_);
        throw TraceError(path + ": is a directory", 0);
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    gz_ = ::gzdopen(fd_, "rb");
    if (gz_ == nullptr) {
        ::close(fd_);
        throw TraceError(path + ": cannot open: out of memory", 0);
    }
    fd_ = -1;  // owned by gz_ now
    ::gzbuffer(static_cast<gzFile>(gz_), 1 << 17);
}

InputFile::~InputFile() {
    if (gz_ != nullptr) ::gzclose(static_cast<gzFile>(gz_));
    if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_some(char* buffer, std::size_t size) {
    auto* gz = static_cast<gzFile>(gz_);
    const auto want = static_cast<unsigned>(std::min<std::size_t>(size, INT_MAX));
    const int n = ::gzread(gz, buffer, want);
    if (n >= 0) return static_cast<std::size_t>(n);
    int code = Z_OK;
    const char* why = ::gzerror(gz, &code);
    throw TraceError(path_ + ": read error: " +
                         (code == Z_ERRNO ? std::string(std::strerror(errno)) : std::string(why)),
                     0);
}

bool InputFile::compressed() const {
    return ::gzdirect(static_cast<gzFile>(gz_)) == 0;
}

std::uint64_t InputFile::raw_offset() const {
    const auto off = ::gzoffset(static_cast<gzFile>(gz_));
    return off < 0 ? 0 : static_cast<std::uint64_t>(off);
}

std::size_t InputFile::read_full(char* buffer, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const std::size_t n = read_some(buffer + done, size - done);
        if (n == 0) break;
        done += n;
    }
    return done;
}

}  // namespace rbdtier
