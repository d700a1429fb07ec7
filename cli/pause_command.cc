// `rbdtier pause` / `rbdtier resume`: stop and restart migrations on every LUN of the gateway
// (I/O goes on; the placement map stays as it is).
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class PauseCommand final : public SocketCommand {
public:
    explicit PauseCommand(bool pause) : pause_(pause) {}
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub =
            app.add_subcommand(pause_ ? "pause" : "resume",
                               pause_ ? "Pause migrations on every LUN" : "Resume migrations");
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        return {{kAdminPrefixKey, pause_ ? kCommandPause : kCommandResume}};
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << "migrations " << (r["paused"].get<bool>() ? "paused" : "running") << '\n';
    }

private:
    bool pause_;
};

}  // namespace

std::unique_ptr<Command> make_pause_command() {
    return std::make_unique<PauseCommand>(true);
}
std::unique_ptr<Command> make_resume_command() {
    return std::make_unique<PauseCommand>(false);
}

}  // namespace rbdtier::cli
