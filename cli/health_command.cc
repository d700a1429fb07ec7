// `rbdtier health`: the gateway's health as `ceph health detail` gives the cluster's:
// HEALTH_OK, HEALTH_WARN or HEALTH_ERR with the checks' summaries, then one line per check and
// its detail lines (handler/gateway_health.h has the checks). --format json prints the
// gateway's reply (`ceph health detail -f json`'s form). Exit status, for monitoring scripts
// (Nagios' convention): 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR, 3 the gateway could not be
// asked or gave an answer of another form (message on stderr). Bad usage exits 2 before the
// gateway is asked, as for every verb (CLI11's message on stderr, nothing on stdout, so a
// script tells it from HEALTH_ERR, which prints its verdict).
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
                        "unknown; bad usage 2, with nothing on stdout)");
    }

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
