// SocketCommand: a verb of the `rbdtier` CLI answered by the running gateway over its admin
// socket (the protocol and its command names: common/admin_protocol.h; what each command
// answers: handler/admin_commands.h).
//
// Every such verb has --socket PATH (default: admin_socket from --config, itself defaulting to
// /etc/ceph/rbdtier.conf) and --format table|json. The subclass adds its own arguments, builds
// the request and renders the result as a table; --format json prints the gateway's reply
// object as it is, errors included, for scripts. Exit codes: 0 success, 1 the gateway refused
// the request or could not be reached (message on stderr), 2 bad usage.
#pragma once

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "common/admin_protocol.h"

namespace rbdtier::cli {

class SocketCommand : public Command {
public:
    int run() override;

protected:
    // Adds --socket, --config and --format to `sub` (call from add_to()).
    void add_common_options(CLI::App* sub);
    // Adds the verb `name` to `app` with those options, and returns it.
    CLI::App* add_verb(CLI::App& app, const std::string& name, const std::string& description);
    // Prints `result`: as it is with --format json, else render()ed.
    void print(const nlohmann::json& result) const;
    // The request for the chosen verb: {"prefix": "<command>", ...arguments}.
    virtual nlohmann::json request() const = 0;
    virtual void render(const nlohmann::json& result, std::ostream& out) const = 0;
    // Sends request() and puts the gateway's result in `result`; on failure reports it (stderr,
    // and stdout in json format) and returns the exit code.
    int exchange(nlohmann::json& result) const;
    // The same with another request (verbs that ask more than once, e.g. to follow progress).
    int exchange(const nlohmann::json& request, nlohmann::json& result) const;
    bool json_format() const { return format_ == "json"; }

private:
    std::string socket_;
    std::string config_ = "/etc/ceph/rbdtier.conf";
    std::string format_ = "table";
};

}  // namespace rbdtier::cli
