// wait_until: polls a condition another thread makes true, every millisecond, until it holds or
// a time limit passes (a minute unless said: only a failing test waits that long); whether it
// held. For tests that wait on background work (rounds threads,
// drivers) without a timed sleep. Header-only.
#pragma once

#include <chrono>
#include <thread>

namespace rbdtier::test_support {

template <typename Pred>
bool wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::minutes(1)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace rbdtier::test_support
