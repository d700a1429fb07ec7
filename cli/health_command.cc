// `rbdtier health`: the gateway's health as `ceph health detail` gives the cluster's:
// HEALTH_OK, HEALTH_WARN or HEALTH_ERR with the checks' summaries, then one line per check and
// its detail lines (handler/gateway_health.h has the checks). --format json prints the
// gateway's reply (`ceph health detail -f json`'s form). Exit status, for monitoring scripts
// (Nagios' plugin convention): 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR (CRITICAL), 3 UNKNOWN:
// the gateway could not be asked or gave an answer of another form, or the arguments are bad
// (before the gateway is asked: CLI11's reason and "bad usage" on stderr, nothing on stdout).
// Every other verb exits 2 on bad usage; this one does not, so a mistyped check is never
// taken for HEALTH_ERR.
#include <iostream>

#include "cli/socket_command.h"
#include "handler/gateway_health.h"

namespace rbdtier::cli {
namespace {

constexpr int kExitHealthUnknown = 3;

class HealthCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        return add_verb(app, "health",
                        "HEALTH_OK / HEALTH_WARN / HEALTH_ERR and why (exit 0 / 1 / 2; 3 "
                        "unknown: gateway not asked, or bad usage 3, with nothing on stdout)");
    }

    int usage_exit_code() const override { return kExitHealthUnknown; }

    int run() override {
        nlohmann::json result;
        if (exchange(result) != kExitOk) return kExitHealthUnknown;
        HealthReport report;
        if (!HealthReport::from_json(result, report)) {
            std::cerr << "rbdtier: the gateway's health reply is not of the known form\n";
            return kExitHealthUnknown;
        }
        print(result);
        return static_cast<int>(report.status);
    }

protected:
    nlohmann::json request() const override { return {{kAdminPrefixKey, kCommandHealth}}; }
    void render(const nlohmann::json& result, std::ostream& out) const override {
        HealthReport report;
        if (HealthReport::from_json(result, report)) out << report.text();
    }
};

}  // namespace

std::unique_ptr<Command> make_health_command() {
    return std::make_unique<HealthCommand>();
}

}  // namespace rbdtier::cli
