// Unit tests of the cfgstring parsers: accepted strings and the exact reasons for refusals.
// handler_rbd's form (the handler registered as subtype "rbd"): what targetcli user:rbd and
// ceph-iscsi write is accepted as upstream handler_rbd takes it, and everything else is refused
// with a reason a person can act on.
#include "handler/lun_config.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rbdtier {
namespace {

using Parser = LunConfigParse (*)(std::string_view);

// What `parse` makes of `s`, which it must accept.
LunConfig parse_ok(std::string_view s, Parser parse = parse_lun_config) {
    LunConfigParse p = parse(s);
    EXPECT_TRUE(p.config.has_value()) << s << " -> " << p.error;
    EXPECT_TRUE(p.error.empty());
    return p.config.value_or(LunConfig{});
}

// Why `parse` refuses `s`, which it must refuse.
std::string parse_error(std::string_view s, Parser parse = parse_lun_config) {
    LunConfigParse p = parse(s);
    EXPECT_FALSE(p.config.has_value()) << s;
    return p.error;
}

LunConfig rbd_parse_ok(std::string_view s) {
    return parse_ok(s, parse_rbd_cfgstring);
}

std::string rbd_parse_error(std::string_view s) {
    return parse_error(s, parse_rbd_cfgstring);
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(LunConfig, PoolAndImage) {
    LunConfig c = parse_ok("nvme-a/lun0");
    EXPECT_EQ(c.pool, "nvme-a");
    EXPECT_EQ(c.image, "lun0");
    EXPECT_EQ(c.spec(), "nvme-a/lun0");
    EXPECT_FALSE(c.osd_op_timeout_s.has_value());
    EXPECT_TRUE(c.conf_path.empty());
    EXPECT_TRUE(c.client_id.empty());
    EXPECT_TRUE(c.tiers.empty());
    EXPECT_EQ(c.policy, TierPolicy::kNone);
}

TEST(LunConfig, SubtypePrefixAsOpenSeesIt) {
    LunConfig c = parse_ok("rbdtier/hdd-b/img.1;osd_op_timeout=5");
    EXPECT_EQ(c.pool, "hdd-b");
    EXPECT_EQ(c.image, "img.1");
    EXPECT_EQ(c.osd_op_timeout_s, 5u);
}

TEST(LunConfig, AllOptions) {
    LunConfig c = parse_ok(
        "rbdtier/hdd-a/lun7;osd_op_timeout=30;conf=/etc/ceph/site.conf;id=client.iscsi;"
        "tenant=acme;tenant_pool=meta;tiers=nvme-a,hdd-a,nvme-b;policy=predictive;");
    EXPECT_EQ(c.osd_op_timeout_s, 30u);
    EXPECT_EQ(c.tenant_pool, "meta");
    EXPECT_EQ(c.conf_path, "/etc/ceph/site.conf");
    EXPECT_EQ(c.client_id, "iscsi");
    EXPECT_EQ(c.tenant, "acme");
    ASSERT_EQ(c.tiers.size(), 3u);
    EXPECT_EQ(c.tiers[0], "nvme-a");
    EXPECT_EQ(c.tiers[2], "nvme-b");
    EXPECT_EQ(c.policy, TierPolicy::kPredictive);
    EXPECT_EQ(to_string(c.policy), "predictive");
}

TEST(LunConfig, PoolNamedLikeTheSubtype) {
    LunConfig c = parse_ok("rbdtier/rbdtier/img");
    EXPECT_EQ(c.pool, "rbdtier");
    EXPECT_EQ(c.image, "img");
}

TEST(LunConfig, PolicyValues) {
    EXPECT_EQ(parse_ok("p/i;policy=reactive").policy, TierPolicy::kReactive);
    EXPECT_EQ(parse_ok("p/i;policy=none").policy, TierPolicy::kNone);
    EXPECT_EQ(parse_ok("p/i;id=admin").client_id, "admin");
}

TEST(LunConfig, RefusesMissingParts) {
    EXPECT_EQ(parse_error(""), "config string is empty: expected pool/image");
    EXPECT_EQ(parse_error("lun0"), "'lun0' names no pool: expected pool/image");
    EXPECT_EQ(parse_error("/lun0"), "pool name is missing: expected pool/image");
    EXPECT_EQ(parse_error("nvme-a/"), "image name is missing: expected pool/image");
    EXPECT_EQ(parse_error("rbdtier/nvme-a/"), "image name is missing: expected pool/image");
    EXPECT_EQ(parse_error("rbdtier/nvme-a"), "'nvme-a' names no pool: expected pool/image");
    EXPECT_EQ(parse_error("rbdtier/a/b/c/d"),
              "'a/b/c/d' has too many '/': expected pool/image or pool/namespace/image");
    EXPECT_EQ(parse_error("a//c"), "namespace is missing: expected pool/namespace/image");
    EXPECT_EQ(parse_error("a/b/"), "image name is missing: expected pool/image");
}

TEST(LunConfig, ReadsRbdNamespace) {
    const LunConfig ns = parse_ok("rbdtier/hdd-a/tenant1/db");
    EXPECT_EQ(ns.pool, "hdd-a");
    EXPECT_EQ(ns.ns, "tenant1");
    EXPECT_EQ(ns.image, "db");
    EXPECT_EQ(ns.spec(), "hdd-a/tenant1/db");
    const LunConfig plain = parse_ok("hdd-a/db");
    EXPECT_EQ(plain.ns, "");
    EXPECT_EQ(plain.spec(), "hdd-a/db");
}

TEST(LunConfig, RefusesSnapshot) {
    EXPECT_EQ(parse_error("p/img@snap1"),
              "snapshot 'snap1' of image 'img' given, but rbdtier LUNs are writable and cannot be "
              "backed by a snapshot: clone it (rbd clone) and use the clone");
    EXPECT_EQ(parse_error("p/img@"), "'@' after the image name must be followed by a snapshot");
}

TEST(LunConfig, RefusesBadOptions) {
    EXPECT_EQ(parse_error("p/i;foo=1"),
              "unknown option 'foo' (known: osd_op_timeout, conf, id, tenant, tenant_pool, tiers, "
              "policy, quota, horizon)");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout"),
              "option 'osd_op_timeout' is not of the form key=value");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout=abc"),
              "osd_op_timeout='abc' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout=0"),
              "osd_op_timeout='0' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout=5s"),
              "osd_op_timeout='5s' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout=99999999999"),
              "osd_op_timeout='99999999999' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(parse_error("p/i;osd_op_timeout="),
              "osd_op_timeout='' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(parse_error("p/i;conf="), "option conf= has no value");
    EXPECT_EQ(parse_error("p/i;conf=ceph.conf"),
              "conf=ceph.conf must be an absolute path to a ceph.conf");
    EXPECT_EQ(parse_error("p/i;id=a b"),
              "id='a b' is not a ceph client id (letters, digits, _ - . only, e.g. id=iscsi)");
    EXPECT_EQ(parse_error("p/i;id=client."),
              "id='client.' is not a ceph client id (letters, digits, _ - . only, e.g. id=iscsi)");
    EXPECT_EQ(parse_error("p/i;policy=aggressive"),
              "policy='aggressive' is unknown (use none, reactive or predictive)");
    EXPECT_EQ(parse_error("p/i;tenant_pool=a/b"),
              "tenant_pool= 'a/b' contains a character not allowed in a pool name "
              "(space / @ ; , = + :)");
    EXPECT_EQ(parse_error("p/i;tenant=a/b"),
              "tenant='a/b' may only contain letters, digits, _ - and .");
    EXPECT_EQ(parse_error("p/i;tiers=a,,b"), "a pool in tiers= is empty (write tiers=poolA+poolB)");
    EXPECT_EQ(parse_error("p/i;tiers=a,b,a"), "tiers= lists pool 'a' twice");
    EXPECT_EQ(parse_error("p/i;id=x;id=y"), "option id= is given twice");
}

