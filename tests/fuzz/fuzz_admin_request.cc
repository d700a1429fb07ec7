// Fuzz target: the admin socket's requests. The input is what clients write: requests ended by
// a NUL or a newline, each answered as a session answers it (answer_admin_request: JSON, then
// AdminCommands on a gateway with one LUN that is not tiered). Every reply is a body: the
// result as JSON, or Ceph's "ERROR: (errno) ..." text.
//
// The commands of tiered LUNs (pin, unpin, heat) need a LUN's Ceph objects to run whole; what
// they read from a request before touching the LUN (admin_range.h: the range, the tier, heat's
// window) is checked here as they check it, against fake tiered LUN shapes: extent sizes and
// counts from an empty LUN to the largest a 64-bit byte size allows, and a list of tier pools.
// A parse that says yes must give a window or range inside the LUN and a tier of its list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "admin_input.h"
#include "handler/admin_commands.h"
#include "handler/admin_range.h"
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

// A tiered LUN as its commands see it before touching it: extent size, extent count, tiers.
struct TieredShape {
    std::uint64_t extent_bytes;
    std::uint64_t extents;
};
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
constexpr TieredShape kShapes[] = {
    {4 << 20, 0},                     // empty
    {4 << 20, 1},                     // one extent
    {4 << 20, 48},                    // the integration tests' LUN
    {1, kMax},                        // 1-byte extents, the largest count
    {4 << 20, kMax / (4 << 20) + 1},  // a 16 EiB LUN
    {1ull << 32, 3},
};
const std::vector<std::string> kTiers = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};

// pin/unpin/heat's arguments, checked against every shape as the commands check them.
void check_tiered_arguments(const nlohmann::json& request) {
    auto prefix = request.find("prefix");
    if (prefix == request.end() || !prefix->is_string()) return;
    const std::string name = prefix->get<std::string>();
    for (const TieredShape& shape : kShapes) {
        if (name == "heat") {
            constexpr std::uint64_t cap = rbdtier::AdminCommands::kMaxHeatExtents;
            const auto w = rbdtier::parse_heat_window(request, shape.extents, cap);
            if (w.window.has_value() == !w.error.empty()) std::abort();
            if (w.window && (w.window->count > cap || w.window->first > shape.extents ||
                             w.window->count > shape.extents - w.window->first))
                std::abort();
        } else if (name == "pin" || name == "unpin") {
            const auto r =
                rbdtier::parse_range_argument(request, shape.extent_bytes, shape.extents);
            if (r.range.has_value() == !r.error.empty()) std::abort();
            if (r.range && (r.range->count == 0 || r.range->first >= shape.extents ||
                            r.range->count > shape.extents - r.range->first))
                std::abort();
            if (name == "pin") {
                const auto t = rbdtier::parse_tier_argument(request, kTiers, "lun0");
                if (t.index.has_value() == !t.error.empty()) std::abort();
                if (t.index && (*t.index >= kTiers.size() || kTiers[*t.index] != t.tier))
                    std::abort();
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture* fixture = new Fixture;  // one gateway for the whole run, as in a daemon
    answer_admin_input(data, size, fixture->handler, [](std::string_view request) {
        const nlohmann::json parsed = nlohmann::json::parse(request, nullptr, false);
        if (parsed.is_object()) check_tiered_arguments(parsed);
    });
    // A pause request in the input must not outlive it.
    fixture->gateway.set_paused(false);
    return 0;
}
