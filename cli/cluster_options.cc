#include "cli/cluster_options.h"

#include <iostream>
#include <nlohmann/json.hpp>

namespace rbdtier::cli {

void ClusterOptions::add_to(CLI::App* sub, const std::string& pool_help) {
    sub->add_option("--pool", pool_, pool_help + " (default: tenant_pool of --config)");
    sub->add_option("--config", config_, "rbdtier.conf")->capture_default_str();
    sub->add_option("--ceph-conf", ceph_conf_, "ceph.conf (default: Ceph's search path)");
    sub->add_option("--id", id_, "Ceph client id (without 'client.')");
    sub->add_option("--format", format_, "Output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->capture_default_str();
}

std::string ClusterOptions::pool(const std::string& what) const {
    if (!pool_.empty()) return pool_;
    const ConfigOutcome c = load_gateway_config(config_);
    if (c.ok() && !c.config->tenant_pool.empty()) return c.config->tenant_pool;
    throw ClusterCommandError("no pool for " + what + ": give --pool POOL or set tenant_pool in " +
                              config_);
}

ceph::Cluster ClusterOptions::connect() const {
    ceph::ClusterOptions options;
    options.conf_path = ceph_conf_;
    options.id = id_;
    options.conf = {{"rados_mon_op_timeout", "15"}, {"rados_osd_op_timeout", "15"}};
    auto cluster = ceph::Cluster::connect(options);
    if (!cluster) throw ClusterCommandError(cluster.status().message());
    return std::move(cluster).value();
}

ceph::IoContext ClusterOptions::open(const ceph::Cluster& cluster, const std::string& pool,
                                     const std::string& ns) {
    auto io = ceph::IoContext::open(cluster, pool, ns);
    if (!io) throw ClusterCommandError(io.status().message());
    return std::move(io).value();
}

int ClusterOptions::run(const std::function<int()>& verb) const {
    try {
        return verb();
    } catch (const ClusterCommandError& e) {
        if (json()) std::cout << nlohmann::json{{"error", e.what()}}.dump(2) << '\n';
        std::cerr << "rbdtier: " << e.what() << '\n';
        return kExitFailure;
    }
}

}  // namespace rbdtier::cli
