// Unit tests of the RAII wrappers that need no running cluster.
#include <gtest/gtest.h>

#include <cerrno>
#include <utility>

#include "ceph/cluster.h"
#include "ceph/completion.h"

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

TEST(Cluster, UnreadableConfigIsNamed) {
    ClusterOptions options;
    options.conf_path = "/nonexistent/ceph.conf";
    auto cluster = Cluster::connect(options);
    ASSERT_FALSE(cluster.is_ok());
    EXPECT_EQ(cluster.status().code(), -ENOENT);
    EXPECT_EQ(cluster.status().message(),
              "read ceph config /nonexistent/ceph.conf: No such file or directory");
}

TEST(Cluster, UnknownOptionIsNamed) {
    ClusterOptions options;
    options.conf_path = "/dev/null";  // an empty, readable config
    options.conf.emplace_back("no_such_ceph_option", "1");
    auto cluster = Cluster::connect(options);
    ASSERT_FALSE(cluster.is_ok());
    EXPECT_EQ(cluster.status().context(), "set ceph option no_such_ceph_option=1");
}

}  // namespace
}  // namespace rbdtier::ceph
