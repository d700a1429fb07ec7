// Cluster::connect refuses an unreadable config or an unknown option, naming it (no cluster
// needed).
#include "ceph/cluster.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace rbdtier::ceph {
namespace {

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
