// `rbdtier tier list`: the pools the gateway's LUNs use, what they are and how full.
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class TierCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("tier", "Tiers (pools) used by the gateway");
        sub->require_subcommand(1);
        CLI::App* list =
            sub->add_subcommand("list", "Pool, device class, site, latency, capacity, used");
        add_common_options(list);
        return sub;
    }

protected:
    nlohmann::json request() const override { return {{kAdminPrefixKey, kCommandTierList}}; }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        TextTable t(
            {"POOL", "CLASS", "SITE", "LOCAL", "LATENCY", "CAPACITY", "USED", "UTIL", "LUNS"});
        for (const auto& tier : r["tiers"]) {
            const auto& lat = tier["latency_ms"];
            const auto& cap = tier["capacity_bytes"];
            const auto& util = tier["utilization"];
            char latency[32] = "-";
            if (!lat.is_null())
                std::snprintf(latency, sizeof(latency), "%.2f ms", lat.get<double>());
            t.add({cell(tier["pool"]), cell(tier["device_class"]), cell(tier["site"]),
                   cell(tier["local"]), latency,
                   cap.is_null() ? "unlimited" : human_bytes(cap.get<std::uint64_t>()),
                   human_bytes(tier["used_bytes"].get<std::uint64_t>()),
                   util.is_null() ? "-" : percent(util.get<double>()), cell(tier["luns"])});
        }
        t.print(out);
    }
};

}  // namespace

std::unique_ptr<Command> make_tier_command() {
    return std::make_unique<TierCommand>();
}

}  // namespace rbdtier::cli
