#include "ceph/omap_snapshot.h"

#include <rados/librados.h>

#include <cerrno>

#include "ceph/rados_op.h"

namespace rbdtier::ceph {

Result<OmapSnapshot> read_omap_snapshot(const IoContext& io, const std::string& oid,
                                        const std::string& what, const std::string& prefix) {
    constexpr std::uint64_t kPage = 1024;
    const auto context = [&] { return "read " + what + " " + io.pool() + "/" + oid; };
    OmapSnapshot snap;
    std::string after;
    for (bool more = true; more;) {
        ReadOp op(rados_create_read_op());
        if (!op) return Status::error(-ENOMEM, context());
        OmapIter iter;
        unsigned char pmore = 0;
        int prval = 0;
        rados_read_op_omap_get_vals2(op.get(), after.c_str(), prefix.c_str(), kPage, iter.out(),
                                     &pmore, &prval);
        int rc = rados_read_op_operate(op.get(), io.handle(), oid.c_str(), 0);
        if (rc == -ENOENT) return OmapSnapshot{};
        if (rc >= 0 && prval < 0) rc = prval;
        if (rc < 0) return Status::error(rc, context());
        const std::uint64_t page_version = rados_get_last_version(io.handle());
        if (!after.empty() && page_version != snap.version) {  // changed between pages
            snap.entries.clear();
            after.clear();
            continue;
        }
        snap.version = page_version;
        for (;;) {
            char *key = nullptr, *val = nullptr;
            size_t key_len = 0, val_len = 0;
            if (rados_omap_get_next2(iter.get(), &key, &val, &key_len, &val_len) < 0 ||
                key == nullptr) {
                break;
            }
            after.assign(key, key_len);
            snap.entries[after] = std::string(val, val_len);
        }
        more = pmore != 0;
    }
    return snap;
}

}  // namespace rbdtier::ceph
