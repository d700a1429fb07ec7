#include "ceph/resource_monitor.h"

#include <fcntl.h>
#include <rados/librados.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "ceph/io_context.h"

namespace rbdtier::ceph {
namespace {

// A reply buffer from librados, freed with rados_buffer_free.
struct RadosBuffer {
    char* data = nullptr;
    std::size_t length = 0;
    RadosBuffer() = default;
    RadosBuffer(const RadosBuffer&) = delete;
    RadosBuffer& operator=(const RadosBuffer&) = delete;
    ~RadosBuffer() {
        if (data != nullptr) rados_buffer_free(data);
    }
    // Parsed in place (no copy of the reply); null when there is none or it is not JSON.
    nlohmann::json json() const {
        if (data == nullptr) return nullptr;
        auto j = nlohmann::json::parse(data, data + length, nullptr, false);
        return j.is_discarded() ? nlohmann::json(nullptr) : j;
    }
};

// The reply of a monitor command given as its JSON text; null when it failed.
nlohmann::json mon_command(const Cluster& cluster, const char* text) {
    const char* cmd[] = {text};
    RadosBuffer out, status;
    const int rc = rados_mon_command(cluster.handle(), cmd, 1, nullptr, 0, &out.data, &out.length,
                                     &status.data, &status.length);
    return rc < 0 ? nlohmann::json(nullptr) : out.json();
}

nlohmann::json mon_command(const Cluster& cluster, const nlohmann::json& command) {
    return mon_command(cluster, command.dump().c_str());
}

// The commands a steady sample sends, written once.
constexpr const char* kMgrStat = R"({"prefix":"mgr stat","format":"json"})";
constexpr const char* kDf = R"({"prefix":"df","format":"json"})";
constexpr const char* kOsdPerfDump = R"({"prefix":"perf dump","logger":"osd"})";

// A count from a number of a reply: 0 for a negative one, the largest count for one past it.
std::uint64_t count_of(double v) {
    if (!(v > 0)) return 0;
    if (v >= 18446744073709551616.0) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(v);
}

// An OSD's own statfs counters, from its `perf dump` of the "osd" logger.
struct OsdStatfs {
    std::uint64_t total = 0, used = 0, avail = 0;
};

// Reads the three statfs counters of a `perf dump` reply as it is parsed, without building the
// document (a few KiB, some hundred counters): the numbers of "osd"'s own keys stat_bytes,
// stat_bytes_used and stat_bytes_avail. Found is false unless "osd" is there.
class OsdStatfsReader {
public:
    using json = nlohmann::json;
    OsdStatfs statfs;
    bool found = false;

