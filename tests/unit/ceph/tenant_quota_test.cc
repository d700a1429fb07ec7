// AllocationCache: a recent measurement is reused, errors are not kept, old entries leave.
#include "ceph/tenant_quota.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace rbdtier::ceph {
namespace {

TEST(AllocationCache, ARecentMeasurementIsReusedPerClusterPoolAndImage) {
    AllocationCache cache(std::chrono::minutes(1));
    int measured = 0;
    const auto measure = [&]() -> Result<std::uint64_t> {
        ++measured;
        return std::uint64_t{4096} * measured;
    };
    EXPECT_EQ(cache.allocated("c1", "nvme-a", "img", measure).value(), 4096u);
    EXPECT_EQ(cache.allocated("c1", "nvme-a", "img", measure).value(), 4096u);
    EXPECT_EQ(measured, 1);
    EXPECT_TRUE(cache.allocated("c1", "nvme-b", "img", measure));
    EXPECT_TRUE(cache.allocated("c2", "nvme-a", "img", measure));
    EXPECT_TRUE(cache.allocated("c1", "nvme-a", "other", measure));
    EXPECT_EQ(measured, 4);
    EXPECT_EQ(cache.size(), 4u);
}

TEST(AllocationCache, ErrorsAreNotKept) {
    AllocationCache cache(std::chrono::minutes(1));
    int measured = 0;
    const auto fail = [&]() -> Result<std::uint64_t> {
        ++measured;
        return Status::error(-ENOENT, "open nvme-a/img");
    };
    EXPECT_EQ(cache.allocated("c", "nvme-a", "img", fail).status().code(), -ENOENT);
    EXPECT_EQ(cache.allocated("c", "nvme-a", "img", fail).status().code(), -ENOENT);
    EXPECT_EQ(measured, 2);
    EXPECT_EQ(cache.size(), 0u);
}

TEST(AllocationCache, ExpiredEntriesLeaveWhenAMeasurementIsStored) {
    AllocationCache cache(std::chrono::steady_clock::duration::zero());  // nothing stays young
    int measured = 0;
    const auto measure = [&]() -> Result<std::uint64_t> {
        ++measured;
        return std::uint64_t{1};
    };
    for (int i = 0; i < 100; ++i)
        EXPECT_TRUE(cache.allocated("c", "nvme-a", "img-" + std::to_string(i), measure));
    EXPECT_EQ(measured, 100);
    EXPECT_EQ(cache.size(), 1u) << "removed images' entries must not pile up";
}

}  // namespace
}  // namespace rbdtier::ceph
