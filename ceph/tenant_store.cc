#include "ceph/tenant_store.h"

#include <rados/librados.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"

namespace rbdtier::ceph {
namespace {

constexpr int kWriteAttempts = 64;

// A short, growing, jittered pause between attempts that lost a race, so writers spread out.
void back_off(int attempt) {
    static thread_local std::minstd_rand random(std::random_device{}());
    const int cap_us = std::min(20'000, 200 << std::min(attempt, 6));
    std::this_thread::sleep_for(
        std::chrono::microseconds(random() % static_cast<unsigned>(cap_us)));
}

}  // namespace

std::string StoredTenant::encode() const {
    nlohmann::json j = {{"quota_bytes", quota_bytes},
                        {"bandwidth_weight", bandwidth_weight},
                        {"priority", priority}};
    return j.dump();
}

std::optional<StoredTenant> StoredTenant::decode(const std::string& name, const std::string& value,
                                                 std::string* why) {
    const auto refuse = [why](std::string reason) -> std::optional<StoredTenant> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    const nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return refuse("not a JSON object");
    StoredTenant t;
    t.name = name;
    // Each field is checked for its JSON type before it is converted: a quota is a whole number
    // of bytes (not negative, not a float beyond 2^64), a weight or priority a number in range.
    if (auto q = j.find("quota_bytes"); q != j.end()) {
        if (!q->is_object()) return refuse("quota_bytes is not an object");
        for (const auto& [pool, bytes] : q->items()) {
            if (!bytes.is_number_unsigned())
                return refuse("quota_bytes of '" + pool + "' is not a whole number of bytes");
            t.quota_bytes[pool] = bytes.get<std::uint64_t>();
        }
    }
    for (auto [key, out] :
         {std::pair{"bandwidth_weight", &t.bandwidth_weight}, std::pair{"priority", &t.priority}}) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        if (!it->is_number()) return refuse(std::string(key) + " is not a number");
        *out = it->get<double>();
    }
    if (std::string problem = t.value_problem(); !problem.empty()) return refuse(problem);
    return t;
}

std::string StoredTenant::value_problem() const {
    for (auto [key, value] :
         {std::pair{"bandwidth_weight", bandwidth_weight}, std::pair{"priority", priority}}) {
        if (!(value > 0 && value <= kMaxWeight)) {  // NaN too
            std::ostringstream text;
            text << key << ' ' << value
                 << " is out of range: must be greater than 0 and at most 1000000";
            return text.str();
        }
    }
    return {};
}

TenantSpec StoredTenant::to_spec(const std::vector<std::string>& tier_pools) const {
    TenantSpec spec;
    spec.name = name;
    spec.bandwidth_weight = bandwidth_weight;
    spec.priority = priority;
    for (std::size_t i = 0; i < tier_pools.size(); ++i)
        if (auto it = quota_bytes.find(tier_pools[i]); it != quota_bytes.end())
            spec.quota_bytes[static_cast<TierId>(i)] = it->second;
    return spec;
}

std::string tenant_name_problem(const std::string& name) {
    if (name.empty() || name.size() > 64) return "a tenant name has 1 to 64 characters";
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
            return "tenant name '" + name +
                   "' has a character other than letters, digits, '_', '-', '.'";
    return {};
}

Status TenantStore::read_all(std::map<std::string, std::string>& entries,
                             std::uint64_t& version) const {
    auto snap = read_omap_snapshot(io_, kObject, "tenants");
    if (!snap) return snap.status();
    entries = std::move(snap->entries);
    version = snap->version;
    return Status::ok();
}

Result<std::vector<StoredTenant>> TenantStore::list() const {
    std::map<std::string, std::string> entries;
    std::uint64_t version = 0;
    if (Status s = read_all(entries, version); !s) return s;
    std::vector<StoredTenant> out;
    for (const auto& [name, value] : entries) {
        std::string why;
        auto t = StoredTenant::decode(name, value, &why);
        if (!t)
            return Status::error(-EINVAL, "tenant '" + name + "' in " + io_.pool() + "/" + kObject +
                                              " is not valid (" + why + "): " + value);
        out.push_back(std::move(*t));
    }
    return out;
}

Result<StoredTenant> TenantStore::get(const std::string& name) const {
    auto all = list();
    if (!all) return all.status();
    for (auto& t : all.value())
        if (t.name == name) return std::move(t);
    return Status::error(-ENOENT, "tenant '" + name + "'");
}

Status TenantStore::create(const StoredTenant& tenant) {
    return write(tenant, Mode::kCreate);
}
Status TenantStore::update(const StoredTenant& tenant) {
    return write(tenant, Mode::kUpdate);
}
Status TenantStore::remove(const std::string& name) {
    StoredTenant t;
    t.name = name;
    return write(t, Mode::kRemove);
}

Status TenantStore::write(const StoredTenant& tenant, Mode mode) {
    const auto context = [&] {
        return "write tenant '" + tenant.name + "' to " + io_.pool() + "/" + kObject;
    };
    if (std::string problem = tenant_name_problem(tenant.name); !problem.empty())
        return Status::error(-EINVAL, problem);
    if (mode != Mode::kRemove)
        if (std::string problem = tenant.value_problem(); !problem.empty())
            return Status::error(-EINVAL, "tenant '" + tenant.name + "': " + problem);
    for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
        std::map<std::string, std::string> entries;
        std::uint64_t version = 0;
        if (Status s = read_all(entries, version); !s) return s;
        const bool exists = entries.count(tenant.name) > 0;
        if (mode == Mode::kCreate && exists)
            return Status::error(-EEXIST, "tenant '" + tenant.name + "'");
        if (mode != Mode::kCreate && !exists)
            return Status::error(-ENOENT, "tenant '" + tenant.name + "'");
        WriteOp op(rados_create_write_op());
        if (!op) return Status::error(-ENOMEM, context());
        if (version == 0)
            rados_write_op_create(op.get(), LIBRADOS_CREATE_EXCLUSIVE, nullptr);
        else
            rados_write_op_assert_version(op.get(), version);
        const char* keys[] = {tenant.name.c_str()};
        const size_t key_lens[] = {tenant.name.size()};
        const std::string value = tenant.encode();
        const char* vals[] = {value.data()};
        const size_t val_lens[] = {value.size()};
        if (mode == Mode::kRemove)
            rados_write_op_omap_rm_keys2(op.get(), keys, key_lens, 1);
        else
            rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
        const int rc = rados_write_op_operate2(op.get(), io_.handle(), kObject, nullptr, 0);
        if (rc >= 0) return Status::ok();
        if (rc != -ERANGE && rc != -EOVERFLOW && rc != -EEXIST) return Status::error(rc, context());
        back_off(attempt);  // somebody else wrote first: read again and retry
    }
    return Status::error(-ECANCELED, context() + ": too many concurrent writers");
}

}  // namespace rbdtier::ceph
