// OmapSnapshot: every omap entry of one RADOS object, read in pages as one consistent snapshot:
// when the object's version changes between pages the read starts over, so the entries and the
// version belong together (a guarded write can then assert that version). A missing object reads
// as no entries at version 0. Only keys starting with `prefix` are read ("" = all).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

struct OmapSnapshot {
    std::map<std::string, std::string> entries;
    std::uint64_t version = 0;  // the object's version the entries were read at; 0 when absent
};

// `what` names the object for people ("placement map", "tenants"), in the error's context.
Result<OmapSnapshot> read_omap_snapshot(const IoContext& io, const std::string& oid,
                                        const std::string& what, const std::string& prefix = "");

}  // namespace rbdtier::ceph
