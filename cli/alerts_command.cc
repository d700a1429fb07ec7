// `rbdtier alerts [--lun LUN]`: access patterns the engine found out of profile (a scan from an
// initiator that never scans, a burst of overwrites), whose extents stay out of the fast tiers.
#include <cstdio>

#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class AlertsCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("alerts", "Anomalies the engine noticed");
        sub->add_option("--lun", lun_, "Only this LUN");
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{kAdminPrefixKey, kCommandAlerts}};
        if (!lun_.empty()) r["lun"] = lun_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        TextTable t({"LUN", "KIND", "INITIATOR", "EXTENTS", "RANGE", "AGE"});
        for (const auto& a : r["alerts"]) {
            char initiator[16], age[32];
            std::snprintf(initiator, sizeof(initiator), "%08x", a["initiator"].get<unsigned>());
            const auto name = a.find("initiator_name");
            std::snprintf(age, sizeof(age), "%.0f s", a["age_s"].get<double>());
            t.add({cell(a["lun"]), cell(a["kind"]),
                   name != a.end() && name->is_string() ? name->get<std::string>() : initiator,
                   cell(a["extents"]), cell(a["first_extent"]) + "-" + cell(a["last_extent"]),
                   age});
        }
        t.print(out);
        out << r["alerts"].size() << " alert(s)\n";
    }

private:
    std::string lun_;
};

}  // namespace

std::unique_ptr<Command> make_alerts_command() {
    return std::make_unique<AlertsCommand>();
}

}  // namespace rbdtier::cli
