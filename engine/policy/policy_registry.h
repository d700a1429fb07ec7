// PolicyRegistry: placement policies by name.
//
// A registry is a value (no global state): builtin_policy_registry() returns the policies a live
// gateway can run: none, reactive, frequency, the caching variants and, when the engine provides
// engine/predictive_policy.h, predictive (the strategy selector) and forecast (the engine's
// forecast placement alone). The replay adds the policies that need the recorded future
// (engine/replay/replay_policies.h).
// A factory receives the tiering configuration and the events about to be replayed (empty on a
// live gateway; only replay-only policies read them). Unknown names give std::invalid_argument
// listing the known ones.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/io_event.h"
#include "engine/placement_policy.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

struct PolicyContext {
    const StorageModel& config;
    std::span<const IoEvent> events;
};

class PolicyRegistry {
public:
    using Factory = std::function<std::unique_ptr<PlacementPolicy>(const PolicyContext&)>;

    void add(std::string name, std::string description, Factory factory);
    bool contains(const std::string& name) const;
    std::vector<std::string> names() const;  // in registration order
    const std::string& description(const std::string& name) const;
    std::unique_ptr<PlacementPolicy> create(const std::string& name,
                                            const PolicyContext& context) const;

private:
    struct Entry {
        std::string name;
        std::string description;
        Factory factory;
    };
    const Entry& find(const std::string& name) const;
    std::vector<Entry> entries_;
};

PolicyRegistry builtin_policy_registry();

}  // namespace rbdtier
