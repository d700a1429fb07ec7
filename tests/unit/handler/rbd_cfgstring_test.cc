// Unit tests of handler_rbd's cfgstring form (the handler registered as subtype "rbd"): what
// targetcli user:rbd and ceph-iscsi write is accepted as upstream handler_rbd takes it, and
// everything else is refused with a reason a person can act on.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "handler/lun_config.h"

namespace rbdtier {
namespace {

LunConfig rbd_ok(std::string_view s) {
    LunConfigParse p = parse_rbd_cfgstring(s);
    EXPECT_TRUE(p.config.has_value()) << s << " -> " << p.error;
    return p.config.value_or(LunConfig{});
}

std::string rbd_error(std::string_view s) {
    LunConfigParse p = parse_rbd_cfgstring(s);
    EXPECT_FALSE(p.config.has_value()) << s;
    return p.error;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(RbdCfgstring, PoolAndImageUntiered) {
    const LunConfig c = rbd_ok("iscsi/disk_1");
    EXPECT_EQ(c.pool, "iscsi");
    EXPECT_EQ(c.image, "disk_1");
    EXPECT_TRUE(c.ns.empty());
    EXPECT_TRUE(c.tiers.empty());
    EXPECT_EQ(c.policy, TierPolicy::kNone);
    EXPECT_FALSE(c.osd_op_timeout_s.has_value());
}

// What ceph-iscsi's rbd-target-api writes: rbd/POOL/IMAGE;osd_op_timeout=N[;conf=..][;id=..].
TEST(RbdCfgstring, CephIscsiStringAsOpenSeesIt) {
    LunConfigParse p = parse_rbd_open_cfgstring(
        "rbd/rbd/disk_1;osd_op_timeout=30;conf=/etc/ceph/site.conf;id=iscsi-gw");
    ASSERT_TRUE(p.config.has_value()) << p.error;
    EXPECT_EQ(p.config->pool, "rbd");  // a pool named rbd, after the subtype rbd/
    EXPECT_EQ(p.config->image, "disk_1");
    EXPECT_EQ(p.config->osd_op_timeout_s, 30u);
    EXPECT_EQ(p.config->conf_path, "/etc/ceph/site.conf");
    EXPECT_EQ(p.config->client_id, "iscsi-gw");
}

TEST(RbdCfgstring, OpenNeedsTheSubtypePrefix) {
    LunConfigParse p = parse_rbd_open_cfgstring("pool/image");
    ASSERT_FALSE(p.config.has_value());
    EXPECT_TRUE(contains(p.error, "'rbd/'")) << p.error;
    EXPECT_FALSE(parse_rbd_open_cfgstring("").config.has_value());
    EXPECT_FALSE(parse_rbd_open_cfgstring("rbd/").config.has_value());
}

// check_config gets what the user typed: "rbd/disk" is pool rbd, image disk.
TEST(RbdCfgstring, TypedStringIsNeverStrippedOfAPrefix) {
    const LunConfig c = rbd_ok("rbd/disk");
    EXPECT_EQ(c.pool, "rbd");
    EXPECT_EQ(c.image, "disk");
}

TEST(RbdCfgstring, UpstreamOptionsAndTheirRanges) {
    EXPECT_EQ(rbd_ok("p/i;osd_op_timeout=0").osd_op_timeout_s, 0u);  // librados: no timeout
    EXPECT_EQ(rbd_ok("p/i;osd_op_timeout=86400").osd_op_timeout_s, 86400u);
    EXPECT_EQ(rbd_ok("p/i;id=client.admin").client_id, "admin");
    EXPECT_EQ(rbd_ok("p/i;;osd_op_timeout=5;").osd_op_timeout_s, 5u);
    EXPECT_TRUE(contains(rbd_error("p/i;osd_op_timeout=86401"), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_error("p/i;osd_op_timeout=-1"), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_error("p/i;osd_op_timeout="), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_error("p/i;conf=ceph.conf"), "absolute path"));
    EXPECT_TRUE(contains(rbd_error("p/i;conf="), "no value"));
    EXPECT_TRUE(contains(rbd_error("p/i;id="), "no value"));
    EXPECT_TRUE(contains(rbd_error("p/i;id=a b"), "client id"));
    EXPECT_TRUE(contains(rbd_error("p/i;id=a;id=b"), "given twice"));
}

TEST(RbdCfgstring, TieringOptionsPointToTheImageMetadata) {
    for (const char* key : {"tiers", "policy", "tenant", "tenant_pool", "quota", "horizon"}) {
        const std::string e = rbd_error("p/img;" + std::string(key) + "=x");
        EXPECT_TRUE(contains(e, "tiering option")) << e;
        EXPECT_TRUE(contains(e, "rbd image-meta set p/img rbdtier." + std::string(key))) << e;
    }
}

TEST(RbdCfgstring, UnknownOptionsAreRefusedNotIgnored) {
    const std::string e = rbd_error("p/i;osd_op_timout=30");
    EXPECT_TRUE(contains(e, "unknown option 'osd_op_timout'")) << e;
    EXPECT_TRUE(contains(e, "osd_op_timeout, conf, id")) << e;
    EXPECT_TRUE(contains(rbd_error("p/i;readonly"), "key=value"));
}

TEST(RbdCfgstring, NamesUpstreamCannotOpenAreRefused) {
    EXPECT_TRUE(contains(rbd_error("p/ns/i"), "too many '/'"));
    EXPECT_TRUE(contains(rbd_error("p/i@snap"), "snapshot"));
    EXPECT_TRUE(contains(rbd_error("p"), "names no pool"));
    EXPECT_TRUE(contains(rbd_error("/i"), "pool name is missing"));
    EXPECT_TRUE(contains(rbd_error("p/"), "image name is missing"));
    EXPECT_TRUE(contains(rbd_error(""), "empty"));
    EXPECT_TRUE(contains(rbd_error("p/i x"), "not allowed"));
}

// The rbdtier form is unchanged by the rbd form's existence.
TEST(RbdCfgstring, RbdtierFormStillTakesTieringOptions) {
    LunConfigParse p = parse_lun_config("rbdtier/p/i;tiers=fast;policy=reactive");
    ASSERT_TRUE(p.config.has_value()) << p.error;
    EXPECT_EQ(p.config->tiers, std::vector<std::string>{"fast"});
    EXPECT_FALSE(parse_lun_config("p/i;osd_op_timeout=0").config.has_value());
}

}  // namespace
}  // namespace rbdtier
