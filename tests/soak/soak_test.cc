// The fault soak: randomized I/O on tiered LUNs served by two gateway processes (soak_gateway,
// each loading the real handler_rbdtier.so through the harness) while extents move and faults
// strike, every byte checked against a shadow model.
//
// Three tiered LUNs of two tenants — hdd-a/<name>, hdd-b/<name> (the same image name in two home
// pools) and meta-a/<name>-2, a home image whose header, placement map, settings and pins are in
// meta-a and whose data (the home tier, named hdd-a) is in hdd-a (`rbd create --data-pool`) —
// over nvme-a, nvme-b and the other site's hdd, with the reactive policy, a small nvme-a quota
// and fast rounds, so extents move all the time; the driver also pins ranges to random tiers
// through the `rbdtier` CLI, and after each pin reads the pins kept in RADOS (rbdtier.pins on the
// home image): they must be what the driver set (when the command failed: what they were, or
// what it asked for). It keeps up to kQueueDepth commands in
// flight to the active gateway (READ, WRITE, UNMAP, WRITE SAME with and without UNMAP, COMPARE
// AND WRITE, SYNCHRONIZE CACHE) on ranges that do not overlap, so the model is exact; a write
// whose outcome is unknown (its gateway was killed) leaves both versions possible until the next
// read settles it. Events, drawn from the seed: ALUA handover (the other gateway's next command
// takes the lock and blocklists the first), SIGKILL of a gateway (at a random moment, or by
// the migrator at one of its crash points through RBDTIER_CRASH_AT), an OSD stopped and
// restarted, scrub on either gateway, pins. At the end, while both gateways still run, each LUN's
// pins in RADOS and in both gateways must be what the driver last set, and the owner must carry
// them out: every pinned extent in the tier its pin names (unless that is nvme-a and the LUN's
// tenant holds its whole nvme-a quota there). Then, with both gateways stopped, each LUN is
// taken over once more (intents cleaned), scrubbed, and rebuilt from its map and tier images
// with librbd: it must equal the model, its pins and their placement must still hold, no tier
// image may hold an extent its map does not point at, and the data-pool LUN's extents at home
// must be objects of its data pool, none of its header pool.
//
// RBDTIER_SOAK_SECONDS (default 150), RBDTIER_SOAK_SEED (default: the clock) and
// RBDTIER_SOAK_EVENTS (default "handover,kill,osd,scrub,pin": the kinds drawn) set the run;
// the seed and, on failure, the event log are printed. Needs the cluster fixture's environment.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/extent_pins.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/tiered_lun_store.h"
#include "soak_data.h"

namespace rbdtier::soak {
namespace {

constexpr std::uint32_t kBlock = 512;
constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kLunBytes = 8 * kExtent;
constexpr std::uint64_t kBlocks = kLunBytes / kBlock;
constexpr std::uint64_t kExtents = kLunBytes / kExtent;
constexpr int kQueueDepth = 4;
// Each tenant's quota in nvme-a: pins to nvme-a past it stay unfulfilled.
constexpr std::uint64_t kNvmeAQuota = 2 * kExtent;
const char* const kCrashPoints[] = {"intent", "copy", "verify", "commit", "clean"};

std::string env(const char* name, const std::string& fallback = {}) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : fallback;
}

// ---- the shadow model ---------------------------------------------------------------------

// Every block's bytes. A block whose content is not known exactly — a command on it was lost
// with its gateway, or it was unmapped (tcmu-runner reports LBPRZ=0 and librbd skips partial
// discards, so an unmapped block reads zeros or its old data) — has a set of possible contents
// until a read settles it.
class Model {
public:
    using Block = std::vector<char>;

    Model() : bytes_(kLunBytes, 0) {}

    void write(std::uint64_t lba, const std::vector<char>& data) {
        std::copy(data.begin(), data.end(), bytes_.begin() + lba * kBlock);
        for (std::uint64_t b = 0; b < data.size() / kBlock; ++b) candidates_.erase(lba + b);
    }
    // The blocks hold `data` now, or what they held before.
    void maybe_write(std::uint64_t lba, const std::vector<char>& data) {
        for (std::uint64_t b = 0; b < data.size() / kBlock; ++b) {
            auto& set = candidates_[lba + b];
            if (set.empty()) set.push_back(block(lba + b));
            const Block next(data.begin() + b * kBlock, data.begin() + (b + 1) * kBlock);
            if (std::find(set.begin(), set.end(), next) == set.end()) set.push_back(next);
            std::copy(next.begin(), next.end(), bytes_.begin() + (lba + b) * kBlock);
        }
    }
    bool uncertain(std::uint64_t lba, std::uint64_t blocks) const {
        for (std::uint64_t b = 0; b < blocks; ++b) {
            if (candidates_.count(lba + b) != 0) return true;
        }
        return false;
    }
    std::vector<char> bytes(std::uint64_t lba, std::uint64_t blocks) const {
        return {bytes_.begin() + lba * kBlock, bytes_.begin() + (lba + blocks) * kBlock};
    }
    // Checks block `lba` against the fingerprint of what was read; settles an uncertain block.
    bool check(std::uint64_t lba, std::uint64_t print) {
        auto it = candidates_.find(lba);
        if (it == candidates_.end())
            return fingerprint(bytes_.data() + lba * kBlock, kBlock) == print;
        for (const Block& c : it->second) {
            if (fingerprint(c.data(), kBlock) == print) {
                std::copy(c.begin(), c.end(), bytes_.begin() + lba * kBlock);
                candidates_.erase(it);
                return true;
            }
        }
        return false;
    }

private:
    Block block(std::uint64_t lba) const {
        return {bytes_.begin() + lba * kBlock, bytes_.begin() + (lba + 1) * kBlock};
    }

    std::vector<char> bytes_;
    std::unordered_map<std::uint64_t, std::vector<Block>> candidates_;
};

// ---- a gateway process --------------------------------------------------------------------

class GatewayProcess {
public:
    using Reply = std::function<void(const std::string& status, const std::string& rest)>;

    GatewayProcess(std::string name, std::vector<std::string> luns, std::string conf_path)
        : name_(std::move(name)), luns_(std::move(luns)), conf_path_(std::move(conf_path)) {}
    ~GatewayProcess() { kill(); }

    const std::string& name() const { return name_; }
    bool alive() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

