// GatewayBudget on a fake clock: weighted fair share between saturated tenants, everything to a
// tenant alone, best benefit first within a tenant, the concurrency limit, one grant at a time per
// client, and randomized arrivals (seed printed; RBDTIER_SEED replays one) checked against the
// invariants: never more than the bucket allows, never more in flight than the limit, never two
// grants of one client at once, never idle while a request could be served.
#include "engine/gateway_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/seed.h"

namespace rbdtier {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kExtent = 4 << 20;

// A clock the test moves.
struct FakeClock {
    std::atomic<std::uint64_t> now{1'000'000};
    GatewayBudget::Clock clock() {
        return [this] { return now.load(); };
    }
};

BudgetRequest request(const std::string& tenant, double weight, double benefit = 0) {
    return BudgetRequest{tenant, weight, benefit, kExtent};
}

// Tenants that always have `waiting` requests in line; every grant ends at once. Runs for
// `seconds` of fake time in 10 ms steps, then withdraws what waits; the grants of each tenant.
std::map<std::string, std::uint64_t> saturate(GatewayBudget& budget, FakeClock& clock,
                                              const std::map<std::string, double>& weights,
                                              int seconds, int waiting = 4) {
    std::map<GatewayBudget::Ticket, std::string> tickets;
    for (const auto& [tenant, weight] : weights)
        for (int i = 0; i < waiting; ++i) tickets[budget.submit(request(tenant, weight))] = tenant;
    std::map<std::string, std::uint64_t> grants;
    for (int step = 0; step < seconds * 100; ++step) {
        clock.now += 10'000;
        for (const GatewayBudget::Ticket t : budget.dispatch()) {
            const std::string tenant = tickets.at(t);
            ++grants[tenant];
            budget.finish(t, true);
            tickets.erase(t);
            tickets[budget.submit(request(tenant, weights.at(tenant)))] = tenant;
        }
    }
    for (const auto& [ticket, tenant] : tickets) budget.withdraw(ticket);  // they stop asking
    return grants;
}

TEST(GatewayBudget, SaturatedTenantsShareByWeight) {
    FakeClock clock;
    GatewayBudget budget(10.0 * kExtent, 16, clock.clock());  // ten extents a second
    const auto grants = saturate(budget, clock, {{"gold", 3}, {"silver", 1}}, 100);
    const double gold = static_cast<double>(grants.at("gold"));
    const double silver = static_cast<double>(grants.at("silver"));
    EXPECT_NEAR(gold / silver, 3.0, 0.3) << gold << " : " << silver;
    // Work-conserving: together they get the whole budget (plus the bucket's first second).
    EXPECT_NEAR(gold + silver, 10.0 * 100 + 10, 2);
}

TEST(GatewayBudget, ATenantAloneGetsEverything) {
    FakeClock clock;
    GatewayBudget budget(10.0 * kExtent, 16, clock.clock());
    // Another tenant's LUN asked once long ago and is idle now: its share is not kept for it.
    const GatewayBudget::Ticket old = budget.submit(request("silver", 5));
    ASSERT_EQ(budget.dispatch(), std::vector<GatewayBudget::Ticket>{old});
    budget.finish(old, true);
    const auto grants = saturate(budget, clock, {{"gold", 1}}, 50);
    EXPECT_NEAR(static_cast<double>(grants.at("gold")), 10.0 * 50 + 9, 2);
    const GatewayBudgetStats s = budget.stats();
    EXPECT_EQ(s.tenants.size(), 2u);
    EXPECT_EQ(s.in_flight, 0u);
}

TEST(GatewayBudget, ATenantBackFromIdleIsOwedNothing) {
    FakeClock clock;
    GatewayBudget budget(10.0 * kExtent, 16, clock.clock());
    (void)saturate(budget, clock, {{"gold", 1}}, 20);
    // silver joins after 20 s alone for gold: from now on they split evenly, no catching up.
    const auto grants = saturate(budget, clock, {{"gold", 1}, {"silver", 1}}, 20);
    const double gold = static_cast<double>(grants.at("gold"));
    const double silver = static_cast<double>(grants.at("silver"));
    EXPECT_NEAR(gold / silver, 1.0, 0.1) << gold << " : " << silver;
}

TEST(GatewayBudget, WithinATenantTheHighestBenefitGoesFirst) {
    FakeClock clock;
    GatewayBudget budget(1.0 * kExtent, 16, clock.clock());  // one extent deep
    const GatewayBudget::Ticket first = budget.submit(request("gold", 1, 0));
    ASSERT_EQ(budget.dispatch().size(), 1u);  // the bucket's one extent
    budget.finish(first, true);
    // Three LUNs of the tenant wait, in this order, with these benefits.
    const GatewayBudget::Ticket low = budget.submit(request("gold", 1, 1));
    const GatewayBudget::Ticket high = budget.submit(request("gold", 1, 5));
    const GatewayBudget::Ticket mid = budget.submit(request("gold", 1, 3));
    const GatewayBudget::Ticket nan = budget.submit(request("gold", 1, std::nan("")));
    EXPECT_TRUE(budget.dispatch().empty()) << "the bucket is empty";
    EXPECT_EQ(budget.next_grant_us(), 1'000'000u);
    std::vector<GatewayBudget::Ticket> order;
    for (int i = 0; i < 4; ++i) {
        clock.now += 1'000'000;
        const auto granted = budget.dispatch();
        ASSERT_EQ(granted.size(), 1u);
        order.push_back(granted[0]);
        budget.finish(granted[0], true);
    }
    EXPECT_EQ(order, (std::vector<GatewayBudget::Ticket>{high, mid, low, nan}));
}

TEST(GatewayBudget, TheConcurrencyLimitHoldsAndUnusedBytesComeBack) {
    FakeClock clock;
    GatewayBudget budget(100.0 * kExtent, 2, clock.clock());
    std::vector<GatewayBudget::Ticket> tickets;
    for (int i = 0; i < 5; ++i) tickets.push_back(budget.submit(request("gold", 1)));
    const auto granted = budget.dispatch();
    ASSERT_EQ(granted.size(), 2u);
    EXPECT_TRUE(budget.dispatch().empty()) << "two in flight";
    EXPECT_EQ(budget.stats().in_flight, 2u);
    budget.finish(granted[0], true);
    EXPECT_EQ(budget.dispatch().size(), 1u);
    budget.finish(granted[1], false);  // refused after all: its bytes go back
    EXPECT_EQ(budget.stats().granted_bytes, 2 * kExtent);
    budget.set_max_concurrent(10);
    EXPECT_EQ(budget.dispatch().size(), 2u) << "the last two";
    budget.withdraw(tickets[4]);  // granted: it ends unused
    EXPECT_EQ(budget.stats().in_flight, 2u);
}

// One client's requests go one at a time: while it holds a grant its other requests keep their
// place, and the next best request of a free client goes instead; its finish puts the client's
// best request in line again. The order otherwise stays the budget's.
TEST(GatewayBudget, AClientHoldingAGrantIsPassedOver) {
    FakeClock clock;
    GatewayBudget budget(100.0 * kExtent, 4, clock.clock());
    auto of = [](std::uintptr_t client, double benefit) {
        BudgetRequest r = request("gold", 1, benefit);
        r.client = client;
        return r;
    };
    const GatewayBudget::Ticket a1 = budget.submit(of(1, 10));
    const GatewayBudget::Ticket a2 = budget.submit(of(1, 9));
    const GatewayBudget::Ticket a3 = budget.submit(of(1, 8));
    const GatewayBudget::Ticket b1 = budget.submit(of(2, 2));
    const GatewayBudget::Ticket b2 = budget.submit(of(2, 1));
    const GatewayBudget::Ticket c1 = budget.submit(of(3, 0));
    const GatewayBudget::Ticket free = budget.submit(of(0, -1));  // no client: not limited
    EXPECT_EQ(budget.dispatch(), (std::vector<GatewayBudget::Ticket>{a1, b1, c1, free}));
    budget.finish(free, true);
    EXPECT_EQ(budget.next_grant_us(), GatewayBudget::kNever) << "only busy clients wait";
    EXPECT_TRUE(budget.dispatch().empty()) << "a slot is free, but only busy clients wait";
    budget.finish(b1, true);
    EXPECT_EQ(budget.next_grant_us(), 0u);
    EXPECT_EQ(budget.dispatch(), std::vector<GatewayBudget::Ticket>{b2});
    budget.withdraw(a1);  // granted: it ends unused, and a's best request is in line again
    EXPECT_EQ(budget.dispatch(), std::vector<GatewayBudget::Ticket>{a2});
    budget.finish(a2, true);
    EXPECT_EQ(budget.dispatch(), std::vector<GatewayBudget::Ticket>{a3});
    EXPECT_EQ(budget.stats().waiting, 0u);
    EXPECT_EQ(budget.stats().in_flight, 3u);
}

TEST(GatewayBudget, RandomArrivalsKeepTheInvariants) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937_64 rng(seed);
    FakeClock clock;
    const std::uint64_t start = clock.now;
    const double rate = static_cast<double>(1 + rng() % 20) * kExtent;
    const unsigned limit = 1 + static_cast<unsigned>(rng() % 6);
    GatewayBudget budget(rate, limit, clock.clock());
    const std::vector<std::pair<std::string, double>> tenants = {
        {"a", 1}, {"b", 2.5}, {"c", 0.5}, {"", 1}};
    std::map<GatewayBudget::Ticket, std::uint64_t> in_flight;  // ticket -> when it ends
    std::vector<GatewayBudget::Ticket> waiting;
    std::map<GatewayBudget::Ticket, std::uintptr_t> client_of;  // 0: no client
    std::map<std::uintptr_t, int> holding;                      // grants in flight per client
    std::uint64_t used_bytes = 0;                               // granted and kept (not given back)
    for (int step = 0; step < 20'000; ++step) {
        clock.now += rng() % 50'000;
        // Some grants end (some unused), some requests arrive, some leave.
        for (auto it = in_flight.begin(); it != in_flight.end();) {
            if (it->second <= clock.now) {
                const bool used = rng() % 8 != 0;
                budget.finish(it->first, used);
                if (!used) used_bytes -= kExtent;
                --holding[client_of.at(it->first)];
                it = in_flight.erase(it);
            } else {
                ++it;
            }
        }
        for (std::uint64_t n = rng() % 4; n > 0; --n) {
            const auto& [tenant, weight] = tenants[rng() % tenants.size()];
            BudgetRequest r = request(tenant, weight, static_cast<double>(rng() % 100));
            r.client = rng() % 6;
            waiting.push_back(budget.submit(r));
            client_of[waiting.back()] = r.client;
        }
        if (!waiting.empty() && rng() % 10 == 0) {
            const std::size_t i = rng() % waiting.size();
            budget.withdraw(waiting[i]);
            waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i));
        }
        for (const GatewayBudget::Ticket t : budget.dispatch()) {
            in_flight[t] = clock.now + rng() % 2'000'000;
            std::erase(waiting, t);
            used_bytes += kExtent;
            const std::uintptr_t client = client_of.at(t);
            ASSERT_TRUE(client == 0 || holding[client] == 0)
                << "client " << client << " holds two grants, step " << step;
            ++holding[client];
        }
        const GatewayBudgetStats s = budget.stats();
        ASSERT_LE(s.in_flight, limit) << "step " << step;
        ASSERT_EQ(s.in_flight, in_flight.size());
        ASSERT_EQ(s.waiting, waiting.size());
        ASSERT_EQ(s.granted_bytes, used_bytes);
        // Never more than the bucket: one second deep, then the rate.
        const double elapsed_s = static_cast<double>(clock.now - start) / 1e6;
        ASSERT_LE(static_cast<double>(used_bytes), rate * (1 + elapsed_s) + 1) << "step " << step;
        // Work-conserving: a request waits only for tokens, for a slot or for its client.
        const bool startable = std::any_of(waiting.begin(), waiting.end(), [&](auto t) {
            const std::uintptr_t client = client_of.at(t);
            return client == 0 || holding[client] == 0;
        });
        if (s.in_flight < limit) {
            if (startable) {
                ASSERT_GT(budget.next_grant_us(), 0u) << "step " << step;
            } else {
                ASSERT_EQ(budget.next_grant_us(), GatewayBudget::kNever) << "step " << step;
            }
        }
    }
}

}  // namespace
}  // namespace rbdtier
