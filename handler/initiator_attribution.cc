#include "handler/initiator_attribution.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <set>
#include <sstream>
#include <system_error>

#include "common/log.h"

namespace rbdtier {

namespace fs = std::filesystem;

namespace {

// The whole of a small file, or false with `error`.
bool read_small_file(const fs::path& path, std::string& text, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot read " + path.string() + ": " + std::strerror(errno);
        return false;
    }
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) {
        error = "cannot read " + path.string();
        return false;
    }
    text = s.str();
    return true;
}

// A configfs counter: decimal digits and a trailing newline, nothing else.
bool read_counter(const fs::path& path, std::uint64_t& value, std::string& error) {
    std::string text;
    if (!read_small_file(path, text, error)) return false;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::uint64_t v = 0;
    bool ok = !text.empty() && text.size() <= 20;
    for (char ch : text) {
        if (ch < '0' || ch > '9') {
            ok = false;
            break;
        }
        const std::uint64_t digit = static_cast<std::uint64_t>(ch - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            ok = false;
            break;
        }
        v = v * 10 + digit;
    }
    if (!ok) {
        std::string shown = text.substr(0, 32);
        for (char& ch : shown)
            if (ch < ' ' || ch > '~') ch = '?';
        error = path.string() + " holds '" + shown + "', not a counter";
        return false;
    }
    value = v;
    return true;
}

// The subdirectories of `dir` (none when it cannot be read).
std::vector<fs::path> subdirs(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_directory(type_ec) && !it->is_symlink(type_ec)) out.push_back(it->path());
    }
    return out;
}

// Where the symbolic links directly in `dir` lead (canonical; broken ones left out).
std::vector<fs::path> link_targets(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code link_ec;
        if (!it->is_symlink(link_ec)) continue;
        fs::path target = fs::canonical(it->path(), link_ec);
        if (!link_ec) out.push_back(std::move(target));
    }
    return out;
}