    // Starts it and waits for "ready". crash_at: "" or a migrator crash point.
    bool start(const std::string& crash_at, std::string& why) {
        int to_child[2], from_child[2];
        if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
            why = "pipe";
            return false;
        }
        std::vector<std::string> args = {env("SOAK_GATEWAY"), "--handler", env("HANDLER_SO")};
        for (const auto& l : luns_) {
            args.push_back("--lun");
            args.push_back(l);
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(to_child[0], 0);
            ::dup2(from_child[1], 1);
            ::setenv("RBDTIER_CONF", conf_path_.c_str(), 1);
            if (crash_at.empty()) {
                ::unsetenv("RBDTIER_CRASH_AT");
            } else {
                ::setenv("RBDTIER_CRASH_AT", crash_at.c_str(), 1);
            }
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(to_child[0]);
        ::close(from_child[1]);
        in_ = to_child[1];
        out_ = from_child[0];
        reader_ = std::thread([this] { read_replies(); });
        std::unique_lock lock(mutex_);
        const bool ready =
            cv_.wait_for(lock, std::chrono::seconds(120), [this] { return ready_ || eof_; });
        if (!ready || !ready_) {
            why = name_ + " did not start";
            lock.unlock();
            kill();
            return false;
        }
        return true;
    }

    void send(const std::string& request, std::uint64_t id, Reply reply) {
        {
            std::unique_lock lock(mutex_);
            if (eof_) {  // nobody reads its replies any more: the process is gone
                lock.unlock();
                reply("lost", name_ + " exited");
                return;
            }
            pending_[id] = std::move(reply);
        }
        const std::string line = std::to_string(id) + " " + request + "\n";
        if (::write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            fail_pending("write to " + name_ + " failed");
        }
    }

    // SIGKILL; every command without a reply is answered "lost".
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        close_pipes();
    }

    // Ends its input and waits for a clean exit (then SIGKILL). True if it exited by itself.
    bool stop() {
        if (pid_ <= 0) return true;
        ::close(in_);
        in_ = -1;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        int status = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                close_pipes();
                return WIFEXITED(status) && WEXITSTATUS(status) == 0;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill();
        return false;
    }

    // Reaps a child that died on its own (a crash point); true if it did.
    bool reap_if_dead() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
        pid_ = -1;
        close_pipes();
        return true;
    }

private:
    // Until EOF (the process is gone) or close_pipes() asks it to stop.
    void read_replies() {
        std::string buffer;
        char chunk[65536];
        while (!stop_reading_.load()) {
            pollfd pfd{out_, POLLIN, 0};
            if (::poll(&pfd, 1, 200) <= 0) continue;
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = buffer.find('\n')) != std::string::npos) {
                handle(buffer.substr(0, nl));
                buffer.erase(0, nl + 1);
            }
        }
        // The process is gone (killed, or died at a crash point): nothing in flight will answer.
        fail_pending(name_ + " exited");
        std::lock_guard lock(mutex_);
        eof_ = true;
        cv_.notify_all();
    }
    void handle(const std::string& line) {
        if (line == "ready") {
            std::lock_guard lock(mutex_);
            ready_ = true;
            cv_.notify_all();
            return;
        }
        std::istringstream in(line);
        std::uint64_t id = 0;
        std::string status, rest;
        in >> id >> status;
        std::getline(in, rest);
        if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
        Reply reply;
        {
            std::lock_guard lock(mutex_);
            auto it = pending_.find(id);
            if (it == pending_.end()) return;
            reply = std::move(it->second);
            pending_.erase(it);
        }
        reply(status, rest);
    }
    void fail_pending(const std::string& why) {
        std::map<std::uint64_t, Reply> lost;
        {
            std::lock_guard lock(mutex_);
            lost.swap(pending_);
        }
        for (auto& [id, reply] : lost) reply("lost", why);
    }
    void close_pipes() {
        if (in_ >= 0) ::close(in_);
        in_ = -1;
        stop_reading_.store(true);
        if (reader_.joinable()) reader_.join();
        stop_reading_.store(false);
        if (out_ >= 0) ::close(out_);
        out_ = -1;
        fail_pending(name_ + " is gone");
        std::lock_guard lock(mutex_);
        ready_ = eof_ = false;
    }

    std::string name_;
    std::vector<std::string> luns_;
    std::string conf_path_;
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    std::thread reader_;
    std::atomic<bool> stop_reading_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool ready_ = false, eof_ = false;
    std::map<std::uint64_t, Reply> pending_;
};

// ---- the soak -----------------------------------------------------------------------------

// A LUN: its home image pool/image (its data in data_pool when not empty), its tiers as pools
// joined by '+' (the home tier named by the pool its data is in).
struct LunSpec {
    std::string pool, image, data_pool, tenant, tiers, cfg;

    std::string name() const { return pool + "/" + image; }
    // A range of it in failure messages.
    std::string where(std::uint64_t lba, std::uint64_t blocks) const {
        return name() + " lba " + std::to_string(lba) + "+" + std::to_string(blocks);
    }
    // The pool the home tier's data is in: how pins and tier lists name the home tier.
    std::string home_tier() const { return data_pool.empty() ? pool : data_pool; }
    std::vector<std::string> tier_pools() const {
        std::vector<std::string> pools;
        std::istringstream in(tiers);
        for (std::string t; std::getline(in, t, '+');) pools.push_back(t);
        return pools;
    }
};

// Per extent of a LUN, the pool of the tier it is pinned to ("" where none is).
using ExtentPins = std::vector<std::string>;

ExtentPins expand_pins(const std::vector<ceph::StoredPin>& stored) {
    ExtentPins pins(kExtents);
    for (const auto& p : stored)
        for (std::uint64_t e = p.first; e <= p.last && e < kExtents; ++e) pins[e] = p.pool;
    return pins;
}

// The pins of a `lun show` reply ("pins": [{first_extent, last_extent, tier}, ...]).
std::optional<ExtentPins> shown_pins(const nlohmann::json& show) {
    if (!show.is_object() || !show.contains("pins") || !show["pins"].is_array())
        return std::nullopt;
    ExtentPins pins(kExtents);
    for (const auto& p : show["pins"]) {
        const std::uint64_t first = p.value("first_extent", kExtents);
        const std::uint64_t last = p.value("last_extent", std::uint64_t{0});
        for (std::uint64_t e = first; e <= last && e < kExtents; ++e)
            pins[e] = p.value("tier", std::string("?"));
    }
    return pins;
}

// "0-1:nvme-a 5:hdd-b", or "none".
std::string describe(const ExtentPins& pins) {
    std::string out;
    for (std::uint64_t e = 0; e < pins.size();) {
        std::uint64_t end = e + 1;
        while (end < pins.size() && pins[end] == pins[e]) ++end;
        if (!pins[e].empty()) {
            out += (out.empty() ? "" : " ") + std::to_string(e) +
                   (end - e > 1 ? "-" + std::to_string(end - 1) : "") + ":" + pins[e];
        }
        e = end;
    }
    return out.empty() ? "none" : out;
}

struct Totals {
    std::uint64_t ios = 0, reads_checked = 0, bytes_verified = 0, caw = 0, miscompares = 0;
    std::uint64_t kills = 0, crash_point_deaths = 0, handovers = 0, osd_restarts = 0;
    std::uint64_t scrubs = 0, pins = 0, pins_failed = 0, lost = 0, migrations = 0;
};

