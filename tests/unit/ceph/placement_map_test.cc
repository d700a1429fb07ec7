// decode_placement_omap: a placement map object's omap, decoded without a cluster. Every
// corrupted value is a refusal naming the key, never a partial map.
#include "ceph/placement_map.h"

#include <gtest/gtest.h>

namespace rbdtier::ceph {
namespace {

const std::string kLun = "3//10a2b3c4d5e6";
const std::string kHeader = "format=2 lun=3//10a2b3c4d5e6 tiers=nvme-a+nvme-b";

TEST(PlacementOmap, DecodesHeaderEntriesAndIntents) {
    const PlacementOmapDecode d =
        decode_placement_omap({{"header", kHeader},
                               {"00000000000000ff", "pool=nvme-b gen=17 crc=0000abcd"},
                               {"intent.0000000000000007", "copy=nvme-a"}},
                              kLun);
    ASSERT_TRUE(d.map) << d.error;
    EXPECT_EQ(d.map->header.tiers, (std::vector<std::string>{"nvme-a", "nvme-b"}));
    EXPECT_EQ(d.map->header_value, kHeader);
    EXPECT_EQ(d.map->entries.at(0xff), (PlacementEntry{"nvme-b", 17, 0xabcd}));
    EXPECT_EQ(d.map->intents.at(7), "nvme-a");
}

TEST(PlacementOmap, RefusesWhatIsNotAFormat2MapOfThisLun) {
    auto error = [](std::map<std::string, std::string> omap) {
        const PlacementOmapDecode d = decode_placement_omap(omap, kLun);
        EXPECT_FALSE(d.map);
        return d.error;
    };
    EXPECT_EQ(error({}), "no header (not a format 2 placement map)");
    EXPECT_EQ(error({{"header", "format=2"}}), "bad header 'format=2'");
    EXPECT_EQ(error({{"header", "format=1 lun=" + kLun + " tiers="}}),
              "format 1, this gateway reads format 2");
    EXPECT_EQ(error({{"header", "format=2 lun=3//ff tiers=p"}}),
              "it belongs to LUN 3//ff, not " + kLun);
    EXPECT_EQ(error({{"header", kHeader}, {"00000000000000ff", "pool=p gen=x crc=0"}}),
              "bad entry '00000000000000ff' = 'pool=p gen=x crc=0'");
    EXPECT_EQ(error({{"header", kHeader}, {"ff", "pool=p gen=1 crc=0"}}),
              "bad entry 'ff' = 'pool=p gen=1 crc=0'");
    EXPECT_EQ(error({{"header", kHeader}, {"intent.0000000000000001", "copy="}}),
              "bad intent 'intent.0000000000000001' = 'copy='");
}

}  // namespace
}  // namespace rbdtier::ceph
