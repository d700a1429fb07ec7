// GatewayBudget: the gateway's migration budget, shared by every tiered LUN of the gateway.
//
// What it holds: one token bucket of bytes (the gateway's migration bandwidth, one second deep,
// starting full; engine/token_bucket.h) and a limit on the migrations in flight at once. Every
// order a tiered LUN's round plans waits here as one request of one extent (submitted by the
// gateway's migration executor, engine/migration_executor.h, which carries out each order when it
// is granted): the request names the LUN's tenant, the tenant's bandwidth weight and the order's
// benefit, so the orders of all the gateway's LUNs are ranked together. A
// granted request has taken its bytes out of the bucket and holds one slot of the concurrency
// limit until it finishes; a grant not used (the order was refused after all) gives its bytes
// back.
//
// Who is granted, whenever the bucket holds the bytes of the next request and a slot is free:
//  - between tenants with requests waiting: weighted fair share, by start-time fair queuing on
//    bytes: each tenant has a virtual time that a grant advances by bytes / weight; the waiting
//    tenant with the smallest one goes next (ties: by name). A tenant that starts waiting again
//    after none of its requests waited starts at the virtual time of the last grant, so what it
//    did not ask for while idle is not owed to it later;
//  - within a tenant: the request of highest benefit first, across all its LUNs (ties: the
//    earlier request);
//  - one at a time per client: a request names who carries it out (its LUN); while that client
//    holds a grant (granted, not finished), its other requests are passed over, keeping their
//    place, and the next request in the order above of a client without one goes instead; when
//    the grant finishes, the client's best request is in line again;
//  - work-conserving: only requests that could start compete, so what idle LUNs and tenants, and
//    LUNs busy migrating, leave goes to the others; a grant never waits while the bucket and a
//    slot could serve a request that could start.
// The request next in line holds the others back while the bucket fills for it (requests are
// one extent each, so the order of grants is the fair order).
//
// No waiting, no thread: submit() / dispatch() / withdraw() / finish(); the caller reads the
// injected clock through dispatch(), so it is deterministic under a fake clock. What waits for the
// grants and carries them out is the gateway's migration executor (engine/migration_executor.h),
// the budget's only dispatcher (two dispatchers would each take grants meant for the other).
// Time: microseconds on the injected clock (default: the steady clock). Bandwidth and concurrency
// may change at any time (the next grant follows them; the bucket keeps at most one second of the
// new rate). Thread-safe: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/token_bucket.h"

namespace rbdtier {

struct BudgetRequest {
    std::string tenant;       // the LUN's tenant ("" is a tenant too: the LUNs without one)
    double weight = 1;        // the tenant's bandwidth weight; not positive or not a number: 1
    double benefit = 0;       // the order's net benefit (policy's units); NaN: the lowest
    std::uint64_t bytes = 0;  // one extent
    // Who carries it out (e.g. its LUN's address): one grant at a time per client; 0: no one in
    // particular (not limited).
    std::uintptr_t client = 0;
};

struct TenantBudgetStats {
    std::string tenant;
    double weight = 1;  // as its last request said
    std::uint64_t grants = 0;
    std::uint64_t granted_bytes = 0;  // given back bytes not counted
    std::size_t waiting = 0;
};

struct GatewayBudgetStats {
    double bandwidth_bytes_per_s = 0;
    unsigned max_concurrent = 0;
    unsigned in_flight = 0;
    std::size_t waiting = 0;
    std::uint64_t grants = 0;
    std::uint64_t granted_bytes = 0;
    std::vector<TenantBudgetStats> tenants;  // by name
};

class GatewayBudget {
public:
    using Clock = std::function<std::uint64_t()>;  // microseconds now
    using Ticket = std::uint64_t;                  // 0: no ticket
    static constexpr std::uint64_t kNever = TokenBucket::kNever;

    // Full at the clock's now. max_concurrent 0 counts as 1. Null clock: the steady clock.
    GatewayBudget(double bandwidth_bytes_per_s, unsigned max_concurrent, Clock clock = nullptr);
    GatewayBudget(const GatewayBudget&) = delete;
    GatewayBudget& operator=(const GatewayBudget&) = delete;

    void set_bandwidth(double bytes_per_s);
    double bandwidth() const;
    void set_max_concurrent(unsigned max_concurrent);
    unsigned max_concurrent() const;
    std::uint64_t now_us() const { return clock_(); }

    // The request waits from now on (a ticket for it).
    Ticket submit(const BudgetRequest& request);
    // Grants, at the clock's now, every waiting request the bucket and the free slots allow, in
    // the order above; the tickets granted, in that order.
    std::vector<Ticket> dispatch();
    bool granted(Ticket ticket) const;
    // A waiting request leaves; a granted one finishes unused (finish(ticket, false)).
    void withdraw(Ticket ticket);
    // A granted request ends: its slot is free; `used` false gives its bytes back.
    void finish(Ticket ticket, bool used);
    // Microseconds from now until the bucket holds the bytes of the request next in line (0:
    // it does; kNever: none waits whose client is free to start it, or the rate is not positive).
    std::uint64_t next_grant_us() const;

    GatewayBudgetStats stats() const;

private:
    struct Waiting {
        double benefit;
        Ticket ticket;
        std::uint64_t bytes;
        std::uintptr_t client;
        bool operator<(const Waiting& o) const {
            return std::tie(o.benefit, ticket) < std::tie(benefit, o.ticket);  // best first
        }
    };
    struct Tenant {
        double weight = 1;
        double virtual_time = 0;
        std::set<Waiting> waiting;
        std::uint64_t grants = 0;
        std::uint64_t granted_bytes = 0;
    };
    struct Entry {
        std::string tenant;
        double benefit = 0;
        std::uint64_t bytes = 0;
        std::uintptr_t client = 0;
        bool granted = false;
    };
    // The request next in line: its tenant and where it waits there.
    struct Next {
        const std::string* tenant = nullptr;  // null: none
        std::set<Waiting>::const_iterator waiting;
    };
    Ticket submit_locked(const BudgetRequest& request);
    std::vector<Ticket> dispatch_locked(std::uint64_t now);
    void withdraw_locked(Ticket ticket);
    void finish_locked(Ticket ticket, bool used);
    // The request next in line (tenant null: none waits whose client is free).
    Next next_locked() const;
    std::uint64_t next_grant_us_locked(std::uint64_t now) const;

    const Clock clock_;
    mutable std::mutex mutex_;
    TokenBucket bucket_;
    unsigned max_concurrent_;
    unsigned in_flight_ = 0;
    double virtual_time_ = 0;  // the start tag of the last grant
    Ticket next_ticket_ = 1;
    std::map<std::string, Tenant> tenants_;
    std::map<Ticket, Entry> entries_;  // waiting or granted
    std::set<std::uintptr_t> busy_;    // clients holding a grant (not 0)
    std::uint64_t grants_ = 0;
    std::uint64_t granted_bytes_ = 0;
};

}  // namespace rbdtier