class Soak {
public:
    Soak(std::uint64_t seed, double seconds, std::string events)
        : rng_(seed), seed_(seed), seconds_(seconds), events_(std::move(events)) {}

    void run();

private:
    struct InFlight {
        std::size_t lun;
        std::uint64_t lba, blocks;
    };
    void log(const std::string& event) {
        const double t =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "%8.2f ", t);
        std::lock_guard lock(log_mutex_);
        log_.push_back(prefix + event);
    }
    void fail(const std::string& what) {
        {
            std::lock_guard lock(log_mutex_);
            failures_.push_back(what);
        }
        log("FAIL " + what);
    }
    bool failed() {
        std::lock_guard lock(log_mutex_);
        return !failures_.empty();
    }
    std::string run_cli(const std::string& args) {
        const std::string cmd = env("RBDTIER_CLI_PATH") + " " + args + " 2>&1";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[4096];
            while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
            const int rc = ::pclose(p);
            out = "exit " + std::to_string(WEXITSTATUS(rc)) + ": " + out;
        }
        while (!out.empty() && out.back() == '\n') out.pop_back();
        return out;
    }
    // Where a stuck gateway's threads are (gdb, when the machine has it), into the event log.
    void dump_stacks(pid_t pid) {
        const std::string out = run_cli_raw("gdb -p " + std::to_string(pid) +
                                            " -batch -ex 'thread apply all bt 30' 2>/dev/null");
        std::istringstream in(out);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("Thread ", 0) == 0 || line.find("rbdtier::") != std::string::npos ||
                line.find(" rbd_") != std::string::npos ||
                line.find(" rados_") != std::string::npos) {
                log("  " + line.substr(0, 220));
            }
        }
    }
    std::string run_cli_raw(const std::string& cmd) {
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[4096];
            while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
            ::pclose(p);
        }
        return out;
    }
    std::uint64_t pick(std::uint64_t n) {
        return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
    }
    bool overlaps(std::size_t lun, std::uint64_t lba, std::uint64_t blocks) {
        for (const auto& [id, f] : in_flight_) {
            if (f.lun == lun && lba < f.lba + f.blocks && f.lba < lba + blocks) return true;
        }
        return false;
    }
    void issue();
    // Sends `request` on the active gateway for [lba, lba+blocks) of `lun` (mutex_ not held);
    // on_reply runs under mutex_.
    void submit(std::size_t lun, std::uint64_t lba, std::uint64_t blocks,
                const std::string& request,
                std::function<void(const std::string&, const std::string&)> on_reply);
    // A READ on the active gateway, checked against the model when it answers.
    void read(std::size_t lun, std::uint64_t lba, std::uint64_t blocks);
    // A WRITE of fresh data on the active gateway (which takes the LUN's lock: a READ does not),
    // in the model once it answers.
    void write(std::size_t lun, std::uint64_t lba, std::uint64_t blocks);
    bool wait_in_flight(std::size_t limit, std::chrono::seconds deadline);
    void drain() { (void)wait_in_flight(1, std::chrono::seconds(180)); }
    // Reaps a gateway that died at its crash point and restarts every gateway that is not
    // running (without a crash point); the active one is a running one.
    void revive();
    void event();
    // Pins extents [first, last] of LUN `lun` to `tier` ("": unpins them) through the CLI, then
    // checks the pins kept in RADOS against the driver's.
    void pin(std::size_t lun, std::uint64_t first, std::uint64_t last, const std::string& tier);
    // The pins of LUN `lun` as kept in RADOS (its home image's rbdtier.pins); -EINVAL for a
    // value that does not parse.
    ceph::Result<ExtentPins> stored_pins(std::size_t lun);
    // Where each extent of LUN `lun` is by its placement map, named as pins name tiers.
    std::vector<std::string> placement(std::size_t lun, const ceph::PlacementMap& map) const;
    // What does not hold of "each pinned extent is in its pin's tier" in `where` (placement() of
    // every LUN): an extent pinned to nvme-a may stay out while its tenant holds its quota there.
    std::vector<std::string> unfollowed_pins(
        const std::vector<std::vector<std::string>>& where) const;
    // Before the gateways stop: the pins in RADOS, in each gateway and carried out (see the top).
    void check_pins_followed();
    void verify_at_rest();
    // The data-pool LUN at rest: each extent at home is an object of the home image (`home`) in
    // its data pool, and its header pool holds none of them.
    void check_home_data_objects(std::size_t lun, const ceph::Image& home,
                                 const ceph::PlacementMap& map);
    GatewayProcess& active() { return *gateways_[active_]; }
    // Migrations committed by gateway g's current process (`rbdtier status`), kept up to date
    // before it is stopped or killed; counted into the totals when it goes.
    void sample_migrations(std::size_t g);
    void count_migrations(std::size_t g) {
        totals_.migrations += migrations_seen_[g];
        migrations_seen_[g] = 0;
    }
    std::uint64_t migrations_seen_[2] = {0, 0};
    void respawn(std::size_t g, const std::string& crash_at);

    std::mt19937_64 rng_;
    std::uint64_t seed_;
    double seconds_;
    std::string events_;  // the kinds of event drawn (RBDTIER_SOAK_EVENTS)
    std::string crash_only_ = env("RBDTIER_SOAK_CRASH_AT");  // one crash point for every restart
    std::chrono::steady_clock::time_point start_;
    std::string dir_;
    std::vector<LunSpec> luns_;
    std::vector<Model> models_;
    std::vector<ExtentPins> pins_;          // per LUN, what the driver's pin commands set
    std::optional<ceph::Cluster> cluster_;  // the driver's client: pins and maps as in RADOS
    std::vector<std::unique_ptr<GatewayProcess>> gateways_;
    std::vector<std::string> sockets_;
    std::size_t active_ = 0;
    std::uint64_t next_id_ = 1;
    std::mutex mutex_;  // the models, in_flight_, totals_
    std::condition_variable done_;
    std::map<std::uint64_t, InFlight> in_flight_;
    std::vector<std::string> failures_;
    std::mutex log_mutex_;  // log_, failures_
    std::vector<std::string> log_;
    Totals totals_;
};

void Soak::sample_migrations(std::size_t g) {
    if (!gateways_[g]->alive()) return;
    const std::string out = run_cli("status --format json --socket " + sockets_[g]);
    const auto brace = out.find('{');
    if (brace == std::string::npos) return;
    const auto status = nlohmann::json::parse(out.substr(brace), nullptr, false);
    if (!status.is_object() || !status.contains("luns")) return;
    std::uint64_t moved = 0;
    for (const auto& l : status["luns"]) {
        if (l.contains("engine") && l["engine"].is_object()) {
            moved += l["engine"].value("moved", std::uint64_t{0});
        }
    }
    migrations_seen_[g] = std::max(migrations_seen_[g], moved);
}

