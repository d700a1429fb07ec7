#include "cli/socket_command.h"

#include "cli/admin_client.h"

namespace rbdtier::cli {

void SocketCommand::add_common_options(CLI::App* sub) {
    sub->add_option("--socket", socket_,
                    "Gateway admin socket (default: admin_socket from --config)");
    sub->add_option("--config", config_, "rbdtier.conf to read the socket path from")
        ->capture_default_str();
    sub->add_option("--format", format_, "Output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
}

CLI::App* SocketCommand::add_verb(CLI::App& app, const std::string& name,
                                  const std::string& description) {
    CLI::App* sub = app.add_subcommand(name, description);
    add_common_options(sub);
    return sub;
}

void SocketCommand::print(const nlohmann::json& result) const {
    if (json_format())
        std::cout << result.dump(2) << '\n';
    else
        render(result, std::cout);
}

int SocketCommand::exchange(nlohmann::json& result) const {
    return exchange(request(), result);
}

int SocketCommand::exchange(const nlohmann::json& request, nlohmann::json& result) const {
    nlohmann::json reply;
    try {
        reply = admin_call(resolve_admin_socket(socket_, config_), request);
    } catch (const AdminClientError& e) {
        if (json_format()) std::cout << nlohmann::json{{"error", e.what()}}.dump(2) << '\n';
        std::cerr << "rbdtier: " << e.what() << '\n';
        return kExitFailure;
    }
    if (reply.contains("error")) {
        if (json_format()) std::cout << reply.dump(2) << '\n';
        std::cerr << "rbdtier: " << reply["error"].get<std::string>() << '\n';
        return kExitFailure;
    }
    result = std::move(reply["result"]);
    return kExitOk;
}

int SocketCommand::run() {
    nlohmann::json result;
    if (int rc = exchange(result); rc != kExitOk) return rc;
    print(result);
    return kExitOk;
}

}  // namespace rbdtier::cli
