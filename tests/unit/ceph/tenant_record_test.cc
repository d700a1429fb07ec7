// StoredTenant::decode: a tenant's omap value as read from RADOS. A value of the wrong shape is
// refused, never converted with undefined behaviour or wrapped.
#include <gtest/gtest.h>

#include "ceph/tenant_store.h"

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

}  // namespace
}  // namespace rbdtier::ceph