void Soak::revive() {
    for (std::size_t g = 0; g < gateways_.size(); ++g) {
        if (gateways_[g]->reap_if_dead()) {  // died at a crash point
            count_migrations(g);
            ++totals_.crash_point_deaths;
            log(gateways_[g]->name() + " died at its crash point");
            drain();
            if (g == active_ && gateways_[1 - g]->alive()) active_ = 1 - g;
            respawn(g, "");
        }
    }
    if (!active().alive() && gateways_[1 - active_]->alive()) active_ = 1 - active_;
    for (std::size_t g = 0; g < gateways_.size(); ++g) {
        if (!gateways_[g]->alive()) respawn(g, "");
    }
}

void Soak::respawn(std::size_t g, const std::string& crash_at) {
    std::string why;
    if (!gateways_[g]->start(crash_at, why)) fail("restart " + gateways_[g]->name() + ": " + why);
    log("start " + gateways_[g]->name() + (crash_at.empty() ? "" : " crash_at=" + crash_at));
}

// One command on a random LUN and range that no command in flight touches.
void Soak::issue() {
    const std::size_t lun = pick(luns_.size());
    const int op = static_cast<int>(pick(100));
    std::uint64_t blocks = 1 + pick(op < 90 ? 128 : 8);
    std::uint64_t lba = pick(kBlocks - blocks + 1);
    if (pick(4) == 0) {  // across an extent boundary
        const std::uint64_t boundary = (1 + pick(kLunBytes / kExtent - 1)) * (kExtent / kBlock);
        lba = boundary - std::min<std::uint64_t>(boundary, 1 + pick(blocks));
    }
    std::unique_lock lock(mutex_);
    if (overlaps(lun, lba, blocks)) return;
    std::string request;
    std::function<void(const std::string&, const std::string&)> on_reply;
    Model& model = models_[lun];
    const std::string where = luns_[lun].where(lba, blocks);
    if (op < 75) {
        lock.unlock();
        if (op < 40)
            read(lun, lba, blocks);
        else
            write(lun, lba, blocks);
        return;
    }
    if (op < 82) {  // UNMAP: zeros after
        request =
            "u " + std::to_string(lun) + " " + std::to_string(lba) + " " + std::to_string(blocks);
        std::vector<char> zeros(blocks * kBlock, 0);
        on_reply = [this, &model, lba, zeros, where](const std::string& st,
                                                     const std::string& rest) {
            model.maybe_write(lba, zeros);  // zeros or the old data, even when it succeeded
            if (st != "ok" && st != "lost") fail("unmap " + where + ": " + st + " " + rest);
        };
    } else if (op < 90) {  // WRITE SAME, sometimes of zeros with UNMAP
        // The UNMAP bit only with zeros: tcmu-runner unmaps an aligned range whatever the data.
        const bool zero = pick(3) == 0;
        const std::uint64_t seed = zero ? 0 : rng_() | 1;
        request = "s " + std::to_string(lun) + " " + std::to_string(lba) + " " +
                  std::to_string(blocks) + " " + std::to_string(seed) + " " + (zero ? "1" : "0");
        const auto block = seed == 0 ? std::vector<char>(kBlock, 0) : block_pattern(seed, kBlock);
        std::vector<char> data;
        for (std::uint64_t b = 0; b < blocks; ++b)
            data.insert(data.end(), block.begin(), block.end());
        on_reply = [this, &model, lba, data, zero, where](const std::string& st,
                                                          const std::string& rest) {
            if (st == "ok" && !zero) {
                model.write(lba, data);
            } else {
                model.maybe_write(lba, data);  // with UNMAP, zeros or the old data
                if (st != "ok" && st != "lost") {
                    fail("write same " + where + ": " + st + " " + rest);
                }
            }
        };
    } else if (op < 97) {  // COMPARE AND WRITE of one block (MAXIMUM COMPARE AND WRITE LENGTH)
        blocks = 1;
        if (overlaps(lun, lba, blocks) || model.uncertain(lba, blocks)) return;
        auto expected = model.bytes(lba, blocks);
        const bool mismatch = pick(4) == 0;
        std::uint64_t wrong_at = 0;
        auto compare = expected;
        if (mismatch) {
            wrong_at = pick(blocks * kBlock);
            compare[wrong_at] = static_cast<char>(compare[wrong_at] ^ 0x5a);
        }
        const std::uint64_t seed = rng_();
        const std::string where = luns_[lun].where(lba, blocks);
        request = "c " + std::to_string(lun) + " " + std::to_string(lba) + " " +
                  std::to_string(blocks) + " " + to_hex(compare.data(), compare.size()) + " " +
                  std::to_string(seed);
        auto data = block_pattern(seed, blocks * kBlock);
        on_reply = [this, &model, lba, data, mismatch, wrong_at, where](const std::string& st,
                                                                        const std::string& rest) {
            ++totals_.caw;
            if (st == "lost") {
                model.maybe_write(lba, data);
            } else if (mismatch) {
                if (st != "miscompare" || std::stoull(rest) != wrong_at) {
                    fail("compare and write " + where + ": expected miscompare at " +
                         std::to_string(wrong_at) + ", got " + st + " " + rest);
                }
                ++totals_.miscompares;
            } else if (st == "ok") {
                model.write(lba, data);
            } else {
                fail("compare and write " + where + ": " + st + " " + rest);
            }
        };
    } else {  // SYNCHRONIZE CACHE
        blocks = 0;
        request = "f " + std::to_string(lun);
        on_reply = [this, where](const std::string& st, const std::string& rest) {
            if (st != "ok" && st != "lost") fail("sync " + where + ": " + st + " " + rest);
        };
    }
    lock.unlock();
    submit(lun, lba, blocks, request, std::move(on_reply));
}

void Soak::submit(std::size_t lun, std::uint64_t lba, std::uint64_t blocks,
                  const std::string& request,
                  std::function<void(const std::string&, const std::string&)> on_reply) {
    std::unique_lock lock(mutex_);
    const std::uint64_t id = next_id_++;
    in_flight_[id] = InFlight{lun, lba, blocks};
    ++totals_.ios;
    lock.unlock();
    // Replies come on the gateway's reader thread: the model changes under mutex_ only.
    active().send(request, id, [this, id, on_reply](const std::string& st, const std::string& r) {
        std::lock_guard guard(mutex_);
        on_reply(st, r);
        if (st == "lost") ++totals_.lost;
        in_flight_.erase(id);
        done_.notify_all();
    });
}

