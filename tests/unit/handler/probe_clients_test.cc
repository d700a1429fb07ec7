// ProbeClients: a connect that failed is not kept (the next check connects again), and only
// errors of the client itself make check_config drop a kept client.
#include "handler/probe_clients.h"

#include <gtest/gtest.h>

#include <cerrno>

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

// kept() hands out only a client already connected: it never connects, even after a failed try.
TEST(ProbeClients, KeptNeverConnects) {
    ProbeClients clients;
    ceph::ClusterOptions options;
    options.conf_path = "/nonexistent/rbdtier-probe-test/ceph.conf";
    EXPECT_EQ(clients.kept(options), nullptr);
    EXPECT_FALSE(clients.get(options));
    EXPECT_EQ(clients.kept(options), nullptr);
    EXPECT_EQ(clients.size(), 0u);
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

}  // namespace
}  // namespace rbdtier