bool starts_with(const std::string& s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

BackstoreLookup backstore_of_uio(const std::string& uio_class_root, const std::string& uio_name) {
    BackstoreLookup out;
    if (uio_name.empty() || uio_name.find('/') != std::string::npos) {
        out.error = "no UIO device name";
        return out;
    }
    std::string text;
    const fs::path file = fs::path(uio_class_root) / uio_name / "name";
    if (!read_small_file(file, text, out.error)) return out;
    // "tcm-user/<hba>/<name>/<cfgstring>": the cfgstring may hold '/', the others do not.
    constexpr std::string_view kPrefix = "tcm-user/";
    const std::size_t hba_end = text.find('/', kPrefix.size());
    const std::size_t name_end =
        hba_end == std::string::npos ? std::string::npos : text.find('/', hba_end + 1);
    if (!starts_with(text, kPrefix) || name_end == std::string::npos) {
        out.error = file.string() + " is not 'tcm-user/<hba>/<name>/<config>'";
        return out;
    }
    const std::string hba = text.substr(kPrefix.size(), hba_end - kPrefix.size());
    const std::string name = text.substr(hba_end + 1, name_end - hba_end - 1);
    if (hba.empty() || name.empty() || name == "." || name == ".." ||
        !std::all_of(hba.begin(), hba.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        out.error = file.string() + " is not 'tcm-user/<hba>/<name>/<config>'";
        return out;
    }
    out.backstore = "core/user_" + hba + "/" + name;
    return out;
}

const char* to_string(AttributionKind kind) noexcept {
    switch (kind) {
        case AttributionKind::kExact:
            return "exact";
        case AttributionKind::kApportioned:
            return "apportioned";
        default:
            return "shared";
    }
}

InitiatorAttribution::InitiatorAttribution(std::string configfs_root, std::string backstore,
                                           InitiatorNames* names, std::string log_lun)
    : root_(std::move(configfs_root)),
      backstore_(std::move(backstore)),
      names_(names),
      log_lun_(std::move(log_lun)) {
    report_.backstore = (fs::path(root_) / backstore_).string();
}

InitiatorAttribution::~InitiatorAttribution() {
    stop();
}

bool InitiatorAttribution::discover(std::vector<Mapped>& out, std::string& problem) const {
    std::error_code ec;
    const fs::path backstore = fs::canonical(fs::path(root_) / backstore_, ec);
    if (ec) {
        problem = "no backstore " + (fs::path(root_) / backstore_).string() + " in configfs";
        return false;
    }
    bool any_fabric_lun = false;
    for (const fs::path& fabric : subdirs(root_)) {
        if (fabric.filename() == "core") continue;
        for (const fs::path& wwn : subdirs(fabric)) {
            for (const fs::path& tpg : subdirs(wwn)) {
                if (!starts_with(tpg.filename().string(), "tpgt_")) continue;
                // The TPG's LUNs that are this backstore.
                std::set<fs::path> luns;
                for (const fs::path& lun : subdirs(tpg / "lun")) {
                    for (const fs::path& target : link_targets(lun)) {
                        if (target != backstore) continue;
                        std::error_code lun_ec;
                        fs::path canonical_lun = fs::canonical(lun, lun_ec);
                        if (!lun_ec) luns.insert(std::move(canonical_lun));
                    }
                }
                if (luns.empty()) continue;
                any_fabric_lun = true;
                // The ACLs that map one of them.
                for (const fs::path& acl : subdirs(tpg / "acls")) {
                    for (const fs::path& mapped : subdirs(acl)) {
                        if (!starts_with(mapped.filename().string(), "lun_")) continue;
                        for (const fs::path& target : link_targets(mapped)) {
                            if (luns.count(target) == 0) continue;
                            out.push_back({(mapped / "statistics" / "scsi_auth_intr").string(),
                                           acl.filename().string()});
                            break;
                        }
                    }
                }
            }
        }
    }
    if (out.empty()) {
        problem = any_fabric_lun ? "no ACL maps the LUN (a demo-mode TPG does not say who sends)"
                                 : "no fabric LUN exports the backstore";
        return false;
    }
    return true;
}

void InitiatorAttribution::publish(
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& shares) noexcept {
    const std::uint32_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    const std::size_t n = std::min(shares.size(), kMaxShares);
    for (std::size_t i = 0; i < n; ++i) {
        ids_[i].store(shares[i].first, std::memory_order_relaxed);
        upto_[i].store(shares[i].second, std::memory_order_relaxed);
    }
    count_.store(static_cast<std::uint32_t>(n), std::memory_order_relaxed);
    seq_.store(s + 2, std::memory_order_release);
}

std::uint32_t InitiatorAttribution::next() noexcept {
    for (;;) {
        const std::uint32_t s = seq_.load(std::memory_order_acquire);
        if ((s & 1) != 0) continue;  // a sample is publishing (a few stores)
        const std::uint32_t n = count_.load(std::memory_order_relaxed);
        std::uint32_t id = 0;
        if (n == 1) {
            id = ids_[0].load(std::memory_order_relaxed);
        } else if (n > 1) {
            // Fractions of k * golden ratio: equidistributed with low discrepancy, so the
            // commands split in the published shares however few there are.
            const std::uint64_t k = picks_.fetch_add(1, std::memory_order_relaxed);
            const auto u = static_cast<std::uint32_t>((k * 0x9E3779B97F4A7C15ull) >> 48);
            for (std::uint32_t i = 0; i < n && i < kMaxShares; ++i) {
                id = ids_[i].load(std::memory_order_relaxed);
                if (u < upto_[i].load(std::memory_order_relaxed)) break;
            }
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq_.load(std::memory_order_relaxed) == s) return id;
    }
}

void InitiatorAttribution::note_problem(const std::string& problem) {
    if (problem == logged_problem_) return;
    if (problem.empty()) {
        RBDTIER_LOG_INFO(log_lun_, "initiator attribution from configfs works again");
    } else {
        RBDTIER_LOG_WARNING(log_lun_, "commands counted as from the shared initiator: " << problem);
    }
    logged_problem_ = problem;
}

void InitiatorAttribution::sample() {
    std::vector<Mapped> mapped;
    std::string problem;
    std::vector<std::pair<Mapped, Reading>> readings;
    if (discover(mapped, problem)) {
        for (Mapped& m : mapped) {
            Reading r;
            const fs::path dir(m.counters_dir);
            std::string error;
            if (!read_counter(dir / "num_cmds", r.num_cmds, error) ||
                !read_counter(dir / "read_mbytes", r.read_mib, error) ||
                !read_counter(dir / "write_mbytes", r.write_mib, error)) {
                problem = error;
                break;
            }
            readings.emplace_back(std::move(m), r);
        }
    }

    std::lock_guard lock(mutex_);
    ++report_.samples;
    if (!problem.empty()) {
        // Shared until the counters can be read again; the baselines are kept.
        publish({});
        report_.kind = AttributionKind::kShared;
        report_.problem = problem;
        report_.initiators.clear();
        note_problem(problem);
        return;
    }
    std::map<std::string, Reading> baseline;
    std::vector<InitiatorCounters> initiators;
    std::uint64_t total_delta = 0;
    std::size_t moved = 0;
    for (auto& [m, r] : readings) {
        InitiatorCounters c;
        c.id = name_id(m.name.c_str());
        c.name = m.name;
        c.num_cmds = r.num_cmds;
        c.read_mib = r.read_mib;
        c.write_mib = r.write_mib;
        auto seen = baseline_.find(m.counters_dir);
        if (seen != baseline_.end()) {
            const Reading& b = seen->second;
            const bool backwards =
                r.num_cmds < b.num_cmds || r.read_mib < b.read_mib || r.write_mib < b.write_mib;
            if (!backwards) {
                c.cmds_delta = r.num_cmds - b.num_cmds;
                // MiB moved without a command counted (cannot happen in LIO): weigh it as one.
                if (c.cmds_delta == 0 && (r.read_mib != b.read_mib || r.write_mib != b.write_mib))
                    c.cmds_delta = 1;
            }
        }
        if (names_ != nullptr) names_->note(c.id, c.name.c_str());
        if (c.cmds_delta > 0) {
            ++moved;
            total_delta += c.cmds_delta;
        }
        baseline[m.counters_dir] = r;
        initiators.push_back(std::move(c));
    }
    baseline_ = std::move(baseline);
    report_.problem.clear();
    note_problem("");
    if (moved == 0) {
        // Idle: the last attribution stays; the totals are refreshed.
        for (InitiatorCounters& c : initiators)
            for (const InitiatorCounters& old : report_.initiators)
                if (old.id == c.id) c.share = old.share;
        report_.initiators = std::move(initiators);
        return;
    }
    // The largest movers, at most kMaxShares, share the commands in proportion.
    std::vector<const InitiatorCounters*> movers;
    for (const InitiatorCounters& c : initiators)
        if (c.cmds_delta > 0) movers.push_back(&c);
    std::stable_sort(movers.begin(), movers.end(),
                     [](const auto* a, const auto* b) { return a->cmds_delta > b->cmds_delta; });
    if (movers.size() > kMaxShares) {
        movers.resize(kMaxShares);
        total_delta = 0;
        for (const auto* c : movers) total_delta += c->cmds_delta;
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> shares;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < movers.size(); ++i) {
        cumulative += movers[i]->cmds_delta;
        const auto upto = i + 1 == movers.size()
                              ? kShareScale
                              : static_cast<std::uint32_t>(cumulative * kShareScale / total_delta);
        shares.emplace_back(movers[i]->id, upto);
    }
    publish(shares);
    for (InitiatorCounters& c : initiators) {
        c.share = 0;
        for (const auto* m : movers)
            if (m->id == c.id)
                c.share = static_cast<double>(c.cmds_delta) / static_cast<double>(total_delta);
    }
    report_.kind = movers.size() == 1 ? AttributionKind::kExact : AttributionKind::kApportioned;
    report_.initiators = std::move(initiators);
}

AttributionReport InitiatorAttribution::report() const {
    std::lock_guard lock(mutex_);
    return report_;
}

void InitiatorAttribution::start(std::chrono::milliseconds period) {
    std::lock_guard lock(thread_mutex_);
    if (sampler_.joinable()) return;
    stopping_ = false;
    sampler_ = std::thread([this, period] {
        std::unique_lock lock(thread_mutex_);
        while (!stopping_) {
            lock.unlock();
            sample();
            lock.lock();
            wake_.wait_for(lock, period, [this] { return stopping_; });
        }
    });
}

void InitiatorAttribution::stop() {
    std::thread sampler;
    {
        std::lock_guard lock(thread_mutex_);
        stopping_ = true;
        sampler = std::move(sampler_);
    }
    wake_.notify_all();
    if (sampler.joinable()) sampler.join();
}

InitiatorActivity::InitiatorActivity(std::uint64_t lun_bytes, std::uint64_t extent_bytes)
    : extent_bytes_(extent_bytes == 0 ? (4u << 20) : extent_bytes),
      extents_(std::max<std::uint64_t>(1, (lun_bytes + extent_bytes_ - 1) / extent_bytes_)),
      region_extents_((extents_ + kRegions - 1) / kRegions) {}

InitiatorActivity::~InitiatorActivity() {
    for (auto& slot : slots_) delete slot.load(std::memory_order_acquire);
}

InitiatorActivity::Slot* InitiatorActivity::slot_of(std::uint32_t initiator) noexcept {
    const std::uint64_t key = initiator | (std::uint64_t{1} << 32);
    for (auto& slot : slots_) {
        Slot* s = slot.load(std::memory_order_acquire);
        if (s == nullptr) {
            auto* mine = new (std::nothrow) Slot(key);
            if (mine == nullptr) return nullptr;
            if (slot.compare_exchange_strong(s, mine, std::memory_order_acq_rel)) return mine;
            delete mine;  // another thread claimed this slot first: `s` is its counters
        }
        if (s->key == key) return s;
    }
    return nullptr;
}

std::size_t InitiatorActivity::tracked_initiators() const noexcept {
    std::size_t n = 0;
    for (const auto& slot : slots_) n += slot.load(std::memory_order_acquire) != nullptr;
    return n;
}

void InitiatorActivity::record(std::uint32_t initiator, bool write, bool data, std::uint64_t offset,
                               std::uint64_t length) noexcept {
    Slot* s = slot_of(initiator);
    if (s == nullptr) {
        untracked_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    s->commands.fetch_add(1, std::memory_order_relaxed);
    if (data) (write ? s->write_bytes : s->read_bytes).fetch_add(length, std::memory_order_relaxed);
    if (length == 0) return;
    const std::uint64_t last_extent = std::min(extents_ - 1, (offset + length - 1) / extent_bytes_);
    const std::uint64_t first_region =
        std::min(extents_ - 1, offset / extent_bytes_) / region_extents_;
    const std::uint64_t last_region = last_extent / region_extents_;
    for (std::uint64_t r = first_region; r <= last_region && r < kRegions; ++r) {
        std::atomic<std::uint64_t>& word = s->regions[r / 64];
        const std::uint64_t bit = std::uint64_t{1} << (r % 64);
        if ((word.load(std::memory_order_relaxed) & bit) == 0)
            word.fetch_or(bit, std::memory_order_relaxed);
    }
}

std::vector<InitiatorActivity::Entry> InitiatorActivity::entries() const {
    std::vector<Entry> out;
    for (const auto& slot : slots_) {
        const Slot* claimed = slot.load(std::memory_order_acquire);
        if (claimed == nullptr) continue;
        const Slot& s = *claimed;
        const std::uint64_t key = s.key;
        Entry e;
        e.initiator = static_cast<std::uint32_t>(key);
        e.commands = s.commands.load(std::memory_order_relaxed);
        e.read_bytes = s.read_bytes.load(std::memory_order_relaxed);
        e.write_bytes = s.write_bytes.load(std::memory_order_relaxed);
        bool in_run = false;
        for (std::uint64_t r = 0; r < kRegions && r * region_extents_ < extents_; ++r) {
            const bool set = (s.regions[r / 64].load(std::memory_order_relaxed) >> (r % 64)) & 1;
            const std::uint64_t first = r * region_extents_;
            const std::uint64_t last = std::min(extents_, first + region_extents_) - 1;
            if (set && in_run) {
                e.extents.back().second = last;
            } else if (set) {
                e.extents.emplace_back(first, last);
            }
            in_run = set;
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace rbdtier
