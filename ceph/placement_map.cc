#include "ceph/placement_map.h"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string_view>

#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"

namespace rbdtier::ceph {
namespace {

constexpr const char* kHeaderKey = "header";
constexpr std::string_view kIntentPrefix = "intent.";
constexpr std::string_view kCopyPrefix = "copy=";

std::string extent_key(std::uint64_t extent) {
    char key[17];
    std::snprintf(key, sizeof key, "%016" PRIx64, extent);
    return key;
}

std::string intent_key(std::uint64_t extent) {
    return std::string(kIntentPrefix) + extent_key(extent);
}

std::optional<std::uint64_t> parse_extent_key(std::string_view key) {
    std::uint64_t extent = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), extent, 16);
    if (ec != std::errc() || end != key.data() + key.size() || key.size() != 16) return {};
    return extent;
}

// A cls_lock_assert_op as the OSD's "lock" class decodes it (ENCODE_START(1, 1): version,
// compat, length; then name, type, cookie, tag; strings as u32 length + bytes, little-endian).
void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_string(std::string& out, const std::string& s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out += s;
}
std::string assert_locked_op(const std::string& cookie) {
    constexpr char kExclusive = 1;
    std::string body;
    put_string(body, kFenceLock);
    body.push_back(kExclusive);
    put_string(body, cookie);
    put_string(body, "");  // tag
    std::string op{1, 1};
    put_u32(op, static_cast<std::uint32_t>(body.size()));
    return op + body;
}

std::string new_cookie(const IoContext& io) {
    static std::atomic<std::uint64_t> next{0};
    const std::uint64_t instance = rados_get_instance_id(rados_ioctx_get_cluster(io.handle()));
    return "rbdtier." + std::to_string(instance) + "." + std::to_string(next.fetch_add(1));
}

}  // namespace

std::string PlacementEntry::encode() const {
    char tail[48];
    std::snprintf(tail, sizeof tail, " gen=%" PRIu64 " crc=%08x", generation, crc);
    return "pool=" + pool + tail;
}

std::optional<PlacementEntry> PlacementEntry::decode(const std::string& text) {
    // pool=<name> gen=<n> crc=<hex>
    PlacementEntry e;
    const auto gen_at = text.rfind(" gen=");
    const auto crc_at = text.rfind(" crc=");
    if (text.rfind("pool=", 0) != 0 || gen_at == std::string::npos || crc_at == std::string::npos ||
        crc_at < gen_at || gen_at <= 5) {
        return {};
    }
    e.pool = text.substr(5, gen_at - 5);
    const char* g = text.data() + gen_at + 5;
    const char* c = text.data() + crc_at + 5;
    const char* end = text.data() + text.size();
    auto r1 = std::from_chars(g, text.data() + crc_at, e.generation);
    auto r2 = std::from_chars(c, end, e.crc, 16);
    if (r1.ec != std::errc() || r1.ptr != text.data() + crc_at || r2.ec != std::errc() ||
        r2.ptr != end) {
        return {};
    }
    return e;
}

std::string MapHeader::encode() const {
    std::string pools;
    for (const auto& t : tiers) pools += (pools.empty() ? "" : "+") + t;
    return "format=" + std::to_string(format) + " lun=" + lun + " tiers=" + pools;
}

std::optional<MapHeader> MapHeader::decode(const std::string& text) {
    // format=<n> lun=<key> tiers=<pool>[+<pool>...]
    constexpr std::string_view kFormat = "format=", kLun = " lun=", kTiers = " tiers=";
    const auto lun_at = text.find(kLun);
    const auto tiers_at = text.find(kTiers);
    if (!text.starts_with(kFormat) || lun_at == std::string::npos ||
        tiers_at == std::string::npos || tiers_at < lun_at) {
        return {};
    }
    MapHeader h;
    const char* f = text.data() + kFormat.size();
    auto [end, ec] = std::from_chars(f, text.data() + lun_at, h.format);
    if (ec != std::errc() || end != text.data() + lun_at) return {};
    h.lun = text.substr(lun_at + kLun.size(), tiers_at - lun_at - kLun.size());
    if (h.lun.empty()) return {};
    std::string_view rest = std::string_view(text).substr(tiers_at + kTiers.size());
    while (!rest.empty()) {
        const auto plus = rest.find('+');
        const std::string_view pool = rest.substr(0, plus);
        if (pool.empty()) return {};
        h.tiers.emplace_back(pool);
        if (plus == std::string_view::npos) break;
        rest.remove_prefix(plus + 1);
        if (rest.empty()) return {};
    }
    return h;
}