void Soak::write(std::size_t lun, std::uint64_t lba, std::uint64_t blocks) {
    const std::string where = luns_[lun].where(lba, blocks);
    Model& model = models_[lun];
    const std::uint64_t seed = rng_();
    const std::string request = "w " + std::to_string(lun) + " " + std::to_string(lba) + " " +
                                std::to_string(blocks) + " " + std::to_string(seed);
    auto data = block_pattern(seed, blocks * kBlock);
    submit(lun, lba, blocks, request,
           [this, &model, lba, data, where](const std::string& st, const std::string& rest) {
               if (st == "ok") {
                   model.write(lba, data);
               } else {
                   model.maybe_write(lba, data);
                   if (st != "lost") fail("write " + where + ": " + st + " " + rest);
               }
           });
}

void Soak::read(std::size_t lun, std::uint64_t lba, std::uint64_t blocks) {
    const std::string where = luns_[lun].where(lba, blocks);
    Model& model = models_[lun];
    const std::string request =
        "r " + std::to_string(lun) + " " + std::to_string(lba) + " " + std::to_string(blocks);
    submit(lun, lba, blocks, request,
           [this, &model, lba, blocks, where](const std::string& st, const std::string& rest) {
               if (st != "ok") {
                   if (st != "lost") fail("read " + where + ": " + st + " " + rest);
                   return;
               }
               std::istringstream in(rest);
               std::string hex;
               std::uint64_t b = 0;
               while (std::getline(in, hex, ',') && b < blocks) {
                   const std::uint64_t print = std::stoull(hex, nullptr, 16);
                   if (!model.check(lba + b, print)) {
                       const std::vector<char> zero(kBlock, 0);
                       const bool zeros = print == fingerprint(zero.data(), kBlock);
                       const bool want_zeros = model.bytes(lba + b, 1) == zero;
                       fail("read " + where + ": block " + std::to_string(lba + b) +
                            " differs from the model (read " + (zeros ? "zeros" : "data") +
                            ", expected " + (want_zeros ? "zeros" : "data") + ")");
                       break;
                   }
                   ++b;
               }
               ++totals_.reads_checked;
               totals_.bytes_verified += blocks * kBlock;
           });
}

// Waits until fewer than `limit` commands are in flight; a gateway that died meanwhile (at a crash
// point) is reaped, which answers its commands "lost". False (and a failure) at the deadline.
bool Soak::wait_in_flight(std::size_t limit, std::chrono::seconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    std::unique_lock lock(mutex_);
    while (
        !done_.wait_for(lock, std::chrono::seconds(1), [&] { return in_flight_.size() < limit; })) {
        lock.unlock();
        for (std::size_t g = 0; g < gateways_.size(); ++g) {
            if (gateways_[g]->reap_if_dead()) {
                count_migrations(g);
                ++totals_.crash_point_deaths;
                log(gateways_[g]->name() + " died at its crash point");
            }
        }
        if (std::chrono::steady_clock::now() > end) {
            std::string which;
            {
                std::lock_guard guard(mutex_);
                for (const auto& [id, f] : in_flight_) which += " " + std::to_string(id);
            }
            fail("commands did not complete on " + active().name() + " within " +
                 std::to_string(deadline.count()) + " s:" + which);
            dump_stacks(active().pid());
            for (auto& g : gateways_) g->kill();
            return false;
        }
        lock.lock();
    }
    return true;
}

void Soak::event() {
    const std::size_t other = 1 - active_;
    const int kind = static_cast<int>(pick(10));
    static const char* const kNames[] = {"handover", "handover", "kill", "osd", "scrub",
                                         "pin",      "pin",      "pin",  "pin", "pin"};
    if (events_.find(kNames[kind]) == std::string::npos) return;
    switch (kind) {
        case 0:
        case 1: {  // ALUA handover: the other gateway's next command takes the lock
            if (!gateways_[other]->alive()) break;
            drain();
            active_ = other;
            ++totals_.handovers;
            log("handover to " + active().name());
            break;
        }
        case 2: {  // SIGKILL of the active gateway with commands in flight; the other serves
            sample_migrations(active_);
            count_migrations(active_);
            log("SIGKILL " + active().name());
            active().kill();
            ++totals_.kills;
            drain();
            const std::size_t dead = active_;
            if (gateways_[other]->alive()) active_ = other;
            std::string crash = pick(2) ? std::string(kCrashPoints[pick(5)]) : std::string();
            if (!crash_only_.empty() && !crash.empty()) crash = crash_only_;
            respawn(dead, crash);
            break;
        }
        case 3: {  // an OSD stopped and restarted while commands run
            const int osd = static_cast<int>(pick(4));
            log("osd." + std::to_string(osd) + " stop");
            const std::string sh = env("RBDTIER_CLUSTER_SH"), dir = env("RBDTIER_CLUSTER_DIR");
            const std::string stop = sh + " osd-stop " + dir + " " + std::to_string(osd);
            const std::string start = sh + " osd-start " + dir + " " + std::to_string(osd);
            if (std::system((stop + " >/dev/null 2>&1").c_str()) != 0) fail("osd-stop failed");
            if (std::system((start + " >/dev/null 2>&1").c_str()) != 0) fail("osd-start failed");
            ++totals_.osd_restarts;
            log("osd." + std::to_string(osd) + " back");
            break;
        }
        case 4: {  // scrub on either gateway: refused on the one that does not own the LUN
            const std::size_t g = pick(2);
            if (!gateways_[g]->alive()) break;
            const auto& l = luns_[pick(luns_.size())];
            const std::string out = run_cli("scrub " + l.pool + "/" + l.image + " --socket " +
                                            sockets_[g] + " --format json");
            ++totals_.scrubs;
            log("scrub " + l.pool + "/" + l.image + " on " + gateways_[g]->name() + ": " +
                out.substr(0, 160));
            break;
        }
        default: {  // pin a range of extents to a random tier of the LUN, or unpin it
            const std::size_t lun = pick(luns_.size());
            const std::uint64_t first = pick(kExtents);
            const std::uint64_t last = std::min(kExtents - 1, first + pick(3));
            const std::vector<std::string> tiers = luns_[lun].tier_pools();
            pin(lun, first, last, pick(3) == 0 ? std::string() : tiers[pick(tiers.size())]);
            break;
        }
    }
}

