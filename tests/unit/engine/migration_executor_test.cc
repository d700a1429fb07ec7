// MigrationExecutor over a GatewayBudget: granted orders run in the budget's order across clients;
// withdraw() takes back what has not started and frees its grant; with workers, a client migrates
// one order at a time while the others' orders go, and stop() waits for its order in progress.
#include "engine/migration_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace rbdtier {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// A client that records the extents it was asked to carry out (in `log`, shared by the clients of
// a test) and, while `hold` is set, waits in carry_out until the test releases it.
class Recorder final : public MigrationExecutor::Client {
public:
    Recorder(int id, std::vector<std::pair<int, ExtentIndex>>& log, std::mutex& m)
        : id_(id), log_(log), m_(m) {}
    bool carry_out(const MigrationOrder& order, bool) override {
        std::unique_lock lock(m_);
        log_.emplace_back(id_, order.extent);
        ++running;
        changed.notify_all();
        changed.wait(lock, [&] { return !hold; });
        --running;
        return true;
    }
    bool hold = false;
    int running = 0;
    std::condition_variable changed;

private:
    int id_;
    std::vector<std::pair<int, ExtentIndex>>& log_;
    std::mutex& m_;
};

MigrationOrder order(ExtentIndex extent, double benefit) {
    MigrationOrder o;
    o.extent = extent;
    o.to = 1;
    o.net_benefit = benefit;
    return o;
}

BudgetRequest request(double benefit) {
    return BudgetRequest{"t", 1, benefit, kExtent};
}

TEST(MigrationExecutor, RunsGrantsInTheBudgetsOrderAndWithdrawsWhatDidNotStart) {
    std::atomic<std::uint64_t> now{1'000'000};
    auto budget = std::make_shared<GatewayBudget>(2.0 * kExtent, 4, [&now] { return now.load(); });
    MigrationExecutor executor(budget, 0);
    std::mutex m;
    std::vector<std::pair<int, ExtentIndex>> log;
    Recorder a(0, log, m), b(1, log, m);
    executor.submit(a, request(1), order(10, 1), false);
    executor.submit(b, request(3), order(20, 3), false);
    executor.submit(a, request(2), order(11, 2), false);
    executor.submit(b, request(0), order(21, 0), false);
    EXPECT_EQ(executor.run_granted(), 2u);  // two extents in the bucket: the best two
    EXPECT_EQ(log, (std::vector<std::pair<int, ExtentIndex>>{{1, 20}, {0, 11}}));
    EXPECT_EQ(executor.pending(a).size(), 1u);
    const auto withdrawn = executor.withdraw(a);
    ASSERT_EQ(withdrawn.size(), 1u);
    EXPECT_EQ(withdrawn[0].order.extent, 10u);
    EXPECT_TRUE(executor.pending(a).empty());
    now += 10'000'000;
    EXPECT_EQ(executor.run_granted(), 1u);
    EXPECT_EQ(log.back(), (std::pair<int, ExtentIndex>{1, 21}));
    EXPECT_EQ(budget->stats().waiting, 0u);
    EXPECT_EQ(budget->stats().in_flight, 0u);
}

// With two workers: client a's second order waits for its first to end while b's goes; stop(a)
// withdraws a's queued order and returns only once a's order in progress has ended.
TEST(MigrationExecutor, AClientMigratesOneAtATimeAndStopWaitsForIt) {
    auto budget = std::make_shared<GatewayBudget>(1000.0 * kExtent, 4);
    MigrationExecutor executor(budget, 2);
    std::mutex m;
    std::vector<std::pair<int, ExtentIndex>> log;
    Recorder a(0, log, m), b(1, log, m);
    a.hold = true;
    executor.submit(a, request(9), order(10, 9), false);
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(a.changed.wait_for(lock, std::chrono::seconds(30), [&] { return a.running; }));
    }
    executor.submit(a, request(8), order(11, 8), false);
    executor.submit(b, request(1), order(20, 1), false);
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(b.changed.wait_for(lock, std::chrono::seconds(30), [&] {
            return log.size() == 2;
        })) << "b's order did not go while a was migrating";
        EXPECT_EQ(log.back(), (std::pair<int, ExtentIndex>{1, 20}));
        EXPECT_EQ(a.running, 1) << "a ran two orders at once";
    }
    std::atomic<bool> stopped{false};
    auto stopping = std::async(std::launch::async, [&] {
        auto withdrawn = executor.stop(a);
        stopped.store(true);
        return withdrawn.size();
    });
    // stop() withdraws a's queued order first; it still waits for the one in progress.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (executor.pending(a).size() != 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    EXPECT_EQ(executor.pending(a).size(), 1u) << "the queued order was not withdrawn";
    {
        std::lock_guard lock(m);
        EXPECT_FALSE(stopped.load());
        a.hold = false;
    }
    a.changed.notify_all();
    EXPECT_EQ(stopping.get(), 1u);
    EXPECT_TRUE(executor.pending(a).empty());
    std::lock_guard lock(m);
    EXPECT_EQ(log.size(), 2u) << "a's withdrawn order ran";
}

}  // namespace
}  // namespace rbdtier
