// ClusterOptions: what the verbs that work straight in RADOS, with or without a running gateway
// (`rbdtier tenant`, `rbdtier config`), share: their options --pool, --config, --ceph-conf, --id
// and --format; the pool of the shared objects (--pool, else tenant_pool of rbdtier.conf); the
// connection to the cluster (15 s timeouts to the monitors and OSDs); and how a failure is
// reported (ClusterCommandError: the message on stderr, and as {"error": ...} on stdout with
// --format json; exit 1).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include "ceph/cluster.h"
#include "ceph/io_context.h"
#include "cli/command.h"
#include "handler/gateway_config.h"

namespace rbdtier::cli {

// A failure of a cluster verb, with the message a person can act on.
struct ClusterCommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ClusterOptions {
public:
    // Adds the options to `sub`; `pool_help` says what --pool holds.
    void add_to(CLI::App* sub, const std::string& pool_help);
    // The pool of the shared objects: --pool, else tenant_pool of --config. Throws
    // ClusterCommandError naming both when neither gives one; `what` names the objects.
    std::string pool(const std::string& what) const;
    // Connects as --id with --ceph-conf; throws ClusterCommandError.
    ceph::Cluster connect() const;
    // Opens `pool` (namespace `ns`) of `cluster`; throws ClusterCommandError.
    static ceph::IoContext open(const ceph::Cluster& cluster, const std::string& pool,
                                const std::string& ns = {});
    bool json() const { return format_ == "json"; }
    const std::string& config_path() const { return config_; }

    // Runs `verb`, and reports a ClusterCommandError it throws (exit 1).
    int run(const std::function<int()>& verb) const;

private:
    std::string pool_, ceph_conf_, id_, format_ = "table";
    std::string config_ = GatewayConfig::kDefaultPath;
};

}  // namespace rbdtier::cli
