// `rbdtier reload`: the gateway re-reads rbdtier.conf; a bad file is refused (line and reason)
// and the running config stays.
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class ReloadCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("reload", "Make the gateway re-read its rbdtier.conf");
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override { return {{kAdminPrefixKey, kCommandReload}}; }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << "reloaded " << r["config"].get<std::string>() << '\n';
        const auto local = r.value("local_tiering_keys", nlohmann::json::array());
        if (!local.empty()) {
            out << "note:";
            for (const auto& key : local) out << ' ' << key.get<std::string>();
            out << " in this file only apply where the cluster sets nothing; `rbdtier config set` "
                   "sets them for every gateway\n";
        }
    }
};

}  // namespace

std::unique_ptr<Command> make_reload_command() {
    return std::make_unique<ReloadCommand>();
}

}  // namespace rbdtier::cli
