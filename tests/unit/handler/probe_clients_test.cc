// ProbeClients: a connect that failed is not kept (the next check connects again), only errors
// of the client itself make check_config drop a kept client, and every wait of a probe is bounded.
#include "handler/probe_clients.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>

namespace rbdtier {
namespace {

TEST(ProbeClients, AFailedConnectIsNotKept) {
    ProbeClients clients;
    ceph::ClusterOptions options;
    options.conf_path = "/nonexistent/rbdtier-probe-test/ceph.conf";
    for (int i = 0; i < 2; ++i) {
        auto client = clients.get(options);
        EXPECT_FALSE(client);
        EXPECT_EQ(clients.size(), 0u);
    }
}

TEST(ProbeClients, OnlyTheClientsOwnFailuresDropIt) {
    EXPECT_TRUE(ProbeClients::client_failed(-ESHUTDOWN));
    EXPECT_TRUE(ProbeClients::client_failed(-ENOTCONN));
    EXPECT_TRUE(ProbeClients::client_failed(-ETIMEDOUT));
    // What the cfgstring names being wrong is the answer, not a broken client.
    EXPECT_FALSE(ProbeClients::client_failed(-ENOENT));
    EXPECT_FALSE(ProbeClients::client_failed(-EINVAL));
    EXPECT_FALSE(ProbeClients::client_failed(0));
}

// The cfgstring's osd_op_timeout bounds a probe request; none, or 0 (handler_rbd's "no
// timeout"), gives the default: a check never waits without bound on a pool.
TEST(ProbeClients, OptionsBoundEveryWait) {
    auto conf_of = [](const ceph::ClusterOptions& o) {
        std::map<std::string, std::string> conf(o.conf.begin(), o.conf.end());
        EXPECT_EQ(conf.size(), o.conf.size()) << "an option given twice";
        return conf;
    };
    auto rbd = parse_rbd_cfgstring("rbd/lun;osd_op_timeout=0;id=iscsi;conf=/etc/ceph/x.conf");
    ASSERT_TRUE(rbd.config) << rbd.error;
    const ceph::ClusterOptions none = ProbeClients::options_for(*rbd.config);
    EXPECT_EQ(none.id, "iscsi");
    EXPECT_EQ(none.conf_path, "/etc/ceph/x.conf");
    EXPECT_EQ(conf_of(none), (std::map<std::string, std::string>{{"client_mount_timeout", "15"},
                                                                 {"rados_osd_op_timeout", "10"}}));
    EXPECT_EQ(ProbeClients::op_timeout_s(*rbd.config), 10u);

    auto unset = parse_lun_config("hdd-a/lun");
    ASSERT_TRUE(unset.config) << unset.error;
    EXPECT_EQ(conf_of(ProbeClients::options_for(*unset.config))["rados_osd_op_timeout"], "10");

    auto given = parse_lun_config("hdd-a/lun;osd_op_timeout=42");
    ASSERT_TRUE(given.config) << given.error;
    EXPECT_EQ(conf_of(ProbeClients::options_for(*given.config))["rados_osd_op_timeout"], "42");
    EXPECT_EQ(ProbeClients::op_timeout_s(*given.config), 42u);
}

}  // namespace
}  // namespace rbdtier
