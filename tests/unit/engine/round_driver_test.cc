// RoundDriver: rounds of many registrations on a fixed pool of workers, one run of a
// registration at a time, remove() waiting for a round in progress, wake(), shared(), the due
// times rounded up to a grid (due_after), the background priority of the rounds' and the scoring
// arena's workers.

#include "engine/round_driver.h"

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/background_priority.h"
#include "engine/scoring_arena.h"
#include "tests/support/process_threads.h"
#include "tests/support/wait_until.h"

namespace rbdtier {
namespace {

using namespace std::chrono_literals;

using test_support::wait_until;

using test_support::process_threads;

// A gate a round waits at until the test opens it.
class Latch {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

// A round is due no sooner than it asked and less than a tenth of its delay later; rounds of
// one kind that end within one grid step (a second's LUN rounds, 1 s apart) are due together.
TEST(RoundDriver, DueTimesAreRoundedUpToAGridOfATenthOfTheDelay) {
    using std::chrono::microseconds;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::uint64_t delay : {1'000u, 9'999u, 10'000u, 50'000u, 100'000u, 250'000u,
                                      1'000'000u, 10'000'000u, 600'000'000u}) {
        for (const auto offset : {microseconds(0), microseconds(1), microseconds(37'123),
                                  microseconds(999'999), microseconds(5'432'101)}) {
            const auto now = t0 + offset;
            const auto due = RoundDriver::due_after(now, delay);
            EXPECT_GE(due, now + microseconds(delay)) << delay << " us, +" << offset.count();
            EXPECT_LE(due - (now + microseconds(delay)), microseconds(delay / 10))
                << delay << " us, +" << offset.count();
            if (delay < 10'000) {
                EXPECT_EQ(due, now + microseconds(delay)) << "a short delay is kept as it is";
            }
        }
    }
    // 1 s rounds ending a few ms apart within one 100 ms step fall due at one time.
    const auto step = RoundDriver::due_after(t0, 1'000'000);
    const auto first = step - 1s - 99ms;  // the earliest end in the step before `step`
    EXPECT_EQ(RoundDriver::due_after(first, 1'000'000), step);
    EXPECT_EQ(RoundDriver::due_after(first + 50ms, 1'000'000), step);
    EXPECT_EQ(RoundDriver::due_after(step - 1s, 1'000'000), step);
    EXPECT_GT(RoundDriver::due_after(step - 1s + 1us, 1'000'000), step);
}

TEST(RoundDriver, ManyRegistrationsRunOnTheSameWorkers) {
    RoundDriver driver(3);
    const unsigned long threads_before = process_threads();
    constexpr int kRegistrations = 300;
    std::vector<std::atomic<int>> rounds(kRegistrations);
    std::vector<RoundDriver::Id> ids;
    for (int i = 0; i < kRegistrations; ++i)
        ids.push_back(driver.add([&rounds, i]() -> std::uint64_t {
            rounds[i].fetch_add(1);
            return 1000;  // 1 ms
        }));
    EXPECT_EQ(process_threads(), threads_before);  // registrations start no thread
    EXPECT_EQ(driver.workers(), 3u);
    EXPECT_EQ(driver.registered(), static_cast<std::size_t>(kRegistrations));
    EXPECT_TRUE(wait_until([&] {
        for (const auto& r : rounds)
            if (r.load() < 3) return false;
        return true;
    })) << "every registration runs its rounds";
    for (RoundDriver::Id id : ids) driver.remove(id);
    EXPECT_EQ(driver.registered(), 0u);
}

TEST(RoundDriver, OneRegistrationNeverRunsTwiceAtOnce) {
    RoundDriver driver(4);
    std::atomic<int> inside{0}, overlaps{0}, rounds{0};
    const auto id = driver.add([&]() -> std::uint64_t {
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        std::this_thread::sleep_for(200us);  // keeps the round running while others are free
        inside.fetch_sub(1);
        rounds.fetch_add(1);
        return 0;  // due again at once
    });
    // wake() during a round must not start a second run either.
    EXPECT_TRUE(wait_until([&] {
        driver.wake(id);
        return rounds.load() >= 200;
    }));
    driver.remove(id);
    EXPECT_EQ(overlaps.load(), 0);
}

TEST(RoundDriver, RemoveWaitsForTheRoundInProgressAndNoRoundFollows) {
    RoundDriver driver(2);
    Latch release;
    std::atomic<bool> started{false}, ended{false};
    std::atomic<int> rounds{0};
    const auto id = driver.add([&]() -> std::uint64_t {
        rounds.fetch_add(1);
        started.store(true);
        release.wait();
        ended.store(true);
        return 0;
    });
    ASSERT_TRUE(wait_until([&] { return started.load(); }));
    std::atomic<bool> removed{false};
    std::thread remover([&] {
        driver.remove(id);
        removed.store(true);
        // What the round uses may go now: it ended and never runs again.
        EXPECT_TRUE(ended.load());
    });
    // remove() is blocked while the round runs (it cannot return before `ended`, checked above);
    // let the round end.
    release.open();
    remover.join();
    EXPECT_TRUE(removed.load());
    const int after_remove = rounds.load();
    // Another registration's rounds show the workers still go round; the removed one is absent.
    std::atomic<int> other{0};
    const auto other_id = driver.add([&]() -> std::uint64_t {
        other.fetch_add(1);
        return 0;
    });
    EXPECT_TRUE(wait_until([&] { return other.load() >= 50; }));
    driver.remove(other_id);
    EXPECT_EQ(rounds.load(), after_remove);
    driver.remove(id);  // twice: nothing happens
}

TEST(RoundDriver, ARoundCannotRemoveItself) {
    RoundDriver driver(1);
    std::atomic<RoundDriver::Id> self{0};
    std::atomic<int> refused{0};
    Latch registered;
    const auto id = driver.add([&]() -> std::uint64_t {
        registered.wait();
        try {
            driver.remove(self.load());
        } catch (const std::logic_error&) {
            refused.fetch_add(1);
        }
        return 1'000'000;
    });
    self.store(id);
    registered.open();
    EXPECT_TRUE(wait_until([&] { return refused.load() == 1; }));
    driver.remove(id);
}

TEST(RoundDriver, WakeMakesTheNextRoundDueNow) {
    RoundDriver driver(1);
    std::atomic<int> rounds{0};
    const auto id = driver.add([&]() -> std::uint64_t {
        rounds.fetch_add(1);
        return 3'600'000'000;  // an hour
    });
    ASSERT_TRUE(wait_until([&] { return rounds.load() == 1; }));
    driver.wake(id);
    EXPECT_TRUE(wait_until([&] { return rounds.load() == 2; }));
    driver.remove(id);
}

TEST(RoundDriver, SharedIsOneDriverWhileHeld) {
    auto a = RoundDriver::shared();
    auto b = RoundDriver::shared();
    EXPECT_EQ(a.get(), b.get());
    EXPECT_EQ(a->workers(), RoundDriver::kSharedWorkers);
    a.reset();
    b.reset();
    // Released by all: the next caller gets a driver of its own (the old one's workers joined).
    auto c = RoundDriver::shared();
    EXPECT_NE(c, nullptr);
    EXPECT_EQ(c->registered(), 0u);
}

TEST(RoundDriver, ProcessWideIsOneDriverPerTagWhileHeld) {
    auto a = RoundDriver::process_wide("test-a", 2);
    auto again = RoundDriver::process_wide("test-a", 2);
    auto b = RoundDriver::process_wide("test-b", 1);
    EXPECT_EQ(a.get(), again.get());
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(a->workers(), 2u);
    EXPECT_EQ(b->workers(), 1u);
    // shared() is the rounds' tag, not one of these.
    auto rounds = RoundDriver::shared();
    EXPECT_NE(rounds.get(), a.get());
    EXPECT_EQ(rounds.get(),
              RoundDriver::process_wide(RoundDriver::kRoundsTag, RoundDriver::kSharedWorkers,
                                        RoundDriver::Priority::kBackground)
                  .get());
}

TEST(RoundDriver, ProcessWideRefusesAnotherWorkerCountForATag) {
    auto a = RoundDriver::process_wide("test-count", 2);
    EXPECT_THROW(RoundDriver::process_wide("test-count", 3), std::logic_error);
    a.reset();
    // Even with no holder left: a tag's worker count is fixed for the process.
    EXPECT_THROW(RoundDriver::process_wide("test-count", 3), std::logic_error);
    EXPECT_EQ(RoundDriver::process_wide("test-count", 2)->workers(), 2u);
}

// The nice value the calling thread runs at (Linux: per thread).
int nice_of_this_thread() {
    return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
}

// The nice value a background thread runs at in this process.
int background_nice() {
    return std::min(::getpriority(PRIO_PROCESS, static_cast<id_t>(::getpid())) + kBackgroundNice,
                    19);
}

TEST(RoundDriver, TheRoundsOfTheSharedDriverRunAtBackgroundPriority) {
    if (background_nice() == nice_of_this_thread())
        GTEST_SKIP() << "the process already runs at nice 19: no lower priority to show";
    auto driver = RoundDriver::shared();
    std::atomic<int> seen{-100};
    const RoundDriver::Id id = driver->add([&] {
        seen = nice_of_this_thread();
        return 3'600'000'000;  // an hour
    });
    ASSERT_TRUE(wait_until([&] { return seen.load() != -100; }));
    driver->remove(id);
    EXPECT_EQ(seen.load(), background_nice());
    // The caller's own thread is untouched.
    EXPECT_LT(nice_of_this_thread(), background_nice());
}

TEST(RoundDriver, ADriverAtTheProcessPriorityLeavesItsWorkersAsTheyAre) {
    RoundDriver driver(1);
    const int mine = nice_of_this_thread();
    std::atomic<int> seen{-100};
    const RoundDriver::Id id = driver.add([&] {
        seen = nice_of_this_thread();
        return 3'600'000'000;
    });
    ASSERT_TRUE(wait_until([&] { return seen.load() != -100; }));
    driver.remove(id);
    EXPECT_EQ(seen.load(), mine);
}

TEST(RoundDriver, ATagComesWithOnePriority) {
    auto a = RoundDriver::process_wide("test-priority", 1, RoundDriver::Priority::kBackground);
    EXPECT_THROW(RoundDriver::process_wide("test-priority", 1), std::logic_error);
}

TEST(ScoringArena, ItsWorkerThreadsRunAtBackgroundPriority) {
    if (background_nice() == nice_of_this_thread())
        GTEST_SKIP() << "the process already runs at nice 19: no lower priority to show";
    tbb::task_arena& arena = ScoringArena::process_wide(2);
    std::atomic<int> seen{-100};
    arena.enqueue([&] { seen = nice_of_this_thread(); });  // run by a worker, never the caller
    ASSERT_TRUE(wait_until([&] { return seen.load() != -100; }));
    EXPECT_EQ(seen.load(), background_nice());
    EXPECT_LT(nice_of_this_thread(), background_nice());
}

// LeakSanitizer checks the heap when the process exits; the other builds have no checker.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kLeaksChecked = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kLeaksChecked = true;
#else
constexpr bool kLeaksChecked = false;
#endif
#else
constexpr bool kLeaksChecked = false;
#endif

// The process exits right after a TBB worker ran a task in the scoring arena, while the worker
// is most likely still inside the arena looking for more. A worker holds the arena's observer
// until it leaves the arena, so nothing the arena made may be destroyed before the process ends.
// Run only as the child of the test below (the environment variable says so).
TEST(ScoringArenaChild, ExitsRightAfterAWorkerRan) {
    if (std::getenv("RBDTIER_ARENA_CHILD") == nullptr) GTEST_SKIP() << "run by its parent test";
    static std::atomic<bool> ran{false};
    ScoringArena::process_wide(2).enqueue([] { ran = true; });
    // Spins rather than sleeps: the exit must come while the worker is still in the arena.
    const auto deadline = std::chrono::steady_clock::now() + 1min;
    while (!ran) {
        if (std::chrono::steady_clock::now() > deadline) std::exit(2);
        std::this_thread::yield();
    }
    std::exit(0);
}

// Each child's leak check at exit finds nothing lost (LeakSanitizer fails a child with a leak:
// when an arena died with its last holder, about two children in three did).
TEST(ScoringArena, AProcessThatExitsWhileAWorkerIsInsideTheArenaLosesNothing) {
    if (!kLeaksChecked) GTEST_SKIP() << "no leak checker in this build";
    for (int child = 0; child < 10; ++child) {
        char filter[] = "--gtest_filter=ScoringArenaChild.ExitsRightAfterAWorkerRan";
        char self[] = "/proc/self/exe";
        char* argv[] = {self, filter, nullptr};
        std::vector<char*> env;
        std::string marker = "RBDTIER_ARENA_CHILD=1";
        for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
        env.push_back(marker.data());
        env.push_back(nullptr);
        pid_t pid = 0;
        ASSERT_EQ(::posix_spawn(&pid, self, nullptr, nullptr, argv, env.data()), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status)) << "child " << child << " did not exit";
        EXPECT_EQ(WEXITSTATUS(status), 0) << "child " << child << " (its leak report is above)";
    }
}

}  // namespace
}  // namespace rbdtier
