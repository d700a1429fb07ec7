// MigrationExecutor: carries out the migrations of every tiered LUN of the gateway in the order
// its migration budget grants them (engine/gateway_budget.h), so that the ranking is the
// gateway's: fair between tenants, highest net benefit first within a tenant, across all LUNs.
//
// A LUN's round submits each order it plans (submit(): it waits in the budget's queue with the
// LUN's tenant, weight and the order's benefit; nothing blocks). Granted orders are carried out
// one per worker, in the order granted, by the LUN itself (Client::carry_out: it re-checks at
// that moment whether the order may still start and returns whether the grant was used; an
// unused grant gives its bytes back). A LUN migrates one extent at a time: the budget
// grants a LUN's next order only once its grant in progress has finished (BudgetRequest::client),
// so a LUN that is migrating holds one slot and its other orders wait in line without one, while
// the other LUNs' orders take the free slots. A LUN withdraws what it submitted and did not start
// with withdraw() (its next round replaces its plan, or it pauses), and stop() also waits for its
// migration in progress: once stop() returns no carry_out of that client runs or will run, so the
// client and its storage may go.
//
// Workers: a fixed number of threads (given; independent of the LUN count) that wait for the next
// grant (a submit, a finish, or the time the budget says its bucket needs; wake() after changing
// the budget's rate or limit). With 0 workers nothing runs by itself: run_granted() carries out
// on the caller's thread what the budget grants at its clock's now (deterministic: unit tests, a
// LUN with a budget of its own).
// Thread-safety: every member may be called from any thread, except that a carry_out must not
// call withdraw() or stop() for its own client (stop() would wait for itself). Lock order: the
// executor's mutex before the budget's; carry_out runs with neither held. The destructor requires
// every client stopped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/gateway_budget.h"
#include "engine/placement_policy.h"

namespace rbdtier {

class MigrationExecutor {
public:
    // What carries a LUN's orders out (its rounds).
    class Client {
    public:
        // Carries out `order` now (`pin`: an admin's pin order); true if it used the grant.
        virtual bool carry_out(const MigrationOrder& order, bool pin) = 0;

    protected:
        ~Client() = default;
    };
    // An order submitted and not started.
    struct Submitted {
        MigrationOrder order;
        bool pin = false;
    };

    // Migrations of one LUN in progress at once: the budget grants a client one at a time.
    static constexpr unsigned kMigrationsPerLun = 1;

    MigrationExecutor(std::shared_ptr<GatewayBudget> budget, std::size_t workers);
    ~MigrationExecutor();
    MigrationExecutor(const MigrationExecutor&) = delete;
    MigrationExecutor& operator=(const MigrationExecutor&) = delete;

    const std::shared_ptr<GatewayBudget>& budget() const { return budget_; }
    std::size_t workers() const { return threads_.size(); }

    void submit(Client& client, const BudgetRequest& request, const MigrationOrder& order,
                bool pin);
    // The client's orders not started, in the order submitted; they leave the queue.
    std::vector<Submitted> withdraw(Client& client);
    // withdraw(), then waits until the client's migration in progress (if any) has ended.
    std::vector<Submitted> stop(Client& client);
    // The client's orders waiting or in progress, in the order submitted.
    std::vector<MigrationOrder> pending(const Client& client) const;
    // With 0 workers: carries out, on the caller's thread, every order the budget grants until it
    // grants none at the clock's now; the number carried out. With workers: 0, nothing done.
    std::size_t run_granted();
    // The budget's rate or limit changed: the workers look again.
    void wake();

private:
    struct Job {
        Client* client;
        MigrationOrder order;
        bool pin;
        bool running = false;
    };
    // Grants what the budget allows now and queues it to run. Under mutex_.
    void dispatch_locked();
    // Takes the first granted job (0: none); its client has none in progress. Under mutex_.
    GatewayBudget::Ticket take_ready_locked();
    // Carries out a taken job and finishes it. Called without mutex_.
    void run(GatewayBudget::Ticket ticket);
    void work();

    const std::shared_ptr<GatewayBudget> budget_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;            // a submit, a finish, a withdraw, wake(), stopping
    std::map<GatewayBudget::Ticket, Job> jobs_;  // waiting, granted or running; by submission
    std::deque<GatewayBudget::Ticket> ready_;    // granted, not started, in the order granted
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace rbdtier
