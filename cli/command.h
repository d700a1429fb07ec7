// Command: one verb of the `rbdtier` CLI (replay, status, ...), each in its own file.
//
// main.cc creates every command, lets each add its subcommand and options to the CLI11 app,
// parses, and runs the one chosen. run() returns the process exit code:
// 0 success, 1 bad input or failure (reported once on stderr), 2 bad usage (usage_exit_code()
// of the verb: `health` answers 3, UNKNOWN, as Nagios' plugin guidelines say).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace rbdtier::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class Command {
public:
    virtual ~Command() = default;
    // Adds the verb's subcommand to `app` and returns it.
    virtual CLI::App* add_to(CLI::App& app) = 0;
    virtual int run() = 0;
    // The exit code when the verb's arguments are refused (CLI11's reason on stderr).
    virtual int usage_exit_code() const { return kExitUsage; }
};

std::unique_ptr<Command> make_replay_command();

// Gateway administration verbs (admin socket, see socket_command.h).
std::unique_ptr<Command> make_status_command();
std::unique_ptr<Command> make_health_command();
std::unique_ptr<Command> make_lun_command();
std::unique_ptr<Command> make_tier_command();
std::unique_ptr<Command> make_migrations_command();
std::unique_ptr<Command> make_map_command();
std::unique_ptr<Command> make_pause_command();
std::unique_ptr<Command> make_resume_command();
std::unique_ptr<Command> make_scrub_command();
std::unique_ptr<Command> make_reload_command();
std::unique_ptr<Command> make_heat_command();
std::unique_ptr<Command> make_forecast_command();
std::unique_ptr<Command> make_alerts_command();
std::unique_ptr<Command> make_pin_command();
std::unique_ptr<Command> make_unpin_command();
std::unique_ptr<Command> make_report_command();
// Tenants, straight in RADOS (no gateway needed).
std::unique_ptr<Command> make_tenant_command();
// Tiering settings every gateway shares, straight in RADOS (no gateway needed).
std::unique_ptr<Command> make_config_command();

}  // namespace rbdtier::cli
