// Unit tests of ceph::Status / Result (no cluster needed).
#include "ceph/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace rbdtier::ceph {
namespace {

TEST(Status, OkByDefault) {
    Status s;
    EXPECT_TRUE(s.is_ok());
    EXPECT_EQ(s.code(), 0);
    EXPECT_EQ(s.message(), "OK");
}

TEST(Status, MessageNamesWhatFailedAndWhy) {
    Status s = Status::error(-ENOENT, "open image nvme-a/lun0");
    EXPECT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), -ENOENT);
    EXPECT_EQ(s.message(), "open image nvme-a/lun0: No such file or directory");
    EXPECT_EQ(Status::error(ETIMEDOUT, "x").code(), -ETIMEDOUT);  // positive errno normalized
    EXPECT_EQ(Status::error(0, "x").code(), -EIO);                // "error" with 0 is still one
}

TEST(Status, WithContextPrefixes) {
    Status s = Status::error(-EACCES, "open pool hdd-b").with_context("LUN lun3");
    EXPECT_EQ(s.message(), "LUN lun3: open pool hdd-b: Permission denied");
    EXPECT_TRUE(Status::ok().with_context("x").is_ok());
}

TEST(Status, CheckBuildsContextOnlyOnFailure) {
    int calls = 0;
    auto ctx = [&] {
        ++calls;
        return std::string("resize image p/i");
    };
    EXPECT_TRUE(check(0, ctx).is_ok());
    EXPECT_TRUE(check(5, ctx).is_ok());
    EXPECT_EQ(calls, 0);
    Status s = check(-ENOSPC, ctx);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(s.message(), "resize image p/i: No space left on device");
}

TEST(Result, HoldsValueOrStatus) {
    Result<std::unique_ptr<int>> good(std::make_unique<int>(7));
    ASSERT_TRUE(good.is_ok());
    EXPECT_EQ(**good, 7);
    std::unique_ptr<int> taken = std::move(good).value();
    EXPECT_EQ(*taken, 7);

    Result<int> bad(Status::error(-EEXIST, "create image p/i"));
    EXPECT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().code(), -EEXIST);
    EXPECT_EQ(bad.status().message(), "create image p/i: File exists");
}

}  // namespace
}  // namespace rbdtier::ceph
