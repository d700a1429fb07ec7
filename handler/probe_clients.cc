#include "handler/probe_clients.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>

namespace rbdtier {
namespace {

std::string key_of(const ceph::ClusterOptions& options) {
    std::string key = options.id + '\n' + options.conf_path;
    for (const auto& [name, value] : options.conf) key += '\n' + name + '=' + value;
    return key;
}

// What tells a conf file's versions apart ("" for none or the default search).
std::string conf_signature(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
    return std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
           std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

unsigned ProbeClients::op_timeout_s(const LunConfig& cfg) {
    return cfg.osd_op_timeout_s.value_or(0) != 0 ? *cfg.osd_op_timeout_s : kDefaultOpTimeoutS;
}

ceph::ClusterOptions ProbeClients::options_for(const LunConfig& cfg) {
    ceph::ClusterOptions options;
    options.id = cfg.client_id;
    options.conf_path = cfg.conf_path;
    options.conf.emplace_back("client_mount_timeout", std::to_string(kMountTimeoutS));
    options.conf.emplace_back("rados_osd_op_timeout", std::to_string(op_timeout_s(cfg)));
    return options;
}

ceph::Result<std::shared_ptr<const ceph::Cluster>> ProbeClients::get(
    const ceph::ClusterOptions& options) {
    const std::string key = key_of(options);
    const std::string signature = conf_signature(options.conf_path);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard connecting(connect_mutex_);
    if (auto kept = kept_.find(key, now)) {
        if (kept->conf_signature == signature) return kept->client;
        kept_.erase(key);
    }
    auto connected = ceph::Cluster::connect(options);
    if (!connected) return connected.status();
    auto client = std::make_shared<const ceph::Cluster>(std::move(connected).value());
    kept_.store(key, Kept{signature, client}, now);
    return client;
}

void ProbeClients::forget(const std::shared_ptr<const ceph::Cluster>& client) {
    kept_.erase_if([&client](const std::string&, const Kept& k) { return k.client == client; });
}

std::size_t ProbeClients::size() const {
    return kept_.size();
}

bool ProbeClients::client_failed(int code) {
    return code == -ESHUTDOWN || code == -ENOTCONN || code == -ETIMEDOUT;
}

ProbeClients& ProbeClients::process() {
    static ProbeClients& clients = *new ProbeClients;  // never destroyed: no shutdown at exit
    return clients;
}

}  // namespace rbdtier