void Soak::pin(std::size_t lun, std::uint64_t first, std::uint64_t last, const std::string& tier) {
    const LunSpec& l = luns_[lun];
    const std::string range = std::to_string(first) + "-" + std::to_string(last);
    const std::string args = tier.empty() ? "unpin " + l.name() + " " + range
                                          : "pin " + l.name() + " " + range + " " + tier;
    const std::string out = run_cli(args + " --socket " + sockets_[active_]);
    const bool done = out.rfind("exit 0:", 0) == 0;
    ++totals_.pins;
    if (!done) ++totals_.pins_failed;
    log(args + " on " + active().name() + ": " + out.substr(0, 120));
    ExtentPins asked = pins_[lun];
    for (std::uint64_t e = first; e <= last; ++e) asked[e] = tier;
    // Done: RADOS holds what was asked. Failed: the change was made or not, never half made.
    auto stored = stored_pins(lun);
    if (!stored) {
        fail("read the pins of " + l.name() + " from RADOS: " + stored.status().message());
    } else if (*stored == asked) {
        pins_[lun] = asked;
    } else if (done || *stored != pins_[lun]) {
        fail("pins of " + l.name() + " in RADOS after `" + args + "` (" +
             (done ? "done" : "failed") + "): " + describe(*stored) + "; expected " +
             describe(asked) + (done ? "" : " or " + describe(pins_[lun])));
    }
}

ceph::Result<ExtentPins> Soak::stored_pins(std::size_t lun) {
    const LunSpec& l = luns_[lun];
    auto io = ceph::IoContext::open(*cluster_, l.pool);
    if (!io) return io.status();
    auto home = ceph::Image::open_read_only(*io, l.image);
    if (!home) return home.status();
    auto stored = ceph::read_extent_pins(*home);
    if (!stored) return stored.status();
    return expand_pins(*stored);
}

std::vector<std::string> Soak::placement(std::size_t lun, const ceph::PlacementMap& map) const {
    std::vector<std::string> where(kExtents, luns_[lun].home_tier());
    for (const auto& [extent, entry] : map.entries())
        if (extent < kExtents) where[extent] = entry.pool;
    return where;
}

std::vector<std::string> Soak::unfollowed_pins(
    const std::vector<std::vector<std::string>>& where) const {
    std::map<std::string, std::uint64_t> in_nvme_a;  // by tenant
    for (std::size_t i = 0; i < luns_.size(); ++i)
        in_nvme_a[luns_[i].tenant] +=
            kExtent * std::count(where[i].begin(), where[i].end(), "nvme-a");
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < luns_.size(); ++i) {
        for (std::uint64_t e = 0; e < kExtents; ++e) {
            const std::string& pin = pins_[i][e];
            if (pin.empty() || where[i][e] == pin) continue;
            if (pin == "nvme-a" && in_nvme_a[luns_[i].tenant] >= kNvmeAQuota) continue;
            problems.push_back(luns_[i].name() + " extent " + std::to_string(e) + " is in " +
                               where[i][e] + ", pinned to " + pin);
        }
    }
    return problems;
}

