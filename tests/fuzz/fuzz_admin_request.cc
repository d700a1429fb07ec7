// Fuzz target: the admin socket's requests. The input is what clients write: requests ended by
// a NUL or a newline, each answered as a session answers it (answer_admin_request: JSON, then
// AdminCommands on a gateway with one LUN that is not tiered). Every reply is a body: the
// result as JSON, or Ceph's "ERROR: (errno) ..." text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
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
        const std::size_t end = input.find_first_of(std::string_view("\0\n", 2));
        const std::string_view request = input.substr(0, end);
        input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
        const std::string body = rbdtier::answer_admin_request(request, fixture->handler);
        if (body.empty()) std::abort();
    }
    // A pause request in the input must not outlive it.
    fixture->gateway.set_paused(false);
    return 0;
}