PlacementOmapDecode decode_placement_omap(const std::map<std::string, std::string>& omap,
                                          const std::string& lun_key) {
    auto bad = [](std::string why) { return PlacementOmapDecode{std::nullopt, std::move(why)}; };
    DecodedPlacementMap map;
    std::optional<MapHeader> header;
    for (const auto& [k, v] : omap) {
        if (k == kHeaderKey) {
            header = MapHeader::decode(v);
            map.header_value = v;
            if (!header) return bad("bad header '" + v + "'");
        } else if (k.starts_with(kIntentPrefix)) {
            auto extent = parse_extent_key(std::string_view(k).substr(kIntentPrefix.size()));
            if (!extent || !v.starts_with(kCopyPrefix) || v.size() == kCopyPrefix.size()) {
                return bad("bad intent '" + k + "' = '" + v + "'");
            }
            map.intents[*extent] = v.substr(kCopyPrefix.size());
        } else {
            auto extent = parse_extent_key(k);
            auto entry = PlacementEntry::decode(v);
            if (!extent || !entry) return bad("bad entry '" + k + "' = '" + v + "'");
            map.entries[*extent] = std::move(*entry);
        }
    }
    if (!header) {
        return bad("no header (not a format " + std::to_string(kPlacementMapFormat) +
                   " placement map)");
    }
    if (header->format != kPlacementMapFormat) {
        return bad("format " + std::to_string(header->format) + ", this gateway reads format " +
                   std::to_string(kPlacementMapFormat));
    }
    if (header->lun != lun_key) return bad("it belongs to LUN " + header->lun + ", not " + lun_key);
    map.header = std::move(*header);
    return {std::move(map), {}};
}

PlacementMap::PlacementMap(IoContext io, LunIdentity lun)
    : io_(std::move(io)),
      lun_(std::move(lun)),
      oid_(lun_.map_object_name()),
      cookie_(new_cookie(io_)),
      assertion_(assert_locked_op(cookie_)) {}

PlacementMap::PlacementMap(PlacementMap&& other) noexcept
    : io_(std::move(other.io_)),
      lun_(std::move(other.lun_)),
      oid_(std::move(other.oid_)),
      cookie_(std::move(other.cookie_)),
      assertion_(std::move(other.assertion_)),
      header_(std::move(other.header_)),
      header_value_(std::move(other.header_value_)),
      entries_(std::move(other.entries_)),
      intents_(std::move(other.intents_)),
      fenced_(std::exchange(other.fenced_, false)),
      last_notify_(std::move(other.last_notify_)),
      changes_(other.changes_),
      reload_hook_(std::move(other.reload_hook_)),
      commit_reply_hook_(std::move(other.commit_reply_hook_)) {}

PlacementMap::~PlacementMap() {
    if (io_.handle() != nullptr && fence_held()) (void)release_fence();
}

Result<bool> PlacementMap::exists(const IoContext& io, const LunIdentity& lun) {
    std::uint64_t size = 0;
    time_t mtime = 0;
    const std::string oid = lun.map_object_name();
    int rc = rados_stat(io.handle(), oid.c_str(), &size, &mtime);
    if (rc == -ENOENT) return false;
    if (rc < 0) return Status::error(rc, "stat placement map " + io.where() + "/" + oid);
    return true;
}

Result<PlacementMap> PlacementMap::create(IoContext io, const LunIdentity& lun,
                                          const std::vector<std::string>& tiers) {
    PlacementMap map(std::move(io), lun);
    MapHeader header;
    header.lun = lun.key();
    header.tiers = tiers;
    const std::string value = header.encode();
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "create placement map " + map.oid_);
    rados_write_op_create(op.get(), LIBRADOS_CREATE_EXCLUSIVE, nullptr);
    const char* keys[] = {kHeaderKey};
    const size_t key_lens[] = {std::char_traits<char>::length(kHeaderKey)};
    const char* vals[] = {value.data()};
    const size_t val_lens[] = {value.size()};
    rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    int rc = rados_write_op_operate(op.get(), map.io_.handle(), map.oid_.c_str(), nullptr, 0);
    if (rc < 0) {
        return Status::error(rc, "create placement map " + map.io_.where() + "/" + map.oid_);
    }
    if (Status s = map.reload(); !s) return s;
    return map;
}

