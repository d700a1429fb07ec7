#include "engine/migration_executor.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace rbdtier {

MigrationExecutor::MigrationExecutor(std::shared_ptr<GatewayBudget> budget, std::size_t workers)
    : budget_(std::move(budget)) {
    threads_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

MigrationExecutor::~MigrationExecutor() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
    for (const auto& [ticket, job] : jobs_) budget_->withdraw(ticket);
}

void MigrationExecutor::submit(Client& client, const BudgetRequest& request,
                               const MigrationOrder& order, bool pin) {
    BudgetRequest mine = request;
    mine.client = reinterpret_cast<std::uintptr_t>(&client);  // one grant at a time per client
    {
        std::lock_guard lock(mutex_);
        jobs_.emplace(budget_->submit(mine), Job{&client, order, pin});
    }
    changed_.notify_all();
}

std::vector<MigrationExecutor::Submitted> MigrationExecutor::withdraw(Client& client) {
    std::vector<Submitted> out;
    {
        std::lock_guard lock(mutex_);
        for (auto it = jobs_.begin(); it != jobs_.end();) {
            if (it->second.client != &client || it->second.running) {
                ++it;
                continue;
            }
            budget_->withdraw(it->first);  // a granted one gives its bytes and slot back
            ready_.erase(std::remove(ready_.begin(), ready_.end(), it->first), ready_.end());
            out.push_back(Submitted{std::move(it->second.order), it->second.pin});
            it = jobs_.erase(it);
        }
    }
    // A withdrawn head of the line may let the next one go; nothing withdrawn (an idle LUN's
    // every round) changes nothing, and wakes no worker.
    if (!out.empty()) changed_.notify_all();
    return out;
}

std::vector<MigrationExecutor::Submitted> MigrationExecutor::stop(Client& client) {
    std::vector<Submitted> out = withdraw(client);
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
        return std::none_of(jobs_.begin(), jobs_.end(), [&](const auto& entry) {
            return entry.second.client == &client && entry.second.running;
        });
    });
    return out;
}

std::vector<MigrationOrder> MigrationExecutor::pending(const Client& client) const {
    std::lock_guard lock(mutex_);
    std::vector<MigrationOrder> out;
    for (const auto& [ticket, job] : jobs_)
        if (job.client == &client) out.push_back(job.order);
    return out;
}

void MigrationExecutor::dispatch_locked() {
    for (const GatewayBudget::Ticket t : budget_->dispatch()) ready_.push_back(t);
}

GatewayBudget::Ticket MigrationExecutor::take_ready_locked() {
    // The budget grants a client's next job only once its last one finished (run() finishes it
    // and frees the client under mutex_), so no granted job waits for its client.
    if (ready_.empty()) return 0;
    const GatewayBudget::Ticket t = ready_.front();
    ready_.pop_front();
    Job& job = jobs_.at(t);
    job.running = true;
    return t;
}

void MigrationExecutor::run(GatewayBudget::Ticket ticket) {
    Client* client = nullptr;
    MigrationOrder order;
    bool pin = false;
    {
        std::lock_guard lock(mutex_);
        const Job& job = jobs_.at(ticket);
        client = job.client;
        order = job.order;
        pin = job.pin;
    }
    const bool used = client->carry_out(order, pin);
    {
        std::lock_guard lock(mutex_);
        budget_->finish(ticket, used);
        jobs_.erase(ticket);
    }
    changed_.notify_all();
}

std::size_t MigrationExecutor::run_granted() {
    if (!threads_.empty()) return 0;
    std::size_t n = 0;
    for (;;) {
        GatewayBudget::Ticket t = 0;
        {
            std::lock_guard lock(mutex_);
            dispatch_locked();
            t = take_ready_locked();
        }
        if (t == 0) return n;
        run(t);
        ++n;
    }
}

void MigrationExecutor::wake() {
    { std::lock_guard lock(mutex_); }  // a worker between its check and its wait sees the change
    changed_.notify_all();
}

void MigrationExecutor::work() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        dispatch_locked();
        if (const GatewayBudget::Ticket t = take_ready_locked(); t != 0) {
            lock.unlock();
            run(t);
            lock.lock();
            continue;
        }
        // Nothing to start now: until the budget's bucket holds the next request's bytes, or a
        // submit, finish, withdraw or wake() changes what may go. The bytes there and still no
        // grant: every slot is held, and only a finish frees one. No request whose LUN is free
        // to start it: only a finish (or a submit) makes one.
        const std::uint64_t next = budget_->next_grant_us();
        if (next == 0 || next == GatewayBudget::kNever) {
            changed_.wait(lock);
        } else {
            changed_.wait_for(lock, std::chrono::microseconds(next));
        }
    }
}

}  // namespace rbdtier
