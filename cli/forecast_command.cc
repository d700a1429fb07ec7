// `rbdtier forecast accuracy [--lun LUN]`: did the engine's promotions pay? Precision, recall,
// wasted promotions and bytes, latency saved: per model and per tenant, for each tiered LUN (one
// without I/O yet is listed, saying so).
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class ForecastCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("forecast", "Forecasts of the engine");
        sub->require_subcommand(1);
        CLI::App* accuracy = sub->add_subcommand(
            "accuracy", "Precision, recall and wasted bytes per model and per tenant");
        accuracy->add_option("--lun", lun_, "Only this LUN");
        add_common_options(accuracy);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{kAdminPrefixKey, kCommandForecastAccuracy}};
        if (!lun_.empty()) r["lun"] = lun_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        if (r["luns"].empty()) out << "no tiered LUN\n";
        for (const auto& l : r["luns"]) {
            out << "LUN " << cell(l["lun"]) << " (policy " << cell(l["policy"]) << ", tenant "
                << cell(l["tenant"]) << ")\n";
            if (!l.value("io_seen", true)) {
                out << "  no I/O yet: no forecast to judge\n";
                continue;
            }
            if (!l["available"].get<bool>()) {
                out << "  this policy makes no forecasts to judge\n";
                continue;
            }
            TextTable t({"BY", "NAME", "PROMOTIONS", "HITS", "WASTED", "WASTED BYTES", "PRECISION",
                         "RECALL", "SAVED"});
            auto add = [&](const char* by, const nlohmann::json& c) {
                t.add({by, cell(c["name"]), cell(c["promotions"]), cell(c["hits"]),
                       cell(c["wasted"]), human_bytes(c["wasted_bytes"].get<std::uint64_t>()),
                       percent(c["precision"].get<double>()), percent(c["recall"].get<double>()),
                       std::to_string(static_cast<long long>(c["latency_saved_ms"].get<double>())) +
                           " ms"});
            };
            for (const auto& m : l["models"]) add("model", m);
            for (const auto& m : l["tenants"]) add("tenant", m);
            add("all", l["total"]);
            t.print(out);
        }
    }

private:
    std::string lun_;
};

}  // namespace

std::unique_ptr<Command> make_forecast_command() {
    return std::make_unique<ForecastCommand>();
}

}  // namespace rbdtier::cli