Result<PlacementMap> PlacementMap::open(IoContext io, const LunIdentity& lun) {
    PlacementMap map(std::move(io), lun);
    if (Status s = map.reload(); !s) return s;
    return map;
}

Status PlacementMap::remove(const IoContext& io, const LunIdentity& lun) {
    const std::string oid = lun.map_object_name();
    int rc = rados_remove(io.handle(), oid.c_str());
    if (rc < 0 && rc != -ENOENT) {
        return Status::error(rc, "remove placement map " + io.where() + "/" + oid);
    }
    return Status::ok();
}

Status PlacementMap::reload() {
    std::lock_guard reloading(reload_mutex_);
    // The reads go through a context of their own, made for this reload: its last-version slot is
    // one no writer touches, and a LUN that never reloads keeps none.
    auto reader = io_.duplicate();
    if (!reader) return reader.status().with_context("placement map " + oid_);
    // Optimistic reads: installed only if no change began or ended while the read ran.
    for (int attempt = 0; attempt < kOptimisticReads; ++attempt) {
        std::uint64_t seen = 0;
        {
            std::lock_guard lock(mutex_);
            seen = changes_;
        }
        auto map = read_map(*reader);
        if (!map) return map.status();
        if (reload_hook_) reload_hook_();
        std::lock_guard lock(mutex_);
        if (changes_ == seen && !changing_) {
            install(std::move(*map));
            return Status::ok();
        }
    }
    // Changes keep landing during the reads: hold them off for one read (lookups still answer).
    std::lock_guard no_changes(change_mutex_);
    auto map = read_map(*reader);
    if (!map) return map.status();
    std::lock_guard lock(mutex_);
    install(std::move(*map));
    return Status::ok();
}

Result<DecodedPlacementMap> PlacementMap::read_map(const IoContext& reader) const {
    const std::string where = "placement map " + reader.where() + "/" + oid_;
    auto snap = read_omap_snapshot(reader, oid_, "placement map");
    if (!snap) return snap.status();
    if (snap->version == 0) return Status::error(-ENOENT, "read " + where);
    PlacementOmapDecode decoded = decode_placement_omap(snap->entries, lun_.key());
    if (!decoded.map) return Status::error(-EINVAL, "read " + where + ": " + decoded.error);
    return std::move(*decoded.map);
}

void PlacementMap::install(DecodedPlacementMap map) {
    header_ = std::move(map.header);
    header_value_ = std::move(map.header_value);
    entries_ = std::move(map.entries);
    intents_ = std::move(map.intents);
}

void PlacementMap::begin_change() {
    std::lock_guard lock(mutex_);
    ++changes_;
    changing_ = true;
}

void PlacementMap::end_change() {
    std::lock_guard lock(mutex_);
    ++changes_;
    changing_ = false;
}

bool PlacementMap::fenced() const {
    std::lock_guard lock(mutex_);
    return fenced_;
}

MapHeader PlacementMap::header() const {
    std::lock_guard lock(mutex_);
    return header_;
}

std::optional<PlacementEntry> PlacementMap::find(std::uint64_t extent) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(extent);
    if (it == entries_.end()) return {};
    return it->second;
}

std::map<std::uint64_t, PlacementEntry> PlacementMap::entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
}

std::size_t PlacementMap::entry_count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::map<std::uint64_t, std::string> PlacementMap::intents() const {
    std::lock_guard lock(mutex_);
    return intents_;
}

std::optional<std::string> PlacementMap::intent(std::uint64_t extent) const {
    std::lock_guard lock(mutex_);
    auto it = intents_.find(extent);
    if (it == intents_.end()) return {};
    return it->second;
}

