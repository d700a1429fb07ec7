// The tiered I/O path of a Lun: each command is sent, extent by extent, to the tier image that
// holds the data, as the ExtentGate says, and waits (parked, not blocking a thread) while a
// migration commits one of its extents. A command whose extents all live in one tier is one
// librbd operation, as on a plain LUN; one that spans tiers is split into one operation per run
// of extents in the same tier and completes when the last part does. COMPARE AND WRITE is
// atomic only within one image, so one that would span tiers is refused (INVALID CDB): it
// cannot happen for CAW of a block or two unless it crosses an extent boundary.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>

#include "ceph/completion.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/resource_monitor.h"
#include "ceph/settings_store.h"
#include "ceph/tenant_quota.h"
#include "ceph/tier_discovery.h"
#include "ceph/tiered_lun_store.h"
#include "common/log.h"
#include "engine/policy/policy_registry.h"
#include "handler/lun.h"

namespace rbdtier {

namespace {

// Appends to `out` the iovec entries covering [skip, skip+len) of v; returns how many.
int slice_iovec(const iovec* v, int cnt, std::size_t skip, std::size_t len,
                std::vector<iovec>& out) {
    int n = 0;
    for (int i = 0; i < cnt && len > 0; ++i) {
        if (skip >= v[i].iov_len) {
            skip -= v[i].iov_len;
            continue;
        }
        const std::size_t take = std::min(v[i].iov_len - skip, len);
        out.push_back(iovec{static_cast<char*>(v[i].iov_base) + skip, take});
        skip = 0;
        len -= take;
        ++n;
    }
    return n;
}

constexpr std::uint64_t kQuickTierCopyChunk = 1 << 20;
constexpr double kQuickTierLatencyUs = 2000;

bool writes(IoKind kind) {
    return kind != IoKind::kRead && kind != IoKind::kFlush;
}

// The policy a LUN's cfgstring asks for, by the name the policy registry knows.
std::string policy_name(TierPolicy policy) {
    return std::string(to_string(policy));
}

}  // namespace

ceph::Status Lun::enable_tiering(const ceph::Cluster* header_reader) {
    auto store = ceph::open_tiered_lun_store(cluster_, config_.pool, config_.ns, config_.image,
                                             config_.tiers, &image_, header_reader);
    if (!store) return store.status();
    tiers_.emplace(std::move(store->images));
    map_.emplace(std::move(store->map));
    extent_bytes_ = tiers_->object_size();
    const std::uint64_t size = this->size();
    gate_ = std::make_unique<ceph::ExtentGate>((size + extent_bytes_ - 1) / extent_bytes_);
    // Copies move 1 MiB at a time to and from tiers an access costs under 2 ms (local
    // fast media: a 4 MiB op would hold their foreground reads up for several times their
    // latency), and the whole extent at once elsewhere (every op there costs a seek or a
    // round trip to a remote site, so more ops would cost foreground I/O more).
    std::vector<TierSpec> discovered;
    ceph::MigratorOptions migrator_options;
    for (std::size_t i = 0; i < tiers_->count(); ++i) {
        discovered.push_back(ceph::describe_tier(cluster_, tiers_->pool(i)));
        const double latency = discovered.back().read_latency_us;
        const bool quick = latency > 0 && latency < kQuickTierLatencyUs;
        migrator_options.chunk_bytes.push_back(quick ? kQuickTierCopyChunk : 0);
    }
    // Fault tests (tests/soak) have the gateway killed at a step of its migrations.
    if (const char* crash = std::getenv("RBDTIER_CRASH_AT")) {
        migrator_options.crash_at = ceph::crash_point_from_name(crash);
    }
    migrator_options.may_commit = [this] { return may_move_extents(); };
    migrator_ =
        std::make_unique<ceph::ExtentMigrator>(*tiers_, *map_, *gate_, size, migrator_options);
    // Watch first, then route from the map: no move of the owner's can fall in between.
    auto watch_io = ceph::IoContext::open(cluster_, config_.pool, config_.ns);
    if (!watch_io) return watch_io.status();
    auto watch = ceph::PlacementWatch::start(cluster_, std::move(*watch_io), *map_, *gate_, *tiers_,
                                             [this] { return migrator_->sync_routing(); });
    if (!watch) return watch.status();
    watch_ = std::move(*watch);
    if (ceph::Status s = migrator_->sync_routing(); !s) return s;

    // The policy sees the tiers as the LUN's tier images: id = index, home = 0; what the gateway's
    // config says of a tier overrides what discovery found, and the LUN's quota= caps it.
    ReplayConfig policy_config;
    policy_config.default_home = 0;
    policy_config.local_site = settings_.site;
    policy_config.extent_bytes = extent_bytes_;
    policy_config.horizon_us = static_cast<std::uint64_t>(settings_.horizon_s * 1e6);
    policy_config.round_us = settings_.round_us;
    policy_config.bandwidth_bytes_per_s = settings_.bandwidth_bytes_per_s;
    policy_config.max_tracked_extents = settings_.max_tracked_extents;
    std::vector<TierSpec> specs;
    for (std::size_t i = 0; i < tiers_->count(); ++i) {
        TierModel model;
        model.spec = discovered[i];
        model.spec.id = static_cast<TierId>(i);
        if (auto o = settings_.tier_overrides.find(tiers_->pool(i));
            o != settings_.tier_overrides.end()) {
            apply_tier_override(model.spec, o->second);
        }
        if (auto q = config_.quota.find(tiers_->pool(i)); q != config_.quota.end())
            model.spec.capacity_bytes = tighter_capacity(model.spec.capacity_bytes, q->second);
        specs.push_back(model.spec);
        policy_config.tiers.push_back(model);
    }
    if (!config_.tenant.empty()) {
        // The policy's accounting (accuracy per tenant) names the LUN's tenant; its quotas are
        // the executor's to enforce (they change while the LUN is open).
        TenantModel tenant;
        tenant.name = config_.tenant;
        tenant.luns.push_back(policy_lun());
        policy_config.tenants.push_back(std::move(tenant));
    }
    policy_config_ = policy_config;
    auto policy = builtin_policy_registry().create(policy_name(config_.policy),
                                                   PolicyContext{policy_config, {}});
    LunRoundsOptions options;
    options.lun = policy_lun();
    options.round_us = policy_config.round_us;
    options.executor = executor_;
    options.bandwidth_bytes_per_s = settings_.bandwidth_bytes_per_s;
    options.tenant = config_.tenant;
    std::vector<std::string> pools;
    for (std::size_t i = 0; i < tiers_->count(); ++i) pools.push_back(tiers_->pool(i));
    const ceph::TenantLunRef tenant_lun{
        config_.ns.empty() ? config_.pool : config_.pool + "/" + config_.ns, config_.image, pools,
        tiers_->lun().tier_image_name()};
    options.name_in_tenant = tenant_lun.name();
    options.may_migrate = [this] {
        // Both questions are round trips to the cluster: a standby asks them once per
        // kStandbyLockProbePeriod, or at once after a command that may have taken the lock.
        const auto now = LockProbe::Clock::now();
        if (!lock_probe_.should_ask(now)) return false;
        const bool held = has_lock() == 1;
        lock_probe_.answered(held, now);
        if (!follow_home_pin()) return false;
        if (!held) return false;  // a standby: another gateway owns the LUN
        if (ceph::Status s = may_move_extents(); !s) {
            tiering_problem(s);
            return false;
        }
        if (!take_tiering_ownership()) return false;
        tiering_problem(ceph::Status::ok());  // whatever stopped it before is over
        return true;
    };
    tiering_ = std::make_unique<ceph::LunTiering>(*tiers_, *gate_, *migrator_, std::move(specs),
                                                  std::move(policy), options);
    // What the pools and the tenant leave room for, sampled on the rounds thread.
    tiering_->set_resource_monitor(
        std::make_unique<ceph::ResourceMonitor>(cluster_, pools, ceph::PoolSampleCache::process()));
    if (!config_.tenant.empty()) {
        auto quota =
            std::make_shared<ceph::TenantQuota>(cluster_, settings_.tenant_pool, config_.tenant,
                                                tenant_lun, ceph::AllocationCache::process());
        if (ceph::Status s = quota->register_self(); !s) return s;
        tiering_->set_tenant_room_source([quota] { return quota->refresh(); });
    }
    // Settings changed in the cluster are applied when notified, whatever the rounds do.
    settings_watch_ = std::make_unique<ceph::SettingsWatch>(
        cluster_, io_, image_, resolve_tiering_settings(base_config_, base_gateway_).tenant_pool,
        kClusterSettingsObject, config_.spec(), kSharedSettingsPeriod,
        [this](std::chrono::steady_clock::time_point changed_at) {
            follow_shared_settings(changed_at);
        });
    (void)follow_home_pin();  // the rounds read it again before they move anything
    // Whatever the policy: pins and the home pin are carried out by the rounds (under
    // policy=none they are all that moves).
    tiering_->start();
    return ceph::Status::ok();
}

bool Lun::read_shared_settings(SharedSettings& out, std::map<std::string, std::string>& cluster,
                               std::string& why, std::chrono::steady_clock::time_point changed_at,
                               const ceph::Result<std::map<std::string, std::string>>* read) {
    auto metadata =
        read != nullptr ? *read : ceph::image_metadata(image_, std::string(kLunSettingPrefix));
    if (!metadata) {
        why = metadata.status().with_context("read the LUN's settings").message();
        return false;
    }
    const std::string pool = resolve_tiering_settings(base_config_, base_gateway_).tenant_pool;
    auto object = [&]() -> ceph::Result<std::map<std::string, std::string>> {
        if (cluster_object_) {
            // The gateway's copy: LUNs of one client identity and pool share one read a period.
            return cluster_object_->read(cluster_,
                                         base_config_.conf_path + '\n' + base_config_.client_id,
                                         pool, kClusterSettingsObject, changed_at);
        }
        auto io = ceph::IoContext::open(cluster_, pool);
        if (!io) return io.status();
        return ceph::object_settings(*io, kClusterSettingsObject);
    }();
    // A pool that does not exist holds no cluster-wide settings; the LUN's own still apply.
    const bool no_pool = !object && object.status().code() == -ENOENT;
    if (!object && !no_pool) {
        why = object.status().with_context("read the cluster's tiering settings").message();
        return false;
    }
    cluster = no_pool ? std::map<std::string, std::string>{} : std::move(*object);
    out = apply_shared_settings(base_config_, base_gateway_, *metadata, cluster);
    if (no_pool)
        out.problems.push_back("cluster-wide settings (" + std::string(kClusterSettingsObject) +
                               "): pool " + pool +
                               " does not exist (tenant_pool); none are read from it");
    return true;
}

void Lun::log_new_problems_locked(const std::vector<std::string>& fresh) {
    for (const std::string& p : fresh)
        if (std::find(shared_.problems.begin(), shared_.problems.end(), p) ==
            shared_.problems.end())
            RBDTIER_LOG_WARNING(config_.spec(), "setting not used: " << p);
}

void Lun::follow_shared_settings(std::chrono::steady_clock::time_point changed_at) {
    SharedSettings fresh;
    std::map<std::string, std::string> cluster;
    std::string why;
    const bool read = read_shared_settings(fresh, cluster, why, changed_at);
    std::function<void(const std::map<std::string, std::string>&)> listener;
    {
        std::lock_guard lock(shared_mutex_);
        if (!read) {
            if (why != read_problem_)
                RBDTIER_LOG_WARNING(config_.spec(), why << "; keeping the settings in effect");
            read_problem_ = why;
            return;
        }
        read_problem_.clear();
        log_new_problems_locked(fresh.problems);
        const TieringSettings was = resolve_tiering_settings(shared_.lun, shared_.gateway);
        const TieringSettings is = resolve_tiering_settings(fresh.lun, fresh.gateway);
        if (fresh.lun.policy != shared_.lun.policy || was.horizon_s != is.horizon_s ||
            was.round_us != is.round_us) {
            ReplayConfig c = policy_config_;
            c.horizon_us = static_cast<std::uint64_t>(is.horizon_s * 1e6);
            c.round_us = is.round_us;
            tiering_->replace_policy(builtin_policy_registry().create(policy_name(fresh.lun.policy),
                                                                      PolicyContext{c, {}}),
                                     is.round_us);
            RBDTIER_LOG_INFO(config_.spec(), "settings changed in the cluster: policy "
                                                 << to_string(fresh.lun.policy) << " (was "
                                                 << to_string(shared_.lun.policy) << "), horizon "
                                                 << is.horizon_s << " s (was " << was.horizon_s
                                                 << "), round "
                                                 << static_cast<double>(is.round_us) / 1e6 << " s");
        }
        // Quota, tenant and tier overrides shape the tiers and the tenant's registration made
        // at open: they change when the LUN is opened again.
        if (fresh.lun.quota != shared_.lun.quota || fresh.lun.tenant != shared_.lun.tenant ||
            fresh.gateway.tiers != shared_.gateway.tiers)
            RBDTIER_LOG_INFO(config_.spec(),
                             "quota, tenant or tier settings changed in the cluster: they take "
                             "effect when the LUN is opened again");
        for (const char* name : {"quota", "tenant"}) {  // as at open (see above)
            auto named = [&](const EffectiveSetting& e) { return e.name == name; };
            auto now_it = std::find_if(fresh.report.begin(), fresh.report.end(), named);
            auto was_it = std::find_if(shared_.report.begin(), shared_.report.end(), named);
            if (now_it != fresh.report.end() && was_it != shared_.report.end()) *now_it = *was_it;
        }
        fresh.lun.quota = shared_.lun.quota;
        fresh.lun.tenant = shared_.lun.tenant;
        fresh.gateway.tiers = shared_.gateway.tiers;
        shared_ = std::move(fresh);
        if (cluster != cluster_seen_) {
            cluster_seen_ = cluster;
            listener = cluster_listener_;
        }
    }
    if (listener) listener(cluster);
}

std::vector<EffectiveSetting> Lun::settings_report() const {
    std::lock_guard lock(shared_mutex_);
    return shared_.report;
}

std::vector<std::string> Lun::settings_problems() const {
    std::lock_guard lock(shared_mutex_);
    std::vector<std::string> out = shared_.problems;
    if (!read_problem_.empty()) out.push_back(read_problem_);
    return out;
}

TieringInForce Lun::tiering_in_force() const {
    std::lock_guard lock(shared_mutex_);
    const TieringSettings s = resolve_tiering_settings(shared_.lun, shared_.gateway);
    return {policy_name(shared_.lun.policy), s.horizon_s, static_cast<double>(s.round_us) / 1e6};
}

std::map<std::string, std::string> Lun::cluster_settings() const {
    std::lock_guard lock(shared_mutex_);
    return cluster_seen_;
}

void Lun::set_cluster_settings_listener(
    std::function<void(const std::map<std::string, std::string>&)> listener) {
    std::lock_guard lock(shared_mutex_);
    cluster_listener_ = std::move(listener);
}

// With ALUA the lock is taken through the lock callout, and another gateway cannot write without
// breaking it (which blocklists this one and so fences its commits). Without ALUA librbd hands
// the lock to whichever gateway writes, at any moment, without telling this one: a second
// gateway could then write an extent's old copy while this one copies it, so extents move only
// while no other gateway has the LUN open (each open watches the image's header).
ceph::Status Lun::may_move_extents() {
    if (has_lock() != 1) return ceph::Status::error(-EBUSY, "not the holder of the LUN's lock");
    if (lock_by_callout_.load()) return ceph::Status::ok();
    auto gateways = image_.watcher_count();
    if (!gateways) return gateways.status();
    if (*gateways > 1) {
        return ceph::Status::error(
            -EBUSY, std::to_string(*gateways) +
                        " gateways serve the LUN without ALUA: extents move only under ALUA "
                        "implicit failover (one lock owner) or with a single gateway");
    }
    return ceph::Status::ok();
}

bool Lun::follow_home_pin() {
    // An admin command may change the pin while it is read: the newer change wins.
    const std::uint64_t seen = tiering_->home_pin_version();
    auto pinned = ceph::home_pinned(image_);
    if (!pinned) {
        tiering_problem(pinned.status().with_context("read the LUN's home pin"));
        return false;
    }
    tiering_->set_home_pinned(*pinned, seen);
    return true;
}

// The holder of the LUN's exclusive lock owns its tiering too: it takes the map's fence (and
// so fences the previous owner's commits) before its first migration.
bool Lun::take_tiering_ownership() {
    std::lock_guard ownership(ownership_mutex_);
    if (migrator_->owner()) return true;
    if (ceph::Status s = migrator_->take_ownership(); !s) {
        tiering_problem(s);
        return false;
    }
    return true;
}

void Lun::tiering_problem(const ceph::Status& s, bool caller_logs) {
    std::string problem = s ? std::string() : s.message();
    std::lock_guard lock(problem_mutex_);
    if (problem == tiering_problem_) return;
    if (!caller_logs) {
        if (problem.empty()) {
            RBDTIER_LOG_INFO(config_.spec(),
                             "extents move again (was: " << tiering_problem_ << ")");
        } else {
            RBDTIER_LOG_WARNING(config_.spec(), "extents do not move: " << problem);
        }
    }
    tiering_problem_ = std::move(problem);
}

std::string Lun::tiering_problem() const {
    std::lock_guard lock(problem_mutex_);
    return tiering_problem_;
}

template <typename Submit>
long Lun::submit_part(IoCommand* c, Submit&& submit_fn) {
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, &Lun::on_part_complete, &handle) < 0) return -ENOMEM;
    ceph::Completion completion = ceph::Completion::adopt(handle);
    long rc = submit_fn(completion.handle());
    if (rc < 0) return rc;
    (void)completion.detach();
    return 0;
}

