#include "engine/gateway_budget.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

namespace rbdtier {

namespace {
std::uint64_t steady_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

double usable_weight(double weight) {
    return weight > 0 && std::isfinite(weight) ? weight : 1.0;
}

double usable_benefit(double benefit) {
    return std::isnan(benefit) ? std::numeric_limits<double>::lowest() : benefit;
}
}  // namespace

GatewayBudget::GatewayBudget(double bandwidth_bytes_per_s, unsigned max_concurrent, Clock clock)
    : clock_(clock ? std::move(clock) : Clock(steady_us)),
      bucket_(bandwidth_bytes_per_s, 0, clock_()),
      max_concurrent_(std::max(max_concurrent, 1u)) {}

void GatewayBudget::set_bandwidth(double bytes_per_s) {
    std::lock_guard lock(mutex_);
    bucket_.refill(clock_());  // the time until now at the old rate
    bucket_.set_rate(bytes_per_s);
}

double GatewayBudget::bandwidth() const {
    return bucket_.rate();
}

void GatewayBudget::set_max_concurrent(unsigned max_concurrent) {
    std::lock_guard lock(mutex_);
    max_concurrent_ = std::max(max_concurrent, 1u);
}

unsigned GatewayBudget::max_concurrent() const {
    std::lock_guard lock(mutex_);
    return max_concurrent_;
}

GatewayBudget::Ticket GatewayBudget::submit(const BudgetRequest& request) {
    std::lock_guard lock(mutex_);
    return submit_locked(request);
}

GatewayBudget::Ticket GatewayBudget::submit_locked(const BudgetRequest& request) {
    const Ticket ticket = next_ticket_++;
    const double benefit = usable_benefit(request.benefit);
    Tenant& tenant = tenants_[request.tenant];
    tenant.weight = usable_weight(request.weight);
    // Back from idle: it starts where the gateway is, owed nothing for the time it asked nothing.
    if (tenant.waiting.empty()) tenant.virtual_time = std::max(tenant.virtual_time, virtual_time_);
    tenant.waiting.insert(Waiting{benefit, ticket, request.bytes, request.client});
    entries_.emplace(ticket, Entry{request.tenant, benefit, request.bytes, request.client, false});
    return ticket;
}

std::vector<GatewayBudget::Ticket> GatewayBudget::dispatch() {
    std::lock_guard lock(mutex_);
    return dispatch_locked(clock_());
}

GatewayBudget::Next GatewayBudget::next_locked() const {
    Next next;
    const Tenant* best = nullptr;
    for (const auto& [name, tenant] : tenants_) {  // by name: ties go to the first
        if (tenant.waiting.empty()) continue;
        if (best != nullptr && tenant.virtual_time >= best->virtual_time) continue;
        // Its best request whose client holds no grant.
        const auto it =
            std::find_if(tenant.waiting.begin(), tenant.waiting.end(),
                         [this](const Waiting& w) { return !busy_.contains(w.client); });
        if (it == tenant.waiting.end()) continue;
        best = &tenant;
        next = Next{&name, it};
    }
    return next;
}

std::vector<GatewayBudget::Ticket> GatewayBudget::dispatch_locked(std::uint64_t now) {
    std::vector<Ticket> out;
    bucket_.refill(now);
    while (in_flight_ < max_concurrent_) {
        const Next next = next_locked();
        if (next.tenant == nullptr) break;
        Tenant& tenant = tenants_.at(*next.tenant);
        const Waiting granted = *next.waiting;
        const auto bytes = static_cast<double>(granted.bytes);
        if (bucket_.level() < bytes) {
            // Only a rounding error short of what wait_us() promised: it is there.
            if (bucket_.wait_us(bytes, now) != 0 || bytes > bucket_.depth()) break;
            bucket_.cover(bytes);
        }
        bucket_.take(bytes);
        tenant.waiting.erase(next.waiting);
        virtual_time_ = tenant.virtual_time;  // the start tag of this grant
        tenant.virtual_time += bytes / tenant.weight;
        ++tenant.grants;
        tenant.granted_bytes += granted.bytes;
        ++grants_;
        granted_bytes_ += granted.bytes;
        ++in_flight_;
        if (granted.client != 0) busy_.insert(granted.client);
        entries_.at(granted.ticket).granted = true;
        out.push_back(granted.ticket);
    }
    return out;
}

bool GatewayBudget::granted(Ticket ticket) const {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(ticket);
    return it != entries_.end() && it->second.granted;
}

void GatewayBudget::withdraw(Ticket ticket) {
    std::lock_guard lock(mutex_);
    withdraw_locked(ticket);
}

void GatewayBudget::withdraw_locked(Ticket ticket) {
    const auto it = entries_.find(ticket);
    if (it == entries_.end()) return;
    if (it->second.granted) {
        finish_locked(ticket, false);
        return;
    }
    tenants_.at(it->second.tenant)
        .waiting.erase(Waiting{it->second.benefit, ticket, it->second.bytes, it->second.client});
    entries_.erase(it);
}

void GatewayBudget::finish(Ticket ticket, bool used) {
    std::lock_guard lock(mutex_);
    finish_locked(ticket, used);
}

void GatewayBudget::finish_locked(Ticket ticket, bool used) {
    const auto it = entries_.find(ticket);
    if (it == entries_.end() || !it->second.granted) return;
    --in_flight_;
    busy_.erase(it->second.client);
    if (!used) {
        const std::uint64_t bytes = it->second.bytes;
        bucket_.give_back(static_cast<double>(bytes));
        Tenant& tenant = tenants_.at(it->second.tenant);
        tenant.granted_bytes -= bytes;
        tenant.virtual_time -= static_cast<double>(bytes) / tenant.weight;
        --tenant.grants;
        --grants_;
        granted_bytes_ -= bytes;
    }
    entries_.erase(it);
}

std::uint64_t GatewayBudget::next_grant_us() const {
    std::lock_guard lock(mutex_);
    return next_grant_us_locked(clock_());
}

std::uint64_t GatewayBudget::next_grant_us_locked(std::uint64_t now) const {
    const Next next = next_locked();
    if (next.tenant == nullptr) return kNever;
    const auto bytes = static_cast<double>(next.waiting->bytes);
    if (bytes > bucket_.depth()) return kNever;
    return bucket_.wait_us(bytes, now);
}

GatewayBudgetStats GatewayBudget::stats() const {
    std::lock_guard lock(mutex_);
    GatewayBudgetStats s;
    s.bandwidth_bytes_per_s = bucket_.rate();
    s.max_concurrent = max_concurrent_;
    s.in_flight = in_flight_;
    s.grants = grants_;
    s.granted_bytes = granted_bytes_;
    for (const auto& [name, tenant] : tenants_) {
        s.waiting += tenant.waiting.size();
        s.tenants.push_back(
            {name, tenant.weight, tenant.grants, tenant.granted_bytes, tenant.waiting.size()});
    }
    return s;
}

}  // namespace rbdtier