TEST(LunConfig, RefusesBadNames) {
    EXPECT_EQ(parse_error("my pool/i"),
              "pool name 'my pool' contains a character not allowed in a pool name "
              "(space / @ ; , = + :)");
    EXPECT_EQ(parse_error("p/i mage"),
              "image name 'i mage' contains a character not allowed "
              "(space , =)");
}

TEST(LunConfig, HelpMentionsEveryKey) {
    std::string help = kLunConfigHelp;
    for (const char* key :
         {"osd_op_timeout=", "conf=", "id=", "tenant=", "tenant_pool=", "tiers=", "policy="}) {
        EXPECT_NE(help.find(key), std::string::npos) << key;
    }
}

// Every number of the cfgstring at and around the ends of its range, and values no range holds:
// inside it the string parses, outside it the refusal names the key and the range.
TEST(LunConfig, EveryNumberIsBoundedAndTheRefusalNamesTheKeyAndTheRange) {
    const struct {
        const char* prefix;                                // the cfgstring up to the value
        const char* range;                                 // as the refusal gives it
        std::vector<std::pair<std::string, bool>> values;  // value, accepted
    } keys[] = {
        {"p/i;osd_op_timeout=",
         "osd_op_timeout='%' is not a whole number of seconds between 1 and 86400",
         {{"0", false},
          {"1", true},
          {"86400", true},
          {"86401", false},
          {"-1", false},
          {"99999999999999999999999", false},
          {"nan", false}}},
        {"p/i;horizon=",
         "horizon='%' is not a whole number of seconds from 1 to 86400",
         {{"0", false},
          {"1", true},
          {"86400", true},
          {"86401", false},
          {"-1", false},
          {"99999999999999999999999", false},
          {"inf", false}}},
        {"p/i;tiers=x;quota=x=",
         "quota size '%' for x is not a size from 1 byte to 4194304T",
         {{"0", false},
          {"1", true},
          {"4194304T", true},
          {"4194305T", false},
          {"4096G", true},
          {"4294967296G", true},
          {"4294967297G", false},
          {"4611686018427387904", true},
          {"4611686018427387905", false},
          {"18446744073709551615", false},
          {"16777216T", false},
          {"-1", false},
          {"99999999999999999999999", false}}},
    };
    for (const auto& k : keys) {
        for (const auto& [value, accepted] : k.values) {
            const std::string cfg = k.prefix + value;
            SCOPED_TRACE(cfg);
            const LunConfigParse p = parse_lun_config(cfg);
            EXPECT_EQ(p.config.has_value(), accepted) << p.error;
            if (accepted) continue;
            std::string expected = k.range;
            expected.replace(expected.find('%'), 1, value);
            EXPECT_EQ(p.error.rfind(expected, 0), 0u) << p.error;
        }
    }
}

