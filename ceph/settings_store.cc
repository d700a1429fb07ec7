#include "ceph/settings_store.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "ceph/lun_identity.h"
#include "ceph/notify.h"
#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"

namespace rbdtier::ceph {

Result<std::map<std::string, std::string>> image_metadata(const Image& image,
                                                          const std::string& prefix) {
    const auto context = [&] { return "list metadata of image " + image.spec(); };
    std::map<std::string, std::string> out;
    std::string start;
    constexpr std::uint64_t kPage = 64;
    while (true) {
        std::vector<char> keys(4096), values(16384);
        std::uint64_t got = 0;
        int rc = -ERANGE;
        for (int attempt = 0; attempt < 6 && rc == -ERANGE; ++attempt) {
            std::size_t key_len = keys.size(), val_len = values.size();
            rc = rbd_metadata_list(image.handle(), start.c_str(), kPage, keys.data(), &key_len,
                                   values.data(), &val_len);
            if (rc == -ERANGE) {
                keys.resize(std::max(key_len, keys.size() * 2));
                values.resize(std::max(val_len, values.size() * 2));
            }
        }
        if (rc < 0) return Status::error(rc, context());
        // keys and values: NUL-terminated strings one after another, as many of each.
        const char* k = keys.data();
        const char* v = values.data();
        const char* k_end = keys.data() + keys.size();
        const char* v_end = values.data() + values.size();
        std::string last;
        while (k < k_end && *k != '\0' && v < v_end) {
            const std::string key(k, strnlen(k, static_cast<std::size_t>(k_end - k)));
            const std::string value(v, strnlen(v, static_cast<std::size_t>(v_end - v)));
            k += key.size() + 1;
            v += value.size() + 1;
            ++got;
            last = key;
            if (key.compare(0, prefix.size(), prefix) == 0) out[key] = value;
        }
        if (got < kPage || last.empty()) return out;
        start = last;
    }
}

Result<std::map<std::string, std::string>> object_settings(const IoContext& io,
                                                           const std::string& oid) {
    auto snap = read_omap_snapshot(io, oid, "settings");
    if (!snap) return snap.status();
    return std::move(snap->entries);
}

Status set_object_setting(const IoContext& io, const std::string& oid, const std::string& key,
                          const std::string& value) {
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "set " + key + " in " + io.pool() + "/" + oid);
    rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    const char* keys[] = {key.c_str()};
    const char* vals[] = {value.data()};
    const std::size_t key_lens[] = {key.size()};
    const std::size_t val_lens[] = {value.size()};
    rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    int rc = rados_write_op_operate2(op.get(), io.handle(), oid.c_str(), nullptr, 0);
    if (rc < 0) return Status::error(rc, "set " + key + " in " + io.pool() + "/" + oid);
    return Status::ok();
}

Status remove_object_setting(const IoContext& io, const std::string& oid, const std::string& key) {
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "remove " + key + " from " + io.pool() + "/" + oid);
    const char* keys[] = {key.c_str()};
    const std::size_t key_lens[] = {key.size()};
    rados_write_op_omap_rm_keys2(op.get(), keys, key_lens, 1);
    int rc = rados_write_op_operate2(op.get(), io.handle(), oid.c_str(), nullptr, 0);
    if (rc == -ENOENT) return Status::ok();
    if (rc < 0) return Status::error(rc, "remove " + key + " from " + io.pool() + "/" + oid);
    return Status::ok();
}

Status notify_settings_changed(const IoContext& io, const std::string& oid,
                               std::chrono::milliseconds timeout) {
    const int rc = notify_watchers(io, oid, kSettingsNotifyPayload, timeout).error;
    if (rc == -ENOENT) return Status::ok();
    if (rc < 0) return Status::error(rc, "notify the watchers of " + io.pool() + "/" + oid);
    return Status::ok();
}

Status notify_lun_settings_changed(const IoContext& home_io, const Image& home,
                                   std::chrono::milliseconds timeout) {
    auto lun = LunIdentity::of(home_io, home);
    if (!lun) return lun.status();
    return notify_settings_changed(home_io, lun->map_object_name(), timeout);
}

Result<std::map<std::string, std::string>> SharedObjectSettings::read(
    const Cluster& cluster, const std::string& client_key, const std::string& pool,
    const std::string& oid, std::chrono::steady_clock::time_point changed_at) {
    std::shared_ptr<Copy> copy;
    {
        std::lock_guard lock(mutex_);
        std::shared_ptr<Copy>& slot = copies_[client_key + '\n' + pool + '\n' + oid];
        if (!slot) {
            slot = std::make_shared<Copy>();
            slot->counters.pool = pool;
            slot->counters.oid = oid;
        }
        copy = slot;
    }
    std::lock_guard lock(copy->mutex);
    ++copy->counters.lookups;
    const auto now = std::chrono::steady_clock::now();
    if (!copy->read_once || now - copy->read_at >= period_ || copy->read_started < changed_at) {
        ++copy->counters.reads;
        copy->read_started = now;
        copy->read_once = true;
        copy->entries.clear();
        if (auto io = IoContext::open(cluster, pool); !io) {
            copy->status = io.status();
        } else if (auto entries = object_settings(*io, oid); !entries) {
            copy->status = entries.status();
        } else {
            copy->status = Status::ok();
            copy->entries = std::move(*entries);
        }
        // The period counts from the read's end: a slow read does not make the next one due.
        copy->read_at = std::chrono::steady_clock::now();
    }
    if (!copy->status) return copy->status;
    return copy->entries;
}

std::vector<SharedObjectSettings::Counters> SharedObjectSettings::counters() const {
    std::vector<std::shared_ptr<Copy>> copies;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, copy] : copies_) copies.push_back(copy);
    }
    std::vector<Counters> out;
    for (const auto& copy : copies) {
        std::lock_guard lock(copy->mutex);
        out.push_back(copy->counters);
    }
    return out;
}

}  // namespace rbdtier::ceph
