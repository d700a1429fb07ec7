// rbdtier: the gateway admin CLI. Each verb lives in its own file (see command.h) and is
// registered here.
#include <iostream>
#include <utility>
#include <vector>

#include "cli/command.h"

int main(int argc, char** argv) {
    using namespace rbdtier::cli;
    CLI::App app{"rbdtier: predictive tiering for Ceph RBD iSCSI gateways"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "rbdtier 0.1.0");

    std::vector<std::pair<std::unique_ptr<Command>, CLI::App*>> commands;
    auto add = [&](std::unique_ptr<Command> command) {
        CLI::App* sub = command->add_to(app);
        commands.emplace_back(std::move(command), sub);
    };
    add(make_replay_command());
    add(make_status_command());
    add(make_health_command());
    add(make_lun_command());
    add(make_tier_command());
    add(make_migrations_command());
    add(make_map_command());
    add(make_pause_command());
    add(make_resume_command());
    add(make_scrub_command());
    add(make_reload_command());
    add(make_heat_command());
    add(make_forecast_command());
    add(make_alerts_command());
    add(make_pin_command());
    add(make_unpin_command());
    add(make_report_command());
    add(make_tenant_command());
    add(make_config_command());

    // A first word that names no verb: say which word, and the verbs there are (CLI11 would only
    // say a subcommand is required).
    if (argc > 1 && argv[1][0] != '-') {
        std::string known;
        bool found = false;
        for (const auto& [command, sub] : commands) {
            found = found || sub->check_name(argv[1]);
            known += (known.empty() ? "" : ", ") + sub->get_name();
        }
        if (!found) {
            std::cerr << "rbdtier: unknown command '" << argv[1] << "' (known: " << known
                      << "); rbdtier --help tells more\n";
            return kExitUsage;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        // The verb named first decides the code (its subcommand may not count as parsed).
        for (const auto& [command, sub] : commands) {
            if (argc > 1 && sub->check_name(argv[1])) {
                const int code = command->usage_exit_code();
                if (code != kExitUsage)
                    std::cerr << "rbdtier " << sub->get_name() << ": bad usage (exit " << code
                              << ")\n";
                return code;
            }
        }
        return kExitUsage;
    }
    for (auto& [command, sub] : commands)
        if (sub->parsed()) return command->run();
    return kExitUsage;
}