TEST(LunConfigQuota, TargetcliFriendlySeparators) {
    // targetcli refuses ':' and the kernel splits the cfgstring at ',': '+' and '=' work.
    LunConfig c = parse_ok("hdd-a/lun;tiers=hdd-a+nvme-a+nvme-b;quota=nvme-a=64M+nvme-b=2G");
    EXPECT_EQ(c.tiers, (std::vector<std::string>{"hdd-a", "nvme-a", "nvme-b"}));
    EXPECT_EQ(c.quota.at("nvme-a"), 64ull << 20);
    EXPECT_EQ(c.quota.at("nvme-b"), 2ull << 30);
}

TEST(LunConfigQuota, SizesPerTier) {
    LunConfig c = parse_ok("hdd-a/lun;tiers=hdd-a,nvme-a,nvme-b;quota=nvme-a:64M,nvme-b:2G");
    EXPECT_EQ(c.quota.at("nvme-a"), 64ull << 20);
    EXPECT_EQ(c.quota.at("nvme-b"), 2ull << 30);
    EXPECT_EQ(parse_ok("p/i;tiers=x;quota=x:4096").quota.at("x"), 4096u);
}

TEST(LunConfigHorizon, SecondsInRange) {
    EXPECT_EQ(parse_ok("p/i").horizon_s, std::nullopt) << "rbdtier.conf decides";
    EXPECT_EQ(parse_ok("p/i;horizon=6").horizon_s, 6u);
    EXPECT_EQ(parse_error("p/i;horizon=0"),
              "horizon='0' is not a whole number of seconds from 1 to 86400 (e.g. horizon=120)");
    EXPECT_EQ(parse_error("p/i;horizon=2m"),
              "horizon='2m' is not a whole number of seconds from 1 to 86400 (e.g. horizon=120)");
}

