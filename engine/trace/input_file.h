// InputFile: a read-only file (RAII) with chunked reads, for trace readers.
//
// A gzip file is decompressed on the fly (zlib); any other file is read as it is. open() throws
// TraceError with the system's reason. read_some() fills up to `size` bytes of content and
// returns how many (0 at the end); errors (including a damaged gzip stream) throw TraceError.
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
    std::uint64_t size() const { return size_; }  // of the file on disk
    bool compressed() const;
    std::uint64_t raw_offset() const;  // bytes of the file on disk read so far
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    void* gz_ = nullptr;  // gzFile
    std::uint64_t size_ = 0;
};

}  // namespace rbdtier