Status PlacementMap::add_tiers(const std::vector<std::string>& pools) {
    std::lock_guard changing(change_mutex_);
    MapHeader next;
    std::string expected_value;
    {
        std::lock_guard lock(mutex_);
        next = header_;
        expected_value = header_value_;
    }
    const MapHeader current = next;
    for (const auto& p : pools) {
        bool known = false;
        for (const auto& t : next.tiers) known = known || t == p;
        if (!known) next.tiers.push_back(p);
    }
    if (next == current) return Status::ok();
    const std::string value = next.encode();
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "update placement map header " + oid_);
    int cmp_rval = 0;
    rados_write_op_omap_cmp(op.get(), kHeaderKey, LIBRADOS_CMPXATTR_OP_EQ, expected_value.data(),
                            expected_value.size(), &cmp_rval);
    const char* keys[] = {kHeaderKey};
    const size_t key_lens[] = {std::char_traits<char>::length(kHeaderKey)};
    const char* vals[] = {value.data()};
    const size_t val_lens[] = {value.size()};
    rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    begin_change();
    int rc = rados_write_op_operate(op.get(), io_.handle(), oid_.c_str(), nullptr, 0);
    if (rc >= 0 && cmp_rval < 0) rc = cmp_rval;
    if (rc >= 0) {
        std::lock_guard lock(mutex_);
        header_ = std::move(next);
        header_value_ = value;
    }
    end_change();
    if (rc < 0) return Status::error(rc, "update placement map header " + io_.where() + "/" + oid_);
    return Status::ok();
}

Status PlacementMap::acquire_fence() {
    if (Status s = take_fence(); !s) return s;
    return reload();
}

Status PlacementMap::take_fence() {
    std::lock_guard changing(change_mutex_);
    const std::string what = "take the owner lock of " + io_.where() + "/" + oid_;
    for (int attempt = 0; attempt < 4; ++attempt) {
        int rc = rados_lock_exclusive(io_.handle(), oid_.c_str(), kFenceLock, cookie_.c_str(),
                                      "rbdtier LUN owner", nullptr, LIBRADOS_LOCK_FLAG_MAY_RENEW);
        if (rc == 0 || rc == -EEXIST) {
            std::lock_guard lock(mutex_);
            fenced_ = true;
            return Status::ok();
        }
        if (rc != -EBUSY) return Status::error(rc, what);
        // Another gateway (or an earlier instance of this one) holds it: the caller owns the
        // LUN now, so the other's commits must fail from here on.
        int exclusive = 0;
        char tag[256], clients[1024], cookies[1024], addrs[1024];
        size_t tag_len = sizeof tag, clients_len = sizeof clients, cookies_len = sizeof cookies,
               addrs_len = sizeof addrs;
        ssize_t n =
            rados_list_lockers(io_.handle(), oid_.c_str(), kFenceLock, &exclusive, tag, &tag_len,
                               clients, &clients_len, cookies, &cookies_len, addrs, &addrs_len);
        if (n < 0) return Status::error(static_cast<int>(n), what + " (list holders)");
        const char* client = clients;
        const char* cookie = cookies;
        for (ssize_t i = 0; i < n; ++i) {
            rc = rados_break_lock(io_.handle(), oid_.c_str(), kFenceLock, client, cookie);
            if (rc < 0 && rc != -ENOENT) return Status::error(rc, what + " (break)");
            client += std::char_traits<char>::length(client) + 1;
            cookie += std::char_traits<char>::length(cookie) + 1;
        }
    }
    return Status::error(-EBUSY, what);
}

Status PlacementMap::release_fence() {
    std::lock_guard changing(change_mutex_);
    {
        std::lock_guard lock(mutex_);
        if (!fenced_) return Status::ok();
        fenced_ = false;
    }
    int rc = rados_unlock(io_.handle(), oid_.c_str(), kFenceLock, cookie_.c_str());
    if (rc < 0 && rc != -ENOENT) {
        return Status::error(rc, "release the owner lock of " + io_.where() + "/" + oid_);
    }
    return Status::ok();
}

bool PlacementMap::fence_held() const {
    return fenced();
}

