// Completion: created, moved, detached and adopted, released once (no cluster needed).
#include "ceph/completion.h"

#include <gtest/gtest.h>

#include <utility>

namespace rbdtier::ceph {
namespace {

TEST(Completion, CreatedMovedDetachedAdopted) {
    auto made = Completion::create(nullptr, nullptr);
    ASSERT_TRUE(made.is_ok()) << made.status().message();
    Completion a = std::move(made).value();
    ASSERT_NE(a.handle(), nullptr);
    EXPECT_FALSE(a.is_complete());

    Completion b = std::move(a);
    EXPECT_EQ(a.handle(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
    rbd_completion_t raw = b.detach();
    EXPECT_EQ(b.handle(), nullptr);
    ASSERT_NE(raw, nullptr);
    Completion back = Completion::adopt(raw);  // released once, by `back`
    EXPECT_EQ(back.handle(), raw);

    auto other = Completion::create(nullptr, nullptr);
    ASSERT_TRUE(other.is_ok());
    back = std::move(other).value();  // releases `raw`, takes the new one
    EXPECT_NE(back.handle(), nullptr);
}

}  // namespace
}  // namespace rbdtier::ceph
