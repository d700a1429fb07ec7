#include "engine/trace/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_some(char* buffer, std::size_t size) {
    while (true) {
        const ssize_t n = ::read(fd_, buffer, size);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) throw TraceError(path_ + ": read error: " + std::strerror(errno), 0);
    }
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
