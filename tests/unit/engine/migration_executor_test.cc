// MigrationExecutor over a GatewayBudget: granted orders run in the budget's order across clients;
// withdraw() takes back what has not started and frees its grant; with workers, a client migrates
// one order at a time while the others' orders go, a client migrating holds no slot for its next
// order (the slots go to the other clients), and stop() waits for its order in progress.
#include "engine/migration_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace rbdtier {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// What the clients of a test share: the extents they were asked to carry out, in that order, and
// one condition that changes with every start and end of a carry_out.
struct Board {
    std::mutex m;
    std::condition_variable changed;
    std::vector<std::pair<int, ExtentIndex>> log;
    // Waits (bounded) until `done` holds, under `m`.
    bool wait(const std::function<bool()>& done) {
        std::unique_lock lock(m);
        return changed.wait_for(lock, std::chrono::seconds(30), done);
    }
};

// A client that records the extents it was asked to carry out on the board and, while `hold` is
// set, waits in carry_out until the test releases it (release()).
class Recorder final : public MigrationExecutor::Client {
public:
    Recorder(int id, Board& board) : id_(id), board_(board) {}
    bool carry_out(const MigrationOrder& order, bool) override {
        std::unique_lock lock(board_.m);
        board_.log.emplace_back(id_, order.extent);
        ++running;
        board_.changed.notify_all();
        board_.changed.wait(lock, [&] { return !hold; });
        --running;
        board_.changed.notify_all();
        return true;
    }
    void release() {
        {
            std::lock_guard lock(board_.m);
            hold = false;
        }
        board_.changed.notify_all();
    }
    // Under the board's mutex.
    bool hold = false;
    int running = 0;

private:
    int id_;
    Board& board_;
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
    Board board;
    Recorder a(0, board), b(1, board);
    executor.submit(a, request(1), order(10, 1), false);
    executor.submit(b, request(3), order(20, 3), false);
    executor.submit(a, request(2), order(11, 2), false);
    executor.submit(b, request(0), order(21, 0), false);
    EXPECT_EQ(executor.run_granted(), 2u);  // two extents in the bucket: the best two
    EXPECT_EQ(board.log, (std::vector<std::pair<int, ExtentIndex>>{{1, 20}, {0, 11}}));
    EXPECT_EQ(executor.pending(a).size(), 1u);
    const auto withdrawn = executor.withdraw(a);
    ASSERT_EQ(withdrawn.size(), 1u);
    EXPECT_EQ(withdrawn[0].order.extent, 10u);
    EXPECT_TRUE(executor.pending(a).empty());
    now += 10'000'000;
    EXPECT_EQ(executor.run_granted(), 1u);
    EXPECT_EQ(board.log.back(), (std::pair<int, ExtentIndex>{1, 21}));
    EXPECT_EQ(budget->stats().waiting, 0u);
    EXPECT_EQ(budget->stats().in_flight, 0u);
}

// With two workers: client a's second order waits for its first to end while b's goes; stop(a)
// withdraws a's queued order and returns only once a's order in progress has ended.
TEST(MigrationExecutor, AClientMigratesOneAtATimeAndStopWaitsForIt) {
    auto budget = std::make_shared<GatewayBudget>(1000.0 * kExtent, 4);
    MigrationExecutor executor(budget, 2);
    Board board;
    Recorder a(0, board), b(1, board);
    a.hold = true;
    executor.submit(a, request(9), order(10, 9), false);
    ASSERT_TRUE(board.wait([&] { return a.running == 1; }));
    executor.submit(a, request(8), order(11, 8), false);
    executor.submit(b, request(1), order(20, 1), false);
    ASSERT_TRUE(board.wait([&] { return board.log.size() == 2; }))
        << "b's order did not go while a was migrating";
    {
        std::lock_guard lock(board.m);
        EXPECT_EQ(board.log.back(), (std::pair<int, ExtentIndex>{1, 20}));
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
    EXPECT_FALSE(stopped.load());
    a.release();
    EXPECT_EQ(stopping.get(), 1u);
    EXPECT_TRUE(executor.pending(a).empty());
    std::lock_guard lock(board.m);
    EXPECT_EQ(board.log.size(), 2u) << "a's withdrawn order ran";
}

// Four slots, four workers; LUN a holds the four best orders, b, c and d one each. While a's first
// migration is held, a's next orders hold no slot: b's, c's and d's migrations all run meanwhile.
// Once a is released its other orders follow, best first, one at a time.
TEST(MigrationExecutor, ALunMigratingLeavesTheOtherSlotsToTheOtherLuns) {
    std::atomic<std::uint64_t> now{1'000'000};
    // Rate 0 at first: nothing is granted until every order waits in the budget.
    auto budget = std::make_shared<GatewayBudget>(0, 4, [&now] { return now.load(); });
    MigrationExecutor executor(budget, 4);
    Board board;
    Recorder a(0, board), b(1, board), c(2, board), d(3, board);
    for (Recorder* r : {&a, &b, &c, &d}) r->hold = true;
    for (int i = 0; i < 4; ++i) {
        const double benefit = 10.0 - i;
        executor.submit(a, request(benefit), order(10 + static_cast<ExtentIndex>(i), benefit),
                        false);
    }
    executor.submit(b, request(1), order(20, 1), false);
    executor.submit(c, request(1), order(30, 1), false);
    executor.submit(d, request(1), order(40, 1), false);
    budget->set_bandwidth(1000.0 * kExtent);
    now += 10'000'000;
    executor.wake();
    EXPECT_TRUE(board.wait([&] {
        return a.running == 1 && b.running == 1 && c.running == 1 && d.running == 1;
    })) << "while a's first migration runs, the other LUNs' orders wait";
    {
        std::lock_guard lock(board.m);
        EXPECT_EQ(a.running, 1) << "a ran two orders at once";
        EXPECT_FALSE(board.log.empty());
        EXPECT_EQ(
            std::count(board.log.begin(), board.log.end(), std::pair<int, ExtentIndex>{0, 10}), 1)
            << "a's best order went first";
    }
    for (Recorder* r : {&b, &c, &d}) r->release();
    a.release();
    ASSERT_TRUE(board.wait([&] { return board.log.size() == 7; }));
    for (Recorder* r : {&a, &b, &c, &d}) EXPECT_TRUE(executor.stop(*r).empty());
    std::vector<ExtentIndex> a_order;
    {
        std::lock_guard lock(board.m);
        for (const auto& [client, extent] : board.log)
            if (client == 0) a_order.push_back(extent);
    }
    EXPECT_EQ(a_order, (std::vector<ExtentIndex>{10, 11, 12, 13}));
}

}  // namespace
}  // namespace rbdtier
