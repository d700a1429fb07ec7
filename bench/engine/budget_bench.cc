// budget_bench: what a grant of the gateway's migration budget (engine/gateway_budget.h) costs
// when one LUN holds many of the best-ranked orders while it is busy migrating.
//
// One tenant; LUN "busy" has a grant in flight and `busy_orders` more requests waiting, all
// ranked above everyone else's; 16 other LUNs have one request each. Each iteration submits one
// request of a free LUN, dispatches (the grant goes past every request of the busy LUN to that
// one) and finishes it: the cost of the grant path with 0 to 16384 requests passed over. The
// bucket and the slots never limit (1 TiB/s, 2 slots), so only the ranking is measured.
// Google Benchmark's output (add --benchmark_repetitions=5 for a median of several runs, every
// run printed) gives ns per grant; the growth with busy_orders is the scan of the passed-over
// requests.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "engine/gateway_budget.h"

namespace {

using rbdtier::BudgetRequest;
using rbdtier::GatewayBudget;

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uintptr_t kBusyLun = 1;
constexpr std::uintptr_t kFreeLuns = 16;

void BM_GrantPastABusyLun(benchmark::State& state) {
    const auto busy_orders = static_cast<std::size_t>(state.range(0));
    std::uint64_t now = 0;
    GatewayBudget budget(1e12, 2, [&now] { return now; });
    // The busy LUN's best order is granted and stays in flight; its others wait, ranked first.
    budget.submit({"t", 1, 1e9, kExtent, kBusyLun});
    for (std::size_t i = 0; i < busy_orders; ++i)
        budget.submit({"t", 1, 1e8 - static_cast<double>(i), kExtent, kBusyLun});
    if (budget.dispatch().size() != 1)
        state.SkipWithError("the busy LUN's first order not granted");
    for (std::uintptr_t lun = 0; lun < kFreeLuns; ++lun)
        budget.submit({"t", 1, 10, kExtent, 2 + lun});
    std::uintptr_t next = 0;
    std::uint64_t grants = 0;
    for (auto _ : state) {
        budget.submit({"t", 1, 5, kExtent, 2 + next});
        next = (next + 1) % kFreeLuns;
        const auto granted = budget.dispatch();
        if (granted.size() != 1) {
            state.SkipWithError("no grant to a free LUN");
            break;
        }
        budget.finish(granted.front(), true);
        now += 10;  // refills 10 MB, more than a grant takes: the bucket never runs dry
        ++grants;
    }
    state.counters["passed_over"] = static_cast<double>(busy_orders);
    state.SetItemsProcessed(static_cast<std::int64_t>(grants));
}
BENCHMARK(BM_GrantPastABusyLun)->RangeMultiplier(8)->Range(1, 16384)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