    bool null() { return value_seen(); }
    bool boolean(bool) { return value_seen(); }
    bool number_integer(json::number_integer_t v) {
        return number(v > 0 ? static_cast<std::uint64_t>(v) : 0);
    }
    bool number_unsigned(json::number_unsigned_t v) { return number(v); }
    bool number_float(json::number_float_t v, const json::string_t&) { return number(count_of(v)); }
    bool string(json::string_t&) { return value_seen(); }
    bool binary(json::binary_t&) { return value_seen(); }
    bool start_object(std::size_t) {
        if (depth_ == 1 && key_ == Key::kOsd) {
            found = true;
            in_osd_ = true;
        }
        ++depth_;
        key_ = Key::kOther;
        return true;
    }
    bool end_object() {
        --depth_;
        if (depth_ == 1) in_osd_ = false;
        return true;
    }
    bool start_array(std::size_t) {
        ++depth_;
        key_ = Key::kOther;
        return true;
    }
    bool end_array() {
        --depth_;
        return true;
    }
    bool key(json::string_t& k) {
        if (depth_ == 1)
            key_ = k == "osd" ? Key::kOsd : Key::kOther;
        else if (depth_ == 2 && in_osd_)
            key_ = k == "stat_bytes"         ? Key::kTotal
                   : k == "stat_bytes_used"  ? Key::kUsed
                   : k == "stat_bytes_avail" ? Key::kAvail
                                             : Key::kOther;
        else
            key_ = Key::kOther;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

private:
    enum class Key { kOther, kOsd, kTotal, kUsed, kAvail };
    bool value_seen() {
        key_ = Key::kOther;
        return true;
    }
    bool number(std::uint64_t v) {
        if (depth_ == 2 && in_osd_) {
            if (key_ == Key::kTotal) statfs.total = v;
            if (key_ == Key::kUsed) statfs.used = v;
            if (key_ == Key::kAvail) statfs.avail = v;
        }
        return value_seen();
    }
    int depth_ = 0;
    bool in_osd_ = false;
    Key key_ = Key::kOther;
};

// The statfs counters of `osd`; nullopt when it did not answer with them.
std::optional<OsdStatfs> osd_statfs(const Cluster& cluster, int osd) {
    const char* cmd[] = {kOsdPerfDump};
    RadosBuffer out, status;
    const int rc = rados_osd_command(cluster.handle(), osd, cmd, 1, nullptr, 0, &out.data,
                                     &out.length, &status.data, &status.length);
    if (rc < 0 || out.data == nullptr) return std::nullopt;
    OsdStatfsReader reader;
    if (!nlohmann::json::sax_parse(out.data, out.data + out.length, &reader) || !reader.found)
        return std::nullopt;
    return reader.statfs;
}

std::uint64_t u64(const nlohmann::json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
    return count_of(j[key].get<double>());
}

// Every OSD below `node` in a `osd crush tree` reply.
void collect_osds(const nlohmann::json& nodes, int node, std::vector<int>& out, int depth = 0) {
    if (node >= 0) {
        out.push_back(node);
        return;
    }
    if (depth > 16) return;  // a malformed tree must not recurse forever
    for (const auto& n : nodes) {
        if (n.value("id", 0) != node || !n.contains("children")) continue;
        for (const auto& c : n["children"])
            if (c.is_number_integer()) collect_osds(nodes, c.get<int>(), out, depth + 1);
    }
}

// Up to `size` bytes of the file at `path` into `out`; how many (0 when it cannot be read).
std::size_t read_small_file(const char* path, char* out, std::size_t size) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    std::size_t length = 0;
    while (length < size) {
        const ssize_t n = ::read(fd, out + length, size - length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        length += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return length;
}

std::uint64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

GatewayResources gateway_resources_now() {
    GatewayResources g;
    // Read into a buffer on the stack and parsed in place: a sample allocates nothing here.
    char text[1024];
    std::size_t length = read_small_file("/proc/self/stat", text, sizeof text);
    // The command name (field 2) may hold spaces: fields are counted after its last ')'.
    const char* const close = static_cast<const char*>(::memrchr(text, ')', length));
    if (close != nullptr) {
        const char* p = close + 1;
        const char* const end = text + length;
        unsigned long long utime = 0, stime = 0;
        for (int field = 3; field <= 15 && p < end; ++field) {
            while (p < end && *p == ' ') ++p;
            const char* const start = p;
            while (p < end && *p != ' ') ++p;
            if (field == 14) std::from_chars(start, p, utime);
            if (field == 15) std::from_chars(start, p, stime);
        }
        const long ticks = ::sysconf(_SC_CLK_TCK);
        if (ticks > 0) g.cpu_seconds = static_cast<double>(utime + stime) / ticks;
    }
    length = read_small_file("/proc/self/statm", text, sizeof text);
    unsigned long long size = 0, resident = 0;
    const char* const end = text + length;
    const auto [after_size, size_error] = std::from_chars(text, end, size);
    if (size_error == std::errc() && after_size < end &&
        std::from_chars(after_size + 1, end, resident).ec == std::errc()) {
        const long page = ::sysconf(_SC_PAGESIZE);
        g.vm_bytes = size * static_cast<unsigned long long>(page);
        g.rss_bytes = resident * static_cast<unsigned long long>(page);
    }
    return g;
}

GatewayReading GatewayReadings::read(std::uint64_t now) {
    std::lock_guard lock(mutex_);
    if (!last_ || now >= last_->at_us + period_us_)
        last_ = GatewayReading{gateway_resources_now(), now};
    return *last_;
}

GatewayReading GatewayReadings::read() {
    return read(now_us());
}

std::shared_ptr<GatewayReadings> GatewayReadings::process() {
    static const auto readings = std::make_shared<GatewayReadings>();
    return readings;
}

std::optional<PoolResources> PoolSampleCache::find(
    const std::string& fsid, const std::string& pool,
    std::chrono::steady_clock::time_point now) const {
    return find(Key{fsid, pool}, now);
}

std::optional<PoolResources> PoolSampleCache::find(
    const Key& key, std::chrono::steady_clock::time_point now) const {
    return samples_.find(key, now);
}

void PoolSampleCache::store(const std::string& fsid, PoolResources sample,
                            std::chrono::steady_clock::time_point now) {
    Key key{fsid, sample.pool};
    samples_.store(key, std::move(sample), now);
}

std::size_t PoolSampleCache::size() const {
    return samples_.size();
}

std::shared_ptr<PoolSampleCache> PoolSampleCache::process() {
    static const auto cache = std::make_shared<PoolSampleCache>(kProcessMaxAge);
    return cache;
}

ResourceMonitor::ResourceMonitor(const Cluster& cluster, std::vector<std::string> pools,
                                 std::shared_ptr<PoolSampleCache> shared,
                                 std::shared_ptr<GatewayReadings> readings)
    : cluster_(cluster),
      pools_(std::move(pools)),
      shared_(std::move(shared)),
      readings_(std::move(readings)) {
    if (shared_) {
        char fsid[64] = {};
        // Without the cluster's id the samples cannot be told from another cluster's.
        if (rados_cluster_fsid(cluster_.handle(), fsid, sizeof fsid - 1) < 0) {
            shared_.reset();
        } else {
            fsid_ = fsid;
            keys_.reserve(pools_.size());
            for (const std::string& pool : pools_) keys_.emplace_back(fsid_, pool);
        }
    }
    known_.resize(pools_.size());
    size_commands_.reserve(pools_.size());
    for (const std::string& pool : pools_) {
        size_commands_.push_back(nlohmann::json{
            {"prefix", "osd pool get"},
            {"pool", pool},
            {"var", "size"},
            {"format", "json"}}.dump());
    }
}

const std::vector<int>& ResourceMonitor::osds_of(const std::string& pool) {
    static const std::vector<int> kNone;
    if (auto it = osds_.find(pool); it != osds_.end()) return it->second;
    std::vector<int> osds;
    const auto rule = mon_command(
        cluster_,
        {{"prefix", "osd pool get"}, {"pool", pool}, {"var", "crush_rule"}, {"format", "json"}});
    if (!rule.is_object() || !rule.contains("crush_rule") || !rule["crush_rule"].is_string()) {
        return kNone;  // not cached: the monitors may answer next time
    }
    const auto dump = mon_command(
        cluster_,
        {{"prefix", "osd crush rule dump"}, {"name", rule["crush_rule"]}, {"format", "json"}});
    const auto tree = mon_command(
        cluster_, {{"prefix", "osd crush tree"}, {"shadow", "--show-shadow"}, {"format", "json"}});
    if (!dump.is_object() || !dump.contains("steps") || !tree.is_object() ||
        !tree.contains("nodes")) {
        return kNone;
    }
    for (const auto& step : dump["steps"]) {
        if (step.value("op", "") == "take" && step.contains("item") &&
            step["item"].is_number_integer()) {
            collect_osds(tree["nodes"], step["item"].get<int>(), osds);
        }
    }
    return osds_[pool] = std::move(osds);
}

PoolResources ResourceMonitor::sample_pool(std::size_t index,
                                           const std::map<std::string, DfEntry>& df) {
    const std::string& pool = pools_[index];
    PoolResources r;
    r.pool = pool;
    if (auto io = IoContext::open(cluster_, pool)) {
        rados_pool_stat_t st{};
        if (rados_ioctx_pool_stat(io->handle(), &st) == 0) r.objects = st.num_objects;
    }
    if (auto it = df.find(pool); it != df.end() && (it->second.stored + it->second.max_avail) > 0) {
        r.stored_bytes = it->second.stored;
        r.objects = std::max(r.objects, it->second.objects);
        r.max_avail_bytes = it->second.max_avail;
        r.source = "df";
        return r;
    }
    // No manager statistics: the OSDs' own statfs, per replica.
    const auto size_reply = mon_command(cluster_, size_commands_[index].c_str());
    const std::uint64_t replicas = std::max<std::uint64_t>(1, u64(size_reply, "size"));
    std::uint64_t total = 0, used = 0, avail = 0;
    int answered = 0;
    for (int osd : osds_of(pool)) {
        // The OSD's own counters only: its whole dump is several times that.
        const std::optional<OsdStatfs> statfs = osd_statfs(cluster_, osd);
        if (!statfs) continue;
        total += statfs->total;
        used += statfs->used;
        avail += statfs->avail;
        ++answered;
    }
    if (answered == 0 || total == 0) return r;
    r.stored_bytes = used / replicas;
    r.max_avail_bytes = avail / replicas;
    r.source = "osd statfs";
    return r;
}

ResourceSample ResourceMonitor::sample() {
    ResourceSample s;
    s.unix_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    // The pools another monitor of the process sampled recently are taken from it.
    const auto now_steady = std::chrono::steady_clock::now();
    bool all_known = true;
    for (std::size_t i = 0; i < pools_.size(); ++i) {
        known_[i] = shared_ ? shared_->find(keys_[i], now_steady) : std::nullopt;
        all_known = all_known && known_[i].has_value();
    }
    std::map<std::string, DfEntry> df;
    if (!all_known) {
        // `df` answers from the manager's statistics; with no active manager the monitor still
        // answers, from the last statistics it had, which never change again: ask the OSDs then.
        const auto mgr = mon_command(cluster_, kMgrStat);
        const bool mgr_active = mgr.is_object() && mgr.contains("available") &&
                                mgr["available"].is_boolean() && mgr["available"].get<bool>();
        const auto reply = mgr_active ? mon_command(cluster_, kDf) : nlohmann::json();
        if (reply.is_object() && reply.contains("pools") && reply["pools"].is_array()) {
            for (const auto& p : reply["pools"]) {
                if (!p.contains("name") || !p["name"].is_string() || !p.contains("stats")) continue;
                const auto& st = p["stats"];
                DfEntry e;
                e.stored = st.contains("stored") ? u64(st, "stored") : u64(st, "bytes_used");
                e.objects = u64(st, "objects");
                e.max_avail = u64(st, "max_avail");
                df[p["name"].get<std::string>()] = e;
            }
        }
    }
    s.pools.reserve(pools_.size());
    for (std::size_t i = 0; i < pools_.size(); ++i) {
        if (known_[i]) {
            s.pools.push_back(std::move(*known_[i]));
            continue;
        }
        s.pools.push_back(sample_pool(i, df));
        // A pool nothing answered for is asked again by the next monitor.
        if (shared_ && s.pools.back().known())
            shared_->store(fsid_, s.pools.back(), std::chrono::steady_clock::now());
    }

    // Cores used between this monitor's last reading and this one, by the readings' own times;
    // the same reading as last time keeps the cores it gave.
    const GatewayReading reading = readings_->read();
    s.gateway = reading.resources;
    if (last_cpu_seconds_ >= 0 && reading.at_us > last_sample_us_) {
        last_cpu_cores_ = (s.gateway.cpu_seconds - last_cpu_seconds_) /
                          (static_cast<double>(reading.at_us - last_sample_us_) / 1e6);
    }
    s.gateway.cpu_cores = last_cpu_cores_;
    last_cpu_seconds_ = s.gateway.cpu_seconds;
    last_sample_us_ = reading.at_us;
    return s;
}

}  // namespace rbdtier::ceph
