// ProgressBar: a one-line progress bar on stderr, drawn only when stderr is a terminal.
//
// update(done, total) redraws at most ~10 times a second; finish() clears the line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rbdtier::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(std::uint64_t done, std::uint64_t total);
    void finish();

private:
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace rbdtier::cli
