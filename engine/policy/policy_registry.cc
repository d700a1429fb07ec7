#include "engine/policy/policy_registry.h"

#include <stdexcept>

#include "engine/policy/baseline_policies.h"
#include "engine/policy/caching_policies.h"

namespace rbdtier {

void register_predictive_policy(PolicyRegistry& registry);  // predictive_registration.cc

void PolicyRegistry::add(std::string name, std::string description, Factory factory) {
    if (contains(name)) throw std::invalid_argument("policy '" + name + "' registered twice");
    entries_.push_back({std::move(name), std::move(description), std::move(factory)});
}

bool PolicyRegistry::contains(const std::string& name) const {
    for (const auto& e : entries_)
        if (e.name == name) return true;
    return false;
}

std::vector<std::string> PolicyRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
}

const PolicyRegistry::Entry& PolicyRegistry::find(const std::string& name) const {
    for (const auto& e : entries_)
        if (e.name == name) return e;
    std::string known;
    for (const auto& e : entries_) known += (known.empty() ? "" : ", ") + e.name;
    throw std::invalid_argument("unknown policy '" + name + "' (known: " + known + ")");
}

const std::string& PolicyRegistry::description(const std::string& name) const {
    return find(name).description;
}

std::unique_ptr<PlacementPolicy> PolicyRegistry::create(const std::string& name,
                                                        const PolicyContext& context) const {
    return find(name).factory(context);
}

PolicyRegistry builtin_policy_registry() {
    PolicyRegistry r;
    r.add("none", "never migrates",
          [](const PolicyContext&) { return std::make_unique<NonePolicy>(); });
    r.add("reactive", "promote on access, evict LRU (cache tiering)", [](const PolicyContext& c) {
        return std::make_unique<ReactivePolicy>(c.config.extent_bytes);
    });
    r.add("frequency", "periodic decayed-heat ranking (FAST VP / Easy Tier)",
          [](const PolicyContext& c) {
              return std::make_unique<FrequencyPolicy>(c.config.extent_bytes, FrequencyParams{},
                                                       TenantSlots::from(c.config));
          });
    for (const auto& variant : caching_variants())
        r.add(variant.name, variant.description,
              [variant](const PolicyContext& c) { return make_caching_policy(variant, c.config); });
    register_predictive_policy(r);
    return r;
}

}  // namespace rbdtier
