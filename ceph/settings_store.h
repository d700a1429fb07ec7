// Raw access to where the shared tiering settings live (handler/shared_settings.h says what they
// mean): the "rbdtier.*" image metadata of a LUN's home image, and the omap of one RADOS object
// holding the cluster-wide settings. Values are read and written as they are: checking them is
// the caller's (the CLI checks before it writes; the gateway checks what it reads). Synchronous
// control-path calls; the IoContext or Image must stay open during the call.
#pragma once

#include <map>
#include <string>

#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

// Every metadata entry of `image` whose key starts with `prefix` (full keys).
Result<std::map<std::string, std::string>> image_metadata(const Image& image,
                                                          const std::string& prefix);

// Every omap entry of `oid` in `io` (a missing object has none).
Result<std::map<std::string, std::string>> object_settings(const IoContext& io,
                                                           const std::string& oid);
// Sets `key` to `value` in the omap of `oid` (created if missing).
Status set_object_setting(const IoContext& io, const std::string& oid, const std::string& key,
                          const std::string& value);
// Removes `key` from the omap of `oid`; an absent key or object is no error.
Status remove_object_setting(const IoContext& io, const std::string& oid, const std::string& key);

}  // namespace rbdtier::ceph
