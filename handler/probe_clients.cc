#include "handler/probe_clients.h"

#include <sys/stat.h>

#include <cerrno>

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

ceph::Result<std::shared_ptr<const ceph::Cluster>> ProbeClients::get(
    const ceph::ClusterOptions& options) {
    const std::string key = key_of(options);
    const std::string signature = conf_signature(options.conf_path);
    std::lock_guard lock(mutex_);
    if (auto it = kept_.find(key); it != kept_.end()) {
        if (it->second.conf_signature == signature) return it->second.client;
        kept_.erase(it);
    }
    auto connected = ceph::Cluster::connect(options);
    if (!connected) return connected.status();
    auto client = std::make_shared<const ceph::Cluster>(std::move(connected).value());
    kept_[key] = Kept{signature, client};
    return client;
}

void ProbeClients::forget(const std::shared_ptr<const ceph::Cluster>& client) {
    std::lock_guard lock(mutex_);
    std::erase_if(kept_, [&](const auto& k) { return k.second.client == client; });
}

std::size_t ProbeClients::size() const {
    std::lock_guard lock(mutex_);
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
