// Fuzz target: the admin socket's requests. The input is what a client writes: lines, each
// answered as a session answers it (answer_admin_request: JSON framing, then AdminCommands on a
// gateway with one LUN that is not tiered), and the reply serialised as the session sends it.
// Every reply must be a JSON object carrying the protocol version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "handler/admin_commands.h"
#include "handler/admin_socket.h"
#include "handler/gateway.h"

namespace {

struct Fixture {
    rbdtier::Gateway gateway{rbdtier::GatewayConfig{}, "/nonexistent/rbdtier.conf"};
    rbdtier::AdminCommands commands{gateway};
    rbdtier::AdminSocket::Handler handler = [this](const nlohmann::json& request) {
        return commands.handle(request);
    };
    rbdtier::Gateway::Registration lun0;

    Fixture() {
        rbdtier::GatewayLun lun;
        lun.name = "lun0";
        lun.pool = "hdd-a";
        lun.image = "img0";
        lun.size_bytes = 1 << 30;
        std::string error;
        lun0 = gateway.add_lun(lun, error);
        if (!lun0.registered()) std::abort();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture* fixture = new Fixture;  // one gateway for the whole run, as in a daemon
    std::string_view input(reinterpret_cast<const char*>(data), size);
    while (!input.empty()) {
        const std::size_t newline = input.find('\n');
        const std::string_view line = input.substr(0, newline);
        input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
        const nlohmann::json reply = rbdtier::answer_admin_request(line, fixture->handler);
        if (!reply.is_object() || reply.value("version", 0) != 1) std::abort();
        (void)reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    // A pause request in the input must not outlive it.
    fixture->gateway.set_paused(false);
    return 0;
}
