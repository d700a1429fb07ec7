// StoredTenant::decode: a tenant's omap value as read from RADOS. A value of the wrong shape is
// refused, never converted with undefined behaviour or wrapped.
#include "ceph/tenant_store.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace rbdtier::ceph {
namespace {

TEST(TenantRecord, EncodeDecodeRoundTrip) {
    StoredTenant t{"gold", {{"nvme-a", 10ull << 30}}, 4, 2};
    EXPECT_EQ(StoredTenant::decode("gold", t.encode()), t);
    const auto defaults = StoredTenant::decode("d", "{}");
    ASSERT_TRUE(defaults);
    EXPECT_TRUE(defaults->quota_bytes.empty());
    EXPECT_EQ(defaults->bandwidth_weight, 1.0);
}

TEST(TenantRecord, QuotasMustBeWholeNonNegativeBytes) {
    EXPECT_FALSE(StoredTenant::decode("t", R"({"quota_bytes":{"nvme-a":1e300}})"));
    EXPECT_FALSE(StoredTenant::decode("t", R"({"quota_bytes":{"nvme-a":-1}})"));
    EXPECT_FALSE(StoredTenant::decode("t", R"({"quota_bytes":{"nvme-a":"1G"}})"));
    EXPECT_FALSE(StoredTenant::decode("t", R"({"quota_bytes":[1]})"));
    EXPECT_TRUE(StoredTenant::decode("t", R"({"quota_bytes":{"nvme-a":18446744073709551615}})"));
}

TEST(TenantRecord, WeightAndPriorityMustBeNumbers) {
    EXPECT_FALSE(StoredTenant::decode("t", R"({"bandwidth_weight":"4"})"));
    EXPECT_FALSE(StoredTenant::decode("t", R"({"priority":null})"));
    EXPECT_FALSE(StoredTenant::decode("t", "not json"));
    EXPECT_FALSE(StoredTenant::decode("t", "[]"));
}

// bandwidth_weight and priority are in (0, 1e6]: 0 would take a tenant's whole share of the
// bandwidth away (or divide by it), a negative or huge one is nonsense; each is refused with the
// key and the range, as stored and before it is stored.
TEST(TenantRecord, WeightAndPriorityAreInRange) {
    const struct {
        const char* value;
        bool accepted;
    } cases[] = {{"0", false},       {"-1", false},
                 {"1e-300", true},   {"0.5", true},
                 {"1", true},        {"1000000", true},
                 {"1000001", false}, {"1e300", false},
                 {"-1e300", false},  {"1.7976931348623157e308", false}};
    for (const char* key : {"bandwidth_weight", "priority"}) {
        for (const auto& c : cases) {
            SCOPED_TRACE(std::string(key) + " = " + c.value);
            std::string why;
            const auto t =
                StoredTenant::decode("t", std::string("{\"") + key + "\":" + c.value + "}", &why);
            EXPECT_EQ(t.has_value(), c.accepted) << why;
            if (t) continue;
            EXPECT_EQ(why.rfind(std::string(key) + " ", 0), 0u) << why;
            EXPECT_NE(why.find("out of range: must be greater than 0 and at most 1000000"),
                      std::string::npos)
                << why;
        }
    }
    StoredTenant t;
    t.priority = std::numeric_limits<double>::quiet_NaN();
    EXPECT_NE(t.value_problem().find("priority"), std::string::npos);
    t.priority = std::numeric_limits<double>::infinity();
    EXPECT_NE(t.value_problem().find("priority"), std::string::npos);
    t.priority = 2;
    EXPECT_EQ(t.value_problem(), "");
}

}  // namespace
}  // namespace rbdtier::ceph