// The gateways run, no command is in flight. Each LUN's pins in RADOS are what the driver set.
// The standby gateway, fenced by the last handover whenever it held a LUN (a blocklisted client
// follows nothing until it serves again), is started afresh, and one more pin of each LUN is
// changed through the active one: the standby must follow that change. Then, until every gateway
// shows the pins and the owner has carried them out (or a deadline), the active gateway writes a
// block of each LUN (so it holds every LUN's lock) and a gateway dead at its crash point is
// started again.
void Soak::check_pins_followed() {
    for (std::size_t i = 0; i < luns_.size(); ++i) {
        auto stored = stored_pins(i);
        if (!stored) {
            fail("read the pins of " + luns_[i].name() +
                 " from RADOS: " + stored.status().message());
        } else if (*stored != pins_[i]) {
            fail("pins of " + luns_[i].name() + " in RADOS: " + describe(*stored) +
                 "; the driver set " + describe(pins_[i]));
        }
    }
    if (failed()) return;
    revive();
    for (std::size_t i = 0; i < luns_.size(); ++i) write(i, 0, 1);
    drain();
    const std::size_t standby = 1 - active_;
    sample_migrations(standby);
    count_migrations(standby);
    gateways_[standby]->kill();
    respawn(standby, "");
    for (std::size_t i = 0; i < luns_.size(); ++i) {
        const std::uint64_t e = pick(kExtents);
        std::vector<std::string> other;  // the tiers, and no pin, but what extent e has now
        for (const std::string& t : luns_[i].tier_pools())
            if (t != pins_[i][e]) other.push_back(t);
        if (!pins_[i][e].empty()) other.emplace_back();
        pin(i, e, e, other[pick(other.size())]);
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(60);
    std::vector<std::string> problems;
    std::vector<std::string> shows;  // the last `lun show` of each gateway and LUN
    while (true) {
        revive();
        for (std::size_t i = 0; i < luns_.size(); ++i) write(i, 0, 1);
        drain();
        problems.clear();
        shows.clear();
        for (std::size_t g = 0; g < gateways_.size(); ++g) {
            for (std::size_t i = 0; i < luns_.size(); ++i) {
                const std::string out = run_cli("lun show " + luns_[i].name() +
                                                " --format json --socket " + sockets_[g]);
                const auto brace = out.find('{');
                const auto show = brace == std::string::npos
                                      ? nlohmann::json()
                                      : nlohmann::json::parse(out.substr(brace), nullptr, false);
                shows.push_back(
                    gateways_[g]->name() + " " + luns_[i].name() + ": " +
                    (show.is_object()
                         ? nlohmann::json{{"lock_owner",
                                           show.value("lock_owner", nlohmann::json())},
                                          {"movement", show.value("movement", nlohmann::json())},
                                          {"engine", show.value("engine", nlohmann::json())}}
                               .dump()
                         : out.substr(0, 160)));
                const auto shown = shown_pins(show);
                if (!shown || *shown != pins_[i]) {
                    problems.push_back(gateways_[g]->name() + " shows the pins of " +
                                       luns_[i].name() + " as " +
                                       (shown ? describe(*shown) : out.substr(0, 160)));
                }
            }
        }
        std::vector<std::vector<std::string>> where;
        for (std::size_t i = 0; i < luns_.size(); ++i) {
            auto map = ceph::read_placement_map(*cluster_, luns_[i].pool, "", luns_[i].image);
            if (!map) {
                problems.push_back("read the map of " + luns_[i].name() + ": " +
                                   map.status().message());
                where.emplace_back(kExtents, "?");
            } else {
                where.push_back(placement(i, *map));
                std::string intents;
                for (const auto& [extent, pool] : map->intents())
                    intents += " " + std::to_string(extent) + ":" + pool;
                if (!intents.empty()) shows.push_back(luns_[i].name() + " intents:" + intents);
            }
        }
        for (auto& p : unfollowed_pins(where)) problems.push_back(std::move(p));
        if (problems.empty() || failed() || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    for (const auto& p : problems) fail("pins not followed within 60 s: " + p);
    if (!problems.empty())
        for (const auto& show : shows) log("  " + show);
    std::string pins;
    for (std::size_t i = 0; i < luns_.size(); ++i)
        pins += (i ? "; " : "") + luns_[i].name() + " " + describe(pins_[i]);
    log("pins followed after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count()) +
        " ms: " + pins);
}

// Both gateways stopped: each LUN taken over once more (intents cleaned) and scrubbed, then
// rebuilt from its map and tier images and compared with the model; its pins checked again.
void Soak::verify_at_rest() {
    ceph::Cluster& cluster = *cluster_;
    std::vector<std::vector<std::string>> where_all;  // placement() of each LUN
    for (std::size_t i = 0; i < luns_.size(); ++i) {
        const LunSpec& l = luns_[i];
        auto store = ceph::open_tiered_lun_store(cluster, l.pool, "", l.image, l.tier_pools());
        ASSERT_TRUE(store) << store.status().message();
        ceph::ExtentGate gate(kLunBytes / kExtent);
        ceph::ExtentMigrator migrator(store->images, store->map, gate, kLunBytes);
        auto owned = migrator.take_ownership();
        ASSERT_TRUE(owned.is_ok()) << owned.message();
        ceph::ScrubReport report;
        auto scrubbed = migrator.scrub(report);
        ASSERT_TRUE(scrubbed.is_ok()) << scrubbed.message();
        EXPECT_TRUE(report.problems.empty()) << l.image << ": " << report.problems.front();
        EXPECT_EQ(report.crc_mismatch, 0u);
        std::printf("soak: %s/%s at rest: %llu stray removed by the final scrub\n", l.pool.c_str(),
                    l.image.c_str(), static_cast<unsigned long long>(report.stray_removed));
        // Rebuild: each extent from the image its map entry names.
        std::vector<char> extent(kExtent);
        for (std::uint64_t e = 0; e < kLunBytes / kExtent; ++e) {
            const auto entry = store->map.find(e);
            const std::size_t where = entry ? *store->images.index_of(entry->pool) : 0;
            auto holder = store->images.image(where);
            ASSERT_TRUE(holder.is_ok()) << holder.status().message();
            ASSERT_EQ(rbd_read((*holder)->handle(), e * kExtent, kExtent, extent.data()),
                      static_cast<ssize_t>(kExtent));
            for (std::uint64_t b = 0; b < kExtent / kBlock; ++b) {
                const std::uint64_t lba = e * (kExtent / kBlock) + b;
                if (!models_[i].check(lba, fingerprint(extent.data() + b * kBlock, kBlock))) {
                    fail(l.pool + "/" + l.image + " at rest: block " + std::to_string(lba) +
                         " (extent " + std::to_string(e) + " in " + store->images.data_pool(where) +
                         ") differs from the model");
                    break;
                }
            }
            totals_.bytes_verified += kExtent;
        }
        // After the owner's scrub no tier image holds data its map does not point at.
        for (std::size_t t = 1; t < store->images.count(); ++t) {
            ASSERT_TRUE(store->images.ensure_open(t).is_ok()) << store->images.pool(t);
            auto opened = store->images.image(t);
            ASSERT_TRUE(opened.is_ok()) << opened.status().message();
            ceph::Image& tier = **opened;
            std::vector<std::uint64_t> allocated;
            auto collect = [](std::uint64_t off, std::size_t, int exists, void* arg) -> int {
                if (exists) static_cast<std::vector<std::uint64_t>*>(arg)->push_back(off);
                return 0;
            };
            ASSERT_EQ(
                rbd_diff_iterate2(tier.handle(), nullptr, 0, kLunBytes, 0, 1, collect, &allocated),
                0);
            for (std::uint64_t off : allocated) {
                const auto entry = store->map.find(off / kExtent);
                if (!entry || entry->pool != store->images.pool(t)) {
                    fail(l.pool + "/" + l.image + ": " + tier.spec() + " holds extent " +
                         std::to_string(off / kExtent) + ", which its map does not point at");
                }
            }
            auto tag = tier.metadata_get(ceph::kTierImageTag);
            EXPECT_TRUE(tag && tag->has_value() && **tag == store->images.lun().key())
                << tier.spec() << " is not tagged for its LUN";
        }
        auto home = store->images.image(0);
        ASSERT_TRUE(home.is_ok()) << home.status().message();
        auto stored = ceph::read_extent_pins(**home);
        if (!stored) {
            fail(l.name() + " at rest: its pins do not read: " + stored.status().message());
        } else if (expand_pins(*stored) != pins_[i]) {
            fail(l.name() + " at rest: pins " + describe(expand_pins(*stored)) +
                 "; the driver set " + describe(pins_[i]));
        }
        if (!l.data_pool.empty()) check_home_data_objects(i, **home, store->map);
        where_all.push_back(placement(i, store->map));
        (void)migrator.release_ownership();
    }
    for (const auto& p : unfollowed_pins(where_all)) fail("at rest: " + p);
}

void Soak::check_home_data_objects(std::size_t lun, const ceph::Image& home,
                                   const ceph::PlacementMap& map) {
    const LunSpec& l = luns_[lun];
    char prefix[64] = {};  // "rbd_data.[POOLID.]ID"
    ASSERT_EQ(rbd_get_block_name_prefix(home.handle(), prefix, sizeof prefix), 0);
    auto data_io = ceph::IoContext::open(*cluster_, l.data_pool);
    ASSERT_TRUE(data_io) << data_io.status().message();
    auto header_io = ceph::IoContext::open(*cluster_, l.pool);
    ASSERT_TRUE(header_io) << header_io.status().message();
    for (std::uint64_t e = 0; e < kExtents; ++e) {
        if (map.find(e)) continue;  // in a tier image
        char object[96];
        std::snprintf(object, sizeof object, "%s.%016llx", prefix,
                      static_cast<unsigned long long>(e));
        std::uint64_t size = 0;
        time_t mtime = 0;
        if (const int rc = rados_stat(data_io->handle(), object, &size, &mtime); rc != 0) {
            fail(l.name() + " at rest: extent " + std::to_string(e) + " is at home but " +
                 l.data_pool + " has no object " + object + " (" + std::to_string(rc) + ")");
        }
        if (rados_stat(header_io->handle(), object, &size, &mtime) != -ENOENT) {
            fail(l.name() + " at rest: its header pool " + l.pool + " holds data object " + object);
        }
    }
}

void Soak::run() {
    ::signal(SIGPIPE, SIG_IGN);  // a gateway killed with requests in its pipe: EPIPE, not death
    start_ = std::chrono::steady_clock::now();
    std::printf("soak: seed %llu, %.0f s (replay: RBDTIER_SOAK_SEED=%llu)\n",
                static_cast<unsigned long long>(seed_), seconds_,
                static_cast<unsigned long long>(seed_));
    std::fflush(stdout);
    dir_ = std::filesystem::temp_directory_path() / ("rbdtier-soak-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string conf = env("RBDTIER_CEPH_CONF");
    const std::string name = "soak-" + std::to_string(::getpid());
    // The third LUN's home image: header in meta-a (on nvme-a's OSD), data in hdd-a.
    luns_ = {{"hdd-a", name, "", "t1", "hdd-a+nvme-a+nvme-b+hdd-b", ""},
             {"hdd-b", name, "", "t2", "hdd-b+nvme-a+nvme-b+hdd-a", ""},
             {"meta-a", name + "-2", "hdd-a", "t1", "hdd-a+nvme-b+nvme-a", ""}};
    ceph::ClusterOptions options;
    options.conf_path = conf;
    auto cluster = ceph::Cluster::connect(options);
    ASSERT_TRUE(cluster) << cluster.status().message();
    cluster_.emplace(std::move(*cluster));
    std::vector<std::string> lun_args;
    for (auto& l : luns_) {
        auto io = ceph::IoContext::open(*cluster_, l.pool);
        ASSERT_TRUE(io) << l.pool << ": " << io.status().message();
        ceph::ImageCreateOptions create;
        create.data_pool = l.data_pool;
        ASSERT_TRUE(ceph::create_image(*io, l.image, kLunBytes, create).is_ok()) << l.name();
        l.cfg = l.name() + ";conf=" + conf + ";tiers=" + l.tiers +
                ";policy=reactive;horizon=2;quota=nvme-a=" + std::to_string(kNvmeAQuota >> 20) +
                "M;tenant=" + l.tenant;
        lun_args.push_back(l.cfg + "@" + std::to_string(kLunBytes));
        models_.emplace_back();
        pins_.emplace_back(kExtents);
    }
    struct Cleanup {
        Soak& soak;
        ceph::Cluster& cluster;
        ~Cleanup() {
            for (auto& g : soak.gateways_) g->kill();
            for (auto& l : soak.luns_) {
                (void)ceph::remove_tiered_lun_store(cluster, l.pool, "", l.image, l.tier_pools());
                if (auto io = ceph::IoContext::open(cluster, l.pool)) {
                    (void)ceph::remove_image(*io, l.image);
                }
            }
            std::filesystem::remove_all(soak.dir_);
        }
    } cleanup{*this, *cluster_};

    for (int g = 0; g < 2; ++g) {
        const std::string gw = "gw" + std::to_string(g);
        sockets_.push_back(dir_ + "/" + gw + ".asok");
        const std::string path = dir_ + "/" + gw + ".conf";
        std::ofstream(path) << "admin_socket = " << sockets_.back()
                            << "\nmetrics_port = 0\nround_s = 0.25\nhorizon_s = 2\n"
                               "migration_bandwidth_mib_s = 400\n";
        gateways_.push_back(std::make_unique<GatewayProcess>(gw, lun_args, path));
        respawn(static_cast<std::size_t>(g), "");
    }
    ASSERT_TRUE(failures_.empty()) << failures_.front();

    // Every block written once, so that reads have something to check.
    for (std::size_t l = 0; l < luns_.size(); ++l) {
        for (std::uint64_t lba = 0; lba < kBlocks; lba += 2048) {
            std::unique_lock lock(mutex_);
            const std::uint64_t id = next_id_++, seed = rng_();
            in_flight_[id] = InFlight{l, lba, 2048};
            lock.unlock();
            auto data = block_pattern(seed, 2048 * kBlock);
            active().send("w " + std::to_string(l) + " " + std::to_string(lba) + " 2048 " +
                              std::to_string(seed),
                          id,
                          [this, l, lba, data, id](const std::string& st, const std::string& r) {
                              std::lock_guard guard(mutex_);
                              if (st == "ok") {
                                  models_[l].write(lba, data);
                              } else {
                                  models_[l].maybe_write(lba, data);
                                  fail("initial write: " + st + " " + r);
                              }
                              in_flight_.erase(id);
                              done_.notify_all();
                          });
            drain();
        }
    }
    log("initial data written");

    const auto end = start_ + std::chrono::duration<double>(seconds_);
    std::uint64_t since_event = 0;
    while (std::chrono::steady_clock::now() < end && !failed()) {
        revive();
        if (!wait_in_flight(kQueueDepth, std::chrono::seconds(120))) break;
        issue();
        if (++since_event >= 40 + pick(80)) {
            since_event = 0;
            for (std::size_t g = 0; g < gateways_.size(); ++g) sample_migrations(g);
            event();
        }
    }
    drain();
    if (!failed()) check_pins_followed();
    for (std::size_t g = 0; g < gateways_.size(); ++g) {
        sample_migrations(g);
        count_migrations(g);
        if (!gateways_[g]->stop()) log(gateways_[g]->name() + " did not exit cleanly");
    }
    log("gateways stopped");
    verify_at_rest();

    const double minutes =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() / 60;
    std::printf(
        "soak: %.1f min, %llu I/Os (%llu reads checked, %llu CAW, %llu miscompares), %llu "
        "migrations committed, %llu bytes verified, %llu kills + %llu crash-point deaths, %llu "
        "handovers, %llu OSD restarts, %llu scrubs, %llu pin/unpin (%llu failed), %llu commands "
        "lost with their gateway, %zu failures\n",
        minutes, (unsigned long long)totals_.ios, (unsigned long long)totals_.reads_checked,
        (unsigned long long)totals_.caw, (unsigned long long)totals_.miscompares,
        (unsigned long long)totals_.migrations, (unsigned long long)totals_.bytes_verified,
        (unsigned long long)totals_.kills, (unsigned long long)totals_.crash_point_deaths,
        (unsigned long long)totals_.handovers, (unsigned long long)totals_.osd_restarts,
        (unsigned long long)totals_.scrubs, (unsigned long long)totals_.pins,
        (unsigned long long)totals_.pins_failed, (unsigned long long)totals_.lost,
        failures_.size());
    std::printf("soak: %s with seed %llu; event log:\n", failures_.empty() ? "passed" : "FAILED",
                static_cast<unsigned long long>(seed_));
    for (const auto& line : log_) std::printf("  %s\n", line.c_str());
    EXPECT_TRUE(failures_.empty()) << failures_.front();
}

TEST(Soak, EveryByteSurvivesMovesAndFaults) {
    if (env("RBDTIER_CEPH_CONF").empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    const std::string seed_text = env("RBDTIER_SOAK_SEED");
    const std::uint64_t seed =
        seed_text.empty() ? static_cast<std::uint64_t>(
                                std::chrono::system_clock::now().time_since_epoch().count())
                          : std::stoull(seed_text);
    Soak(seed, std::stod(env("RBDTIER_SOAK_SECONDS", "150")),
         env("RBDTIER_SOAK_EVENTS", "handover,kill,osd,scrub,pin"))
        .run();
}

}  // namespace
}  // namespace rbdtier::soak