TEST(LunConfigQuota, RefusesWithAReason) {
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=x"),
              "quota entry 'x' is not POOL=SIZE (write quota=nvme-a=64M+nvme-b=1G)");
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=x:12Q"),
              "quota size '12Q' for x is not a size from 1 byte to 4194304T (write "
              "quota=nvme-a=64M+nvme-b=1G)");
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=x:0"),
              "quota size '0' for x is not a size from 1 byte to 4194304T (write "
              "quota=nvme-a=64M+nvme-b=1G)");
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=x:99999999999T"),
              "quota size '99999999999T' for x is not a size from 1 byte to 4194304T (write "
              "quota=nvme-a=64M+nvme-b=1G)");
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=y:1G"),
              "quota= names pool 'y', which is not in tiers=");
    EXPECT_EQ(parse_error("p/i;tiers=x;quota=x:1G,x:2G"), "quota= gives pool 'x' twice");
}

TEST(RbdCfgstring, PoolAndImageUntiered) {
    const LunConfig c = rbd_parse_ok("iscsi/disk_1");
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
    const LunConfig c = rbd_parse_ok("rbd/disk");
    EXPECT_EQ(c.pool, "rbd");
    EXPECT_EQ(c.image, "disk");
}

TEST(RbdCfgstring, UpstreamOptionsAndTheirRanges) {
    EXPECT_EQ(rbd_parse_ok("p/i;osd_op_timeout=0").osd_op_timeout_s, 0u);  // librados: no timeout
    EXPECT_EQ(rbd_parse_ok("p/i;osd_op_timeout=86400").osd_op_timeout_s, 86400u);
    EXPECT_EQ(rbd_parse_ok("p/i;id=client.admin").client_id, "admin");
    EXPECT_EQ(rbd_parse_ok("p/i;;osd_op_timeout=5;").osd_op_timeout_s, 5u);
    EXPECT_TRUE(contains(rbd_parse_error("p/i;osd_op_timeout=86401"), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;osd_op_timeout=-1"), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;osd_op_timeout="), "between 0 and 86400"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;conf=ceph.conf"), "absolute path"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;conf="), "no value"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;id="), "no value"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;id=a b"), "client id"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i;id=a;id=b"), "given twice"));
}

TEST(RbdCfgstring, TieringOptionsPointToTheImageMetadata) {
    for (const char* key : {"tiers", "policy", "tenant", "tenant_pool", "quota", "horizon"}) {
        const std::string e = rbd_parse_error("p/img;" + std::string(key) + "=x");
        EXPECT_TRUE(contains(e, "tiering option")) << e;
        EXPECT_TRUE(contains(e, "rbd image-meta set p/img rbdtier." + std::string(key))) << e;
    }
}

TEST(RbdCfgstring, UnknownOptionsAreRefusedNotIgnored) {
    const std::string e = rbd_parse_error("p/i;osd_op_timout=30");
    EXPECT_TRUE(contains(e, "unknown option 'osd_op_timout'")) << e;
    EXPECT_TRUE(contains(e, "osd_op_timeout, conf, id")) << e;
    EXPECT_TRUE(contains(rbd_parse_error("p/i;readonly"), "key=value"));
}

TEST(RbdCfgstring, NamesUpstreamCannotOpenAreRefused) {
    EXPECT_TRUE(contains(rbd_parse_error("p/ns/i"), "too many '/'"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i@snap"), "snapshot"));
    EXPECT_TRUE(contains(rbd_parse_error("p"), "names no pool"));
    EXPECT_TRUE(contains(rbd_parse_error("/i"), "pool name is missing"));
    EXPECT_TRUE(contains(rbd_parse_error("p/"), "image name is missing"));
    EXPECT_TRUE(contains(rbd_parse_error(""), "empty"));
    EXPECT_TRUE(contains(rbd_parse_error("p/i x"), "not allowed"));
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