template <typename Fill, typename Apply>
Status PlacementMap::fenced_write(const std::string& what, Fill&& fill, Apply&& apply,
                                  const std::function<int(int)>& reply) {
    const std::string context = what + " in " + io_.where() + "/" + oid_;
    if (!fenced()) return Status::error(-ESTALE, context + ": this gateway does not own the LUN");
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, context);
    int lock_rval = 0;
    rados_write_op_exec(op.get(), "lock", "assert_locked", assertion_.data(), assertion_.size(),
                        &lock_rval);
    int cmp_rval = 0;
    fill(op.get(), &cmp_rval);
    begin_change();
    int rc = rados_write_op_operate(op.get(), io_.handle(), oid_.c_str(), nullptr, 0);
    if (rc >= 0 && cmp_rval < 0) rc = cmp_rval;
    if (reply) rc = reply(rc);
    {
        std::lock_guard lock(mutex_);
        if (rc >= 0) apply();
        if (rc < 0 && lock_rval < 0) fenced_ = false;
    }
    end_change();
    if (rc < 0 && lock_rval < 0) {
        return Status::error(-ESTALE, context + ": this gateway no longer owns the LUN (" +
                                          Status::error(lock_rval, "lock").message() + ")");
    }
    if (rc < 0) return Status::error(rc, context);
    return Status::ok();
}

Status PlacementMap::commit(std::uint64_t extent, const std::optional<PlacementEntry>& expected,
                            std::optional<PlacementEntry> next, const std::string& leftover_pool,
                            NotifyOutcome* notified) {
    const std::string key = extent_key(extent);
    {
        std::lock_guard changing(change_mutex_);
        if (next) next->generation = (expected ? expected->generation : 0) + 1;
        // An absent key compares equal to the empty value: "still at home".
        const std::string old_value = expected ? expected->encode() : std::string();
        const std::string value = next ? next->encode() : std::string();
        const std::string intent = intent_key(extent);
        const std::string leftover = std::string(kCopyPrefix) + leftover_pool;
        const auto fill = [&](rados_write_op_t op, int* cmp_rval) {
            rados_write_op_omap_cmp(op, key.c_str(), LIBRADOS_CMPXATTR_OP_EQ, old_value.data(),
                                    old_value.size(), cmp_rval);
            const char* keys[] = {key.c_str()};
            const size_t key_lens[] = {key.size()};
            if (next) {
                const char* vals[] = {value.data()};
                const size_t val_lens[] = {value.size()};
                rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
            } else {
                rados_write_op_omap_rm_keys2(op, keys, key_lens, 1);
            }
            const char* intent_keys[] = {intent.c_str()};
            const size_t intent_lens[] = {intent.size()};
            const char* intent_vals[] = {leftover.data()};
            const size_t intent_val_lens[] = {leftover.size()};
            rados_write_op_omap_set2(op, intent_keys, intent_vals, intent_lens, intent_val_lens, 1);
        };
        const auto apply = [&] {  // with mutex_ held
            if (next) {
                entries_[extent] = std::move(*next);
            } else {
                entries_.erase(extent);
            }
            intents_[extent] = leftover_pool;
        };
        if (Status s =
                fenced_write("commit placement of extent " + key, fill, apply, commit_reply_hook_);
            !s)
            return s;
    }
    NotifyOutcome outcome = notify_commit(extent);
    if (notified != nullptr) *notified = std::move(outcome);
    return Status::ok();
}

Status PlacementMap::set_intent(std::uint64_t extent, const std::string& copy_pool) {
    std::lock_guard changing(change_mutex_);
    const std::string key = intent_key(extent);
    const std::string value = std::string(kCopyPrefix) + copy_pool;
    const std::string what = "record migration intent of extent " + extent_key(extent);
    // Stored must be what this map holds (an absent key compares equal to the empty value), and
    // that must be no intent or this one: an intent naming another pool is never replaced.
    std::string expected;
    if (const auto held = intent(extent)) {
        if (*held != copy_pool) {
            return Status::error(-EEXIST, what + " for pool " + copy_pool + " in " + io_.where() +
                                              "/" + oid_ + ": its intent names a copy in " + *held +
                                              ", to be removed first");
        }
        expected = value;
    }
    Status s = fenced_write(
        what,
        [&](rados_write_op_t op, int* cmp_rval) {
            rados_write_op_omap_cmp(op, key.c_str(), LIBRADOS_CMPXATTR_OP_EQ, expected.data(),
                                    expected.size(), cmp_rval);
            const char* keys[] = {key.c_str()};
            const size_t key_lens[] = {key.size()};
            const char* vals[] = {value.data()};
            const size_t val_lens[] = {value.size()};
            rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
        },
        [&] { intents_[extent] = copy_pool; });
    return s;
}

