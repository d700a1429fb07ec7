// ProbeClients: the RADOS clients check_config validates cfgstrings with, and opens read tier
// image headers with, one per cluster configuration (client id, conf file, options), connected at
// the first check or open and kept for the next, so that checking a cfgstring costs a few
// requests, not a client's connection.
//
// A probe client reads (pools, images, their metadata) and makes a LUN's missing tier images
// ready when its tiering is opened (creates, tags and grows them, ceph/tier_images.h, so that
// the LUN's own client opens no session to a tier's OSDs before it uses the tier): it serves
// no LUN and holds a lock or watch only while it tags such an image. A client is made again when
// its conf file changed (path, size, modification time or inode differ from when it connected) or
// after forget(), which the caller calls when the client itself failed (-ESHUTDOWN: blocklisted or
// shut down; -ENOTCONN; -ETIMEDOUT). A failed connect is not kept: the next call connects again.
// The clients are kept in an ExpiringCache (common/expiring_cache.h) without an age bound: a client
// is good until its conf file changes or it fails, however old. Thread-safe: one connect at a time;
// a client handed out stays valid while the caller holds it, even if it is replaced meanwhile.
//
// options_for() is the one place a LUN's probe options are made: its client id and conf file,
// client_mount_timeout 15 s, and rados_osd_op_timeout = the cfgstring's osd_op_timeout, or
// kDefaultOpTimeoutS (10 s) when it gives none or 0 (handler_rbd's "no timeout", which would let
// a check wait forever on a pool whose placement groups are not active). So a check answers
// within one connect and one op timeout: a request not answered in time fails with -ETIMEDOUT.
// LUNs with different op timeouts get different clients.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ceph/cluster.h"
#include "ceph/status.h"
#include "common/expiring_cache.h"
#include "handler/lun_config.h"

namespace rbdtier {

class ProbeClients {
public:
    static constexpr unsigned kDefaultOpTimeoutS = 10;
    static constexpr unsigned kMountTimeoutS = 15;
    // The options of the probe client for a LUN of config `cfg` (see the top of this file).
    static ceph::ClusterOptions options_for(const LunConfig& cfg);
    // How long a probe request for `cfg` waits for an OSD (rados_osd_op_timeout), in seconds.
    static unsigned op_timeout_s(const LunConfig& cfg);

    // The client for `options`: kept, or connected now.
    ceph::Result<std::shared_ptr<const ceph::Cluster>> get(const ceph::ClusterOptions& options);
    // Drops `client` (if still kept), so the next get() connects again.
    void forget(const std::shared_ptr<const ceph::Cluster>& client);
    std::size_t size() const;

    // Whether an error from a client's request means the client itself is unusable.
    static bool client_failed(int code);

    static ProbeClients& process();

private:
    struct Kept {
        std::string conf_signature;
        std::shared_ptr<const ceph::Cluster> client;
    };
    using KeptClients = ExpiringCache<std::string, Kept>;  // by the options, flattened
    std::mutex connect_mutex_;  // one get() at a time: two never connect for one key
    KeptClients kept_{KeptClients::Clock::duration::max()};
};

}  // namespace rbdtier
