// Series the forecasters' tests are built from. Header-only, for tests.
#pragma once

#include <cstddef>
#include <vector>

namespace rbdtier::test_support {

// `n` values: `high` for the first `width` of every `period`, 0 elsewhere.
inline std::vector<double> pulses(std::size_t n, std::size_t period, std::size_t width,
                                  double high) {
    std::vector<double> x(n, 0.0);
    for (std::size_t t = 0; t < n; ++t)
        if (t % period < width) x[t] = high;
    return x;
}

}  // namespace rbdtier::test_support
