// notify_watchers: a RADOS notify of one object's watchers, and what came of it; the one
// wrapper of rados_notify2 (a placement map's commits and probes, settings changes).
//
// Sends `payload` to every watcher of `oid` in `io` and blocks the calling thread until each
// has acknowledged or `timeout` has passed (the OSD times the notify out; an OSD that does not
// answer holds it as long as the client's rados_osd_op_timeout lets it). The outcome holds
// rados_notify2's result as it is (0: every watcher acknowledged; -ETIMEDOUT: some did not in
// time; -ENOENT: no such object; any other error of the call) and the client instance ids of
// the watchers that did not acknowledge, decoded from the reply (a single 0 when the notify timed
// out and the reply named none: somebody, unknown). The reply and its decoded form are freed
// before it returns; no reply payload is kept.
//
// Thread-safety: as librados's synchronous calls: from any thread, several at once on one
// IoContext; never from a librados callback (it blocks).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ceph/io_context.h"

namespace rbdtier::ceph {

// Watchers that did not acknowledge a notify (gateways whose view may be old).
struct NotifyOutcome {
    int error = 0;                                // of rados_notify2 itself
    std::vector<std::uint64_t> silent_notifiers;  // client instance ids that timed out
};

NotifyOutcome notify_watchers(const IoContext& io, const std::string& oid, std::string_view payload,
                              std::chrono::milliseconds timeout);

}  // namespace rbdtier::ceph
