// `rbdtier status`: the gateway at a glance (site, pause state, budgets, per-LUN lock and engine,
// and each tiered LUN's policy, horizon and round in force now).
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class StatusCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        return add_verb(app, "status",
                        "Show the gateway: site, engine state, LUNs, lock ownership and the "
                        "tiering settings in force");
    }

protected:
    nlohmann::json request() const override { return {{kAdminPrefixKey, kCommandStatus}}; }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << "gateway  " << cell(r["gateway"]) << " (pid " << cell(r["pid"]) << ", up "
            << cell(r["uptime_s"]) << " s)\n"
            << "site     " << cell(r["site"]) << '\n'
            << "config   " << cell(r["config"]) << '\n'
            << "metrics  " << cell(r["metrics"]) << '\n'
            << "engine   " << (r["paused"].get<bool>() ? "paused" : "running") << '\n'
            << "tiering  bandwidth " << cell(r["migration_bandwidth_mib_s"])
            << " MiB/s shared by the LUNs, horizon " << cell(r["horizon_s"]) << " s, round "
            << cell(r["round_s"])
            << " s (the cluster's settings, else rbdtier.conf; each LUN's in force below)\n\n";
        TextTable t({"LUN", "LOCK OWNER", "POLICY", "HORIZON", "ROUND", "MiB/s", "ROUNDS", "MOVED",
                     "FAILED", "BYTES MOVED"});
        auto with_unit = [](const nlohmann::json& v, const char* unit) {
            return v.is_number() ? cell(v) + unit : std::string("-");
        };
        for (const auto& l : r["luns"]) {
            const auto& e = l["engine"];
            const bool tiered = !e.is_null();
            t.add({cell(l["name"]), cell(l["lock_owner"]),
                   cell(l.value("policy", nlohmann::json())),
                   with_unit(l.value("horizon_s", nlohmann::json()), " s"),
                   with_unit(l.value("round_s", nlohmann::json()), " s"),
                   with_unit(l.value("migration_bandwidth_mib_s", nlohmann::json()), ""),
                   tiered ? cell(e["rounds"]) : "-", tiered ? cell(e["moved"]) : "-",
                   tiered ? cell(e["failed"]) : "-",
                   tiered ? human_bytes(e["bytes_moved"].get<std::uint64_t>()) : "-"});
        }
        t.print(out);
        // What an admin must know about a tiered LUN's placement: a move some gateway did not
        // acknowledge (its view may be old), or why this gateway cannot own or follow the LUN.
        for (const auto& l : r["luns"]) {
            const auto& p = l.value("placement", nlohmann::json());
            if (!p.is_object()) continue;
            std::string silent;
            for (const auto& g : p["unacknowledged_by"]) silent += " " + g.get<std::string>();
            if (!silent.empty()) {
                out << cell(l["name"]) << ": last move not acknowledged by" << silent << '\n';
            }
            if (const std::string routing = p.value("routing", "valid"); routing != "valid") {
                out << cell(l["name"]) << ": routing " << routing
                    << " until the placement map is reloaded (watch error "
                    << cell(p.value("watch_error", nlohmann::json())) << ")\n";
            }
            if (const std::string problem = p.value("problem", ""); !problem.empty()) {
                out << cell(l["name"]) << ": " << problem << '\n';
            }
        }
    }
};

}  // namespace

std::unique_ptr<Command> make_status_command() {
    return std::make_unique<StatusCommand>();
}

}  // namespace rbdtier::cli
