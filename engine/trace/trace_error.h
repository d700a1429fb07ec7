// TraceError: a trace that cannot be read, with where (file, line or record number) and why.
//
// Thrown by trace readers and writers; `what()` is a complete sentence for people, e.g.
// "trace.csv: line 12: field 5 (Offset): not a number: 'x12'". location() is the 1-based line
// (text formats) or record (binary formats) number, 0 when the error is about the whole file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rbdtier {

class TraceError : public std::runtime_error {
public:
    TraceError(const std::string& what, std::uint64_t location)
        : std::runtime_error(what), location_(location) {}
    std::uint64_t location() const { return location_; }

private:
    std::uint64_t location_;
};

}  // namespace rbdtier
