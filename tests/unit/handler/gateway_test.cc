// Gateway: what the service map shows for a LUN, in the packed form librados takes (a ServiceDict's
// as ceph::pack_service_dict packs it), written over the caller's look: the same status looked
// at again stays in the look's room.
#include "handler/gateway.h"

#include <gtest/gtest.h>

#include <string>

namespace rbdtier {
namespace {

TEST(GatewayServiceStatus, AnUntieredLunsStatusIsPackedInKeyOrderOverTheBuffer) {
    Gateway gateway({}, "/nonexistent.conf");
    GatewayLun untiered;
    untiered.name = "lun0";
    untiered.tenant = "acme";
    std::string error;
    auto registration = gateway.add_lun(untiered, error);
    ASSERT_TRUE(registration.registered()) << error;
    auto luns = gateway.lock_luns();
    const GatewayLun* registered = gateway.find_lun("lun0");
    ASSERT_NE(registered, nullptr);

    Gateway::ServiceLook look;
    look.packed = "what the last look left";
    gateway.service_status(*registered, "site-b", look);
    EXPECT_EQ(look.packed, ceph::pack_service_dict({{"bytes_moved", "0"},
                                                    {"engine", "none"},
                                                    {"extents_away", "0"},
                                                    {"health", "HEALTH_OK"},
                                                    {"lock_lost_cnt", "0"},
                                                    {"lock_owner", "false"},
                                                    {"migrations", "0"},
                                                    {"migrations_failed", "0"},
                                                    {"policy", "none"},
                                                    {"site", "site-b"},
                                                    {"tenant", "acme"}}));

    const char* const room = look.packed.data();
    const LunHealthFacts* const facts_room = look.health.luns.data();
    gateway.service_status(*registered, "site-b", look);
    EXPECT_EQ(look.packed.data(), room) << "an unchanged status is written over the same room";
    EXPECT_EQ(look.health.luns.data(), facts_room) << "and its health facts over theirs";
}

}  // namespace
}  // namespace rbdtier