void Lun::on_part_complete(rbd_completion_t completion, void* arg) {
    long rc = 0;
    {
        ceph::Completion owned = ceph::Completion::adopt(completion);
        rc = static_cast<long>(owned.return_value());
    }
    auto* c = static_cast<IoCommand*>(arg);
    c->lun->part_done(c, rc);
}

void Lun::part_done(IoCommand* c, long rc) {
    if (rc < 0) {
        long none = 0;
        c->part_error.compare_exchange_strong(none, rc, std::memory_order_acq_rel);
    }
    if (c->parts.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    const long error = c->part_error.load(std::memory_order_acquire);
    finish(c, error < 0 ? error : 0);
}

void Lun::leave_extents(IoCommand* c, std::uint64_t end_us) {
    const bool wrote = writes(c->kind);
    for (std::uint64_t e = c->first_extent; e <= c->last_extent; ++e) gate_->leave(e, wrote);
    c->gated = false;
    if (c->kind != IoKind::kFlush) {
        IoEvent event;
        event.time_us = tiering_->now_us();
        event.offset = c->offset;
        event.length = static_cast<std::uint32_t>(c->length);
        event.latency_us = static_cast<std::uint32_t>(end_us - c->start_us);
        event.lun = id_;
        event.initiator = c->initiator;
        event.op = c->kind == IoKind::kRead    ? IoOp::kRead
                   : c->kind == IoKind::kUnmap ? IoOp::kUnmap
                                               : IoOp::kWrite;
        tiering_->record(event);
    }
}

void Lun::complete_now(IoCommand* c, int status) {
    tcmu_device* dev = c->dev;
    tcmur_cmd* cmd = c->cmd;
    recycle(c);
    log_answer(cmd, status);
    host_.complete(dev, cmd, status);
    in_flight_.fetch_sub(1, std::memory_order_release);
}

void Lun::resume_routed(IoCommand* c) {
    // Runs on the migrator's thread once the extent is released: the callout returned OK long
    // ago, so a failure now must complete the command.
    const int status = route(c);
    if (status != TCMU_STS_OK) complete_now(c, status);
}

// Returns TCMU_STS_OK when the command was submitted (whole, or in parts that will complete it)
// or parked; any other status means nothing was submitted and c is untouched: the caller gives
// it back (callout) or completes it (resumed).
int Lun::route(IoCommand* c) {
    if (c->kind == IoKind::kFlush) {
        // Every tier image open now (one opened later holds no write this flush covers: nothing
        // was routed to it before it was open).
        std::array<rbd_image_t, 256> open_images{};
        int n = 0;
        for (std::size_t i = 0; i < tiers_->count(); ++i) {
            if (ceph::Image* image = tiers_->opened(i)) open_images[n++] = image->handle();
        }
        c->parts.store(n, std::memory_order_relaxed);
        c->part_error.store(0, std::memory_order_relaxed);
        for (int i = 0; i < n; ++i) {
            rbd_image_t image = open_images[static_cast<std::size_t>(i)];
            long rc =
                submit_part(c, [&](rbd_completion_t comp) { return rbd_aio_flush(image, comp); });
            if (rc < 0) {
                if (i == 0) return io_status_from_rbd(IoKind::kFlush, rc).tcmu_status;
                for (int k = i; k < n; ++k) part_done(c, rc);  // c may be gone now
                return TCMU_STS_OK;
            }
        }
        return TCMU_STS_OK;
    }

    // A routing that may be stale (the map's watch is down) serves nothing until it is reloaded.
    switch (gate_->lease(std::chrono::steady_clock::now())) {
        case ceph::ExtentGate::Lease::kValid:
            break;
        case ceph::ExtentGate::Lease::kRefused:
            return TCMU_STS_BUSY;
        case ceph::ExtentGate::Lease::kFenced:
            // As librbd answers a blocklisted client: the runner learns the lock is lost.
            note_lock_lost("this gateway's client is blocklisted (placement map fenced)");
            if (host_.notify_lock_lost != nullptr) host_.notify_lock_lost(c->dev);
            return io_status_from_rbd(c->kind, -ESHUTDOWN).tcmu_status;
        case ceph::ExtentGate::Lease::kExpired: {
            ceph::ExtentGate::Deferred resume = [this, c] { resume_routed(c); };
            if (gate_->defer_until_routable(resume)) return TCMU_STS_OK;
            return route(c);  // the lease was renewed or refused meanwhile
        }
    }
    const std::uint64_t first = c->offset / extent_bytes_;
    const std::uint64_t last = c->length == 0 ? first : (c->offset + c->length - 1) / extent_bytes_;
    if (last >= gate_->extents()) return TCMU_STS_RANGE;
    const std::uint64_t count = last - first + 1;
    constexpr std::size_t kInline = 16;
    std::array<ceph::ExtentGate::TierIndex, kInline> inline_tiers{};
    std::vector<ceph::ExtentGate::TierIndex> many;
    ceph::ExtentGate::TierIndex* tier_of = inline_tiers.data();
    if (count > kInline) {
        try {
            many.resize(count);
        } catch (const std::bad_alloc&) {
            return TCMU_STS_NO_RESOURCE;
        }
        tier_of = many.data();
    }
    // Enter every extent, or park the command on the one a migration holds.
    for (std::uint64_t e = first; e <= last;) {
        if (auto t = gate_->enter(e)) {
            tier_of[e - first] = *t;
            ++e;
            continue;
        }
        for (std::uint64_t x = first; x < e; ++x) gate_->leave(x, false);
        ceph::ExtentGate::Deferred resume = [this, c] { resume_routed(c); };
        if (gate_->defer(e, resume)) return TCMU_STS_OK;
        e = first;  // released meanwhile: start over
    }
    c->gated = true;
    c->first_extent = first;
    c->last_extent = last;

    int runs = 1;
    for (std::uint64_t i = 1; i < count; ++i) runs += tier_of[i] != tier_of[i - 1];
    auto refuse = [&](int status) {
        for (std::uint64_t e = first; e <= last; ++e) gate_->leave(e, false);
        c->gated = false;
        return status;
    };
    if (runs > 1 && c->kind == IoKind::kCompareAndWrite) return refuse(TCMU_STS_INVALID_CDB);
    if (runs > 1 && c->data_iov != nullptr) {
        try {
            c->slices.clear();
            c->slices.reserve(static_cast<std::size_t>(c->data_iov_cnt) + runs);
        } catch (const std::bad_alloc&) {
            return refuse(TCMU_STS_NO_RESOURCE);
        }
    }
    c->parts.store(runs, std::memory_order_relaxed);
    c->part_error.store(0, std::memory_order_relaxed);

    std::uint64_t run_start = c->offset;
    std::uint64_t i = 0;
    for (int r = 0; r < runs; ++r) {
        const ceph::ExtentGate::TierIndex tier = tier_of[i];
        while (i < count && tier_of[i] == tier) ++i;
        const std::uint64_t run_end = std::min(c->offset + c->length, (first + i) * extent_bytes_);
        const std::uint64_t rel = run_start - c->offset;
        if (c->kind == IoKind::kWriteSame && rel % c->pattern != 0) {
            if (r == 0) return refuse(TCMU_STS_INVALID_CDB);
            for (int k = r; k < runs; ++k) part_done(c, -EINVAL);
            return TCMU_STS_OK;
        }
        const iovec* v = c->data_iov;
        int cnt = c->data_iov_cnt;
        if (v != nullptr && runs > 1) {
            const std::size_t at = c->slices.size();
            cnt = slice_iovec(c->data_iov, c->data_iov_cnt, rel, run_end - run_start, c->slices);
            v = c->slices.data() + at;
        }
        // The gate routes only to open tier images; a closed one here is a defect, refused.
        ceph::Image* opened = tiers_->opened(tier);
        if (opened == nullptr) {
            if (r == 0) return refuse(TCMU_STS_HW_ERR);
            for (int k = r; k < runs; ++k) part_done(c, -EIO);  // c may be gone now
            return TCMU_STS_OK;
        }
        rbd_image_t image = opened->handle();
        const std::uint64_t off = run_start, len = run_end - run_start;
        long rc = submit_part(
            c, [&](rbd_completion_t comp) { return issue(c, image, off, len, v, cnt, comp); });
        if (rc < 0) {
            if (r == 0) return refuse(io_status_from_rbd(c->kind, rc).tcmu_status);
            for (int k = r; k < runs; ++k) part_done(c, rc);  // c may be gone now
            return TCMU_STS_OK;
        }
        run_start = run_end;
    }
    return TCMU_STS_OK;
}

}  // namespace rbdtier
