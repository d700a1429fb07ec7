// Fuzz target: the admin socket's requests against a gateway that serves a tiered LUN of the
// real local cluster ($RBDTIER_CEPH_CONF; started with tests/cluster/cluster.sh), beside a LUN
// that is not tiered. The input is what clients write: requests ended by a NUL or a newline, each
// answered as a session answers it (answer_admin_request, then AdminCommands). Unlike
// fuzz_admin_request, whose gateway holds no tiered LUN, the tiered commands run whole here: pin,
// unpin, lun evacuate (the home pin, in the home image's metadata), lun show, map, heat,
// migrations, scrub and scrub status of "tiered0" parse their arguments and read the LUN's
// LunTiering, placement map and tier images, and every reply is a body.
//
// The LUN (8 extents of 4 MiB over hdd-a, nvme-a, nvme-b, hdd-b) is made once per run and removed
// at exit. Its tiering runs no rounds (no migration starts); after each input the pins, the home
// pin (in RADOS too) and the pause are undone, so one input's state does not reach the next.
// Without $RBDTIER_CEPH_CONF the target exits at once with status 1 and a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "admin_input.h"
#include "ceph/extent_pins.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/lun_tiering.h"
#include "engine/policy/policy_registry.h"
#include "handler/admin_commands.h"
#include "handler/admin_socket.h"
#include "handler/gateway.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace {

constexpr std::uint64_t kExtent = 4 << 20;
constexpr std::uint64_t kExtents = 8;

struct Fixture {
    std::string image = rbdtier::test::unique_name("fuzz-admin");
    std::unique_ptr<rbdtier::test::TieredStorage> lun;
    std::unique_ptr<rbdtier::ceph::LunTiering> tiering;
    rbdtier::Gateway gateway{rbdtier::GatewayConfig{}, "/nonexistent/rbdtier.conf"};
    rbdtier::AdminCommands commands{gateway};
    rbdtier::AdminSocket::Handler handler = [this](const nlohmann::json& request) {
        return commands.handle(request);
    };
    rbdtier::Gateway::Registration plain;
    rbdtier::Gateway::Registration tiered;

    Fixture() {
        lun = rbdtier::test::TieredStorage::create("hdd-a", image, kExtents * kExtent);
        const rbdtier::StorageModel rc = rbdtier::test::live_tier_config(/*nvme_a_extents=*/3);
        rbdtier::LunRoundsOptions options;
        options.round_us = rc.round_us;
        tiering = std::make_unique<rbdtier::ceph::LunTiering>(
            lun->images(), lun->gate(), lun->migrator(), rbdtier::test::tier_specs(rc),
            rbdtier::builtin_policy_registry().create("reactive", {rc, {}}), options);

        std::string error;
        rbdtier::GatewayLun p;
        p.name = "lun0";
        p.pool = "hdd-a";
        p.image = "img0";
        p.size_bytes = 1 << 30;
        plain = gateway.add_lun(p, error);
        rbdtier::GatewayLun t;
        t.name = "tiered0";
        t.pool = "hdd-a";
        t.image = image;
        t.size_bytes = kExtents * kExtent;
        t.home_image = lun->images().opened(0);
        t.cluster = &lun->cluster();
        t.images = &lun->images();
        t.map = &lun->map();
        t.migrator = &lun->migrator();
        t.tiering = tiering.get();
        tiered = gateway.add_lun(t, error);
        if (!plain.registered() || !tiered.registered()) {
            std::fprintf(stderr, "fuzz_admin_tiered: cannot register the LUNs: %s\n",
                         error.c_str());
            std::abort();
        }
    }

    // Undoes what one input may have changed: pins, the home pin, the pause.
    void reset() {
        gateway.set_paused(false);
        if (tiering->home_pinned()) {
            (void)rbdtier::ceph::set_home_pinned(*lun->images().opened(0), false);
            tiering->set_home_pinned(false);
        }
        (void)rbdtier::ceph::write_extent_pins(*lun->images().opened(0), {});
        tiering->unpin(0, kExtents);
    }
};

Fixture* fixture = nullptr;

}  // namespace

// LeakSanitizer: librbd 16.2 (uninstrumented, Debian's) leaves objects of its own unreachable
// after setting image metadata (the home pin); its allocations are not ours to free. Leaks in
// this program's own code are still reported.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:librbd.so\nleak:librados.so\n";
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (std::getenv("RBDTIER_CEPH_CONF") == nullptr) {
        std::fprintf(stderr,
                     "fuzz_admin_tiered: RBDTIER_CEPH_CONF is not set: start the local cluster "
                     "(tests/cluster/cluster.sh start DIR; eval \"$(cluster.sh env DIR)\")\n");
        std::exit(1);
    }
    fixture = new Fixture;  // one gateway for the whole run, as in a daemon
    std::atexit([] {
        // The LUN's images and map are removed; the gateway is left to the process's end. On a
        // thread of its own: exit() has already destroyed this thread's thread_locals, which
        // Ceph's libraries use.
        std::thread([] {
            fixture->tiered.reset();
            fixture->tiering.reset();
            fixture->lun.reset();
        }).join();
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    answer_admin_input(data, size, fixture->handler, [](std::string_view) {});
    fixture->reset();
    return 0;
}