Status PlacementMap::confirm_intent(std::uint64_t extent, const std::string& copy_pool) {
    const std::string key = extent_key(extent);
    const std::string intent = intent_key(extent);
    const std::string context = "confirm the intent of extent " + key + " for its copy in " +
                                copy_pool + " in " + io_.where() + "/" + oid_;
    std::string entry_value;  // as stored: an absent key compares equal to the empty value
    {
        std::lock_guard lock(mutex_);
        if (!fenced_)
            return Status::error(-ESTALE, context + ": this gateway does not own the LUN");
        const auto held = intents_.find(extent);
        if (held == intents_.end() || held->second != copy_pool) {
            return Status::error(-ECANCELED, context + ": the map holds no such intent");
        }
        if (const auto it = entries_.find(extent); it != entries_.end()) {
            entry_value = it->second.encode();
        }
    }
    const std::string intent_value = std::string(kCopyPrefix) + copy_pool;
    ReadOp op(rados_create_read_op());
    if (!op) return Status::error(-ENOMEM, context);
    char* reply = nullptr;
    size_t reply_len = 0;
    int lock_rval = 0, entry_rval = 0, intent_rval = 0;
    rados_read_op_exec(op.get(), "lock", "assert_locked", assertion_.data(), assertion_.size(),
                       &reply, &reply_len, &lock_rval);
    rados_read_op_omap_cmp(op.get(), key.c_str(), LIBRADOS_CMPXATTR_OP_EQ, entry_value.data(),
                           entry_value.size(), &entry_rval);
    rados_read_op_omap_cmp(op.get(), intent.c_str(), LIBRADOS_CMPXATTR_OP_EQ, intent_value.data(),
                           intent_value.size(), &intent_rval);
    const int rc = rados_read_op_operate(op.get(), io_.handle(), oid_.c_str(), 0);
    if (reply != nullptr) rados_buffer_free(reply);
    if (lock_rval < 0) {
        std::lock_guard lock(mutex_);
        fenced_ = false;
        return Status::error(-ESTALE, context + ": this gateway no longer owns the LUN (" +
                                          Status::error(lock_rval, "lock").message() + ")");
    }
    if (entry_rval < 0 || intent_rval < 0) {
        return Status::error(-ECANCELED, context + ": the map as stored " +
                                             (entry_rval < 0 ? "puts the extent elsewhere"
                                                             : "holds another intent") +
                                             " than this gateway's (reload it)");
    }
    if (rc < 0) return Status::error(rc, context);
    return Status::ok();
}

Status PlacementMap::clear_intent(std::uint64_t extent) {
    std::lock_guard changing(change_mutex_);
    const std::string key = intent_key(extent);
    Status s = fenced_write(
        "clear migration intent of extent " + extent_key(extent),
        [&](rados_write_op_t op, int*) {
            const char* keys[] = {key.c_str()};
            const size_t key_lens[] = {key.size()};
            rados_write_op_omap_rm_keys2(op, keys, key_lens, 1);
        },
        [&] { intents_.erase(extent); });
    return s;
}

NotifyOutcome PlacementMap::notify_commit(std::uint64_t extent) {
    // Tell other gateways (watchers of the map object) to reload; they acknowledge after they
    // have. Who did not is kept for the caller (and `rbdtier status`).
    NotifyOutcome outcome = notify_watchers(io_, oid_, extent_key(extent), kCommitNotifyTimeout);
    std::lock_guard lock(mutex_);
    last_notify_ = outcome;
    return outcome;
}

NotifyOutcome PlacementMap::probe_watchers() const {
    return notify_watchers(io_, oid_, kWatcherProbePayload, kProbeNotifyTimeout);
}

NotifyOutcome PlacementMap::last_notify() const {
    std::lock_guard lock(mutex_);
    return last_notify_;
}

}  // namespace rbdtier::ceph
