// ledger_bench: what one admitted migration's quota bookkeeping costs in the gateway's tenant
// ledger (engine/tenant_ledger.h) as the tenant's LUN count grows.
//
// One tenant with a quota in one pool and `luns` member LUNs, every one of them also named in
// the tenant's last cluster measurement, plus as many LUNs measured on another gateway. Each
// iteration is what an admission does for one order: fits(), then reserve(), then (the move
// done) release(). Google Benchmark's output (add --benchmark_repetitions=5 for a median of
// several runs, every run printed) gives ns per order; it should not grow with the LUN count.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tenant_ledger.h"

namespace {

using rbdtier::TenantLedger;

constexpr std::uint64_t kExtent = 4ull << 20;

void BM_AdmitOneOrder(benchmark::State& state) {
    const auto luns = static_cast<std::size_t>(state.range(0));
    TenantLedger ledger;
    std::vector<TenantLedger::Member> members;
    std::map<std::string, TenantLedger::Holdings> measured;
    for (std::size_t i = 0; i < luns; ++i) {
        const std::string here = "hdd/here-" + std::to_string(i);
        members.push_back(ledger.join("acme", here));
        measured[here] = {{"nvme", kExtent}};
        measured["hdd/there-" + std::to_string(i)] = {{"nvme", kExtent}};
    }
    ledger.set_measured("acme", std::move(measured));
    ledger.set_quota("acme", "nvme", ~0ull >> 1);
    std::size_t next = 0;
    for (auto _ : state) {
        const TenantLedger::Member member = members[next++ % members.size()];
        if (!ledger.fits(member, "nvme", kExtent) || !ledger.reserve(member, "nvme", kExtent))
            state.SkipWithError("the order did not fit");
        ledger.release(member, "nvme", kExtent);
    }
}
BENCHMARK(BM_AdmitOneOrder)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
