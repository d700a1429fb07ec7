// InputFile: a read-only file descriptor (RAII) with chunked reads, for trace readers.
//
// open() throws TraceError with the system's reason. read_some() fills up to `size` bytes and
// returns how many (0 at end of file), retrying on EINTR; errors throw TraceError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rbdtier {

class InputFile {
public:
    explicit InputFile(const std::string& path);
    ~InputFile();
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    std::size_t read_some(char* buffer, std::size_t size);
    // Reads until `size` bytes or end of file.
    std::size_t read_full(char* buffer, std::size_t size);
    std::uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace rbdtier
