#include "handler/tiered_lun.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "ceph/extent_pins.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/resource_monitor.h"
#include "ceph/settings_store.h"
#include "ceph/tenant_quota.h"
#include "ceph/tier_discovery.h"
#include "ceph/tiered_lun_store.h"
#include "common/log.h"
#include "engine/policy/policy_registry.h"

namespace rbdtier {

namespace {

// The policy a LUN's cfgstring asks for, by the name the policy registry knows.
std::string policy_name(TierPolicy policy) {
    return std::string(to_string(policy));
}

// The ownership rule's refusal as the status the LUN reports: its errno value and its reason.
ceph::Status to_status(const OwnershipRefusal& refusal) {
    return ceph::Status::error(refusal.code, refusal.reason);
}

// The cluster and client identity a LUN's client is connected as: LUNs with the same key share
// the gateway's copy of the cluster-wide settings and its watch.
std::string client_key(const LunConfig& config) {
    return config.conf_path + '\n' + config.client_id;
}

}  // namespace

// The LUN's answers to engine/lun_ownership.h's questions.
class TieredLun::Ownership final : public OwnershipSource {
public:
    explicit Ownership(TieredLun& lun) : lun_(lun) {}

    RoundLock lock_this_round() override {
        // A round trip to the cluster only when the probe's answer is stale (handler/lock_probe.h).
        LockProbe& probe = lun_.home_.lock.probe;
        if (!probe.should_ask(LockProbe::Clock::now())) return {probe.held(), false};
        return {holds_lock(), true};
    }
    bool holds_lock() override {
        const auto asked_at = LockProbe::Clock::now();
        const bool held = holds_exclusive_lock(lun_.home_.image) == 1;
        lun_.home_.lock.probe.answered(held, asked_at);
        return held;
    }
    bool lock_by_callout() const override { return lun_.home_.lock.by_callout.load(); }
    std::optional<std::size_t> gateways(OwnershipRefusal& why) override {
        auto gateways = lun_.home_.image.watcher_count();
        if (gateways) return *gateways;
        why = {gateways.status().code(), gateways.status().context()};
        return std::nullopt;
    }
    bool follow_home_pin() override { return lun_.follow_home_pin(); }
    bool take_ownership() override { return lun_.take_tiering_ownership(); }
    void note_problem(const std::optional<OwnershipRefusal>& problem) override {
        lun_.tiering_problem(problem ? to_status(*problem) : ceph::Status::ok());
    }

private:
    TieredLun& lun_;
};

TieredLun::TieredLun(Home home, const LunConfig& config,
                     std::shared_ptr<const GatewayConfig> gateway,
                     std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
                     std::shared_ptr<MigrationExecutor> executor)
    : home_(home),
      config_(config),
      settings_(resolve_tiering_settings(config, *gateway)),
      ownership_(std::make_unique<Ownership>(*this)),
      ownership_rule_(*ownership_),
      base_config_(config),
      base_gateway_(std::move(gateway)),
      cluster_object_(std::move(cluster_object)),
      executor_(std::move(executor)) {
    // Until the cluster's settings are read: the cfgstring's and rbdtier.conf's.
    take_shared_settings_locked(apply_shared_settings(config, *base_gateway_, {}, {}));
}

ceph::Result<std::unique_ptr<TieredLun>> TieredLun::open(
    Home home, const LunConfig& config, std::shared_ptr<const GatewayConfig> gateway,
    std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
    std::shared_ptr<MigrationExecutor> executor,
    const ceph::Result<std::map<std::string, std::string>>& metadata,
    std::shared_ptr<const ceph::Cluster> probe) {
    std::unique_ptr<TieredLun> lun(new TieredLun(home, config, std::move(gateway),
                                                 std::move(cluster_object), std::move(executor)));
    lun->probe_ = std::move(probe);
    // What the cluster says of the LUN's settings comes before its cfgstring and rbdtier.conf.
    SharedSettings shared;
    std::map<std::string, std::string> cluster_object_entries;
    std::string why;
    if (lun->read_shared_settings(shared, cluster_object_entries, why, {}, &metadata)) {
        lun->log_new_problems_locked(shared.problems);
        lun->cluster_seen_ = std::move(cluster_object_entries);
        lun->config_ = shared.lun;
        lun->settings_ = resolve_tiering_settings(shared.lun, shared.gateway);
        lun->take_shared_settings_locked(std::move(shared));
    } else {
        lun->read_problem_ = why;
        RBDTIER_LOG_WARNING(config.spec(),
                            why << "; using the cfgstring and rbdtier.conf settings");
    }
    if (ceph::Status s = lun->enable_tiering(metadata); !s) return s;
    return lun;
}

TieredLun::~TieredLun() {
    stop();
}

void TieredLun::stop() {
    // The settings watch, the rounds (and the migrations they run) and the map's watch run on
    // the process's shared threads (the watch hub, the rounds driver) and use this LUN's
    // members: each is ended, waiting for its work in progress and its callbacks in flight,
    // before any member is destroyed.
    settings_watch_.reset();
    if (tiering_) tiering_->stop();
    watch_.reset();
}

ceph::Status TieredLun::take_over() {
    if (ceph::Status s = tiers_->take_over(); !s) return s.with_context("tier images");
    if (ceph::Status s = migrator_->take_ownership(); !s) {
        tiering_problem(s, /*caller_logs=*/true);
        return s.with_context("tiering");
    }
    return ceph::Status::ok();
}

void TieredLun::give_up() {
    if (ceph::Status s = migrator_->release_ownership(); !s) tiering_problem(s);
}

ceph::Status TieredLun::resize(std::uint64_t new_size, std::uint64_t image_size) {
    if (ceph::Status st = tiers_->resize(std::max(new_size, image_size)); !st) return st;
    gate_->grow((new_size + extent_bytes_ - 1) / extent_bytes_);
    migrator_->set_lun_size(new_size);
    return ceph::Status::ok();
}

ceph::Status TieredLun::enable_tiering(
    const ceph::Result<std::map<std::string, std::string>>& metadata) {
    auto store = ceph::open_tiered_lun_store(home_.cluster, config_.pool, config_.ns, config_.image,
                                             config_.tiers, &home_.image, probe_.get());
    if (!store) return store.status();
    tiers_.emplace(std::move(store->images));
    map_.emplace(std::move(store->map));
    extent_bytes_ = tiers_->object_size();
    const std::uint64_t size = home_.size;
    gate_ = std::make_unique<ceph::ExtentGate>((size + extent_bytes_ - 1) / extent_bytes_);
    // The LUN's tiers: the pools their data lives in (the home image's data pool for the home
    // tier) as discovered, with the gateway's overrides and the LUN's quotas
    // (engine/policy/tier_model.h). Its policy and its copies go by the latencies seen so: each
    // copy moves as much at a time as the rule there gives the tier.
    std::vector<LunTier> lun_tiers;
    const std::vector<std::string> data_pools = tiers_->data_pools();
    for (const std::string& pool : data_pools) {
        LunTier& t = lun_tiers.emplace_back();
        t.discovered = ceph::describe_tier(sampler(), pool);
        if (auto o = settings_.tier_overrides.find(pool); o != settings_.tier_overrides.end())
            t.override = o->second;
        if (auto q = config_.quota.find(pool); q != config_.quota.end()) t.quota_bytes = q->second;
    }
    ceph::MigratorOptions migrator_options;
    migrator_options.chunk_bytes = copy_chunk_bytes(lun_tiers);
    // Fault tests (tests/soak) have the gateway killed at a step of its migrations.
    if (const char* crash = std::getenv("RBDTIER_CRASH_AT")) {
        migrator_options.crash_at = ceph::crash_point_from_name(crash);
    }
    migrator_options.may_commit = [this] { return may_move_extents(); };
    migrator_ =
        std::make_unique<ceph::ExtentMigrator>(*tiers_, *map_, *gate_, size, migrator_options);
    // Watch first, then route from the map: no move of the owner's can fall in between.
    auto watch_io = ceph::IoContext::open(home_.cluster, config_.pool, config_.ns);
    if (!watch_io) return watch_io.status();
    auto watch = ceph::PlacementWatch::start(home_.cluster, std::move(*watch_io), *map_, *gate_,
                                             *tiers_, [this] { return migrator_->sync_routing(); });
    if (!watch) return watch.status();
    watch_ = std::move(*watch);
    if (ceph::Status s = migrator_->sync_routing(); !s) return s;

    LunPolicySettings policy_settings;
    policy_settings.local_site = settings_.site;
    policy_settings.extent_bytes = extent_bytes_;
    policy_settings.horizon_s = settings_.horizon_s;
    policy_settings.round_us = settings_.round_us;
    policy_settings.bandwidth_bytes_per_s = settings_.bandwidth_bytes_per_s;
    policy_settings.max_tracked_extents = settings_.max_tracked_extents;
    policy_settings.lun = home_.policy_lun;
    policy_settings.tenant = config_.tenant;
    const StorageModel policy_config = lun_policy_config(lun_tiers, policy_settings);
    std::vector<TierSpec> specs;
    for (const TierModel& model : policy_config.tiers) specs.push_back(model.spec);
    policy_config_ = policy_config;
    auto policy = builtin_policy_registry().create(policy_name(config_.policy),
                                                   PolicyContext{policy_config, {}});
    LunRoundsOptions options;
    options.lun = home_.policy_lun;
    options.round_us = policy_config.round_us;
    options.executor = executor_;
    options.bandwidth_bytes_per_s = settings_.bandwidth_bytes_per_s;
    options.tenant = config_.tenant;
    // The tenant registry names the LUN's images where they are (it measures the tier images).
    std::vector<std::string> image_pools;
    for (std::size_t i = 0; i < tiers_->count(); ++i) image_pools.push_back(tiers_->pool(i));
    const ceph::TenantLunRef tenant_lun{
        config_.ns.empty() ? config_.pool : config_.pool + "/" + config_.ns, config_.image,
        image_pools, tiers_->lun().tier_image_name()};
    options.name_in_tenant = tenant_lun.name();
    options.may_plan = [this] { return ownership_rule_.may_plan(); };
    options.may_migrate = [this] { return ownership_rule_.may_migrate(); };
    tiering_ = std::make_unique<ceph::LunTiering>(*tiers_, *gate_, *migrator_, std::move(specs),
                                                  std::move(policy), options);
    // What the tiers' pools and the tenant leave room for, sampled on the rounds thread.
    tiering_->set_resource_monitor(std::make_unique<ceph::ResourceMonitor>(
        sampler(), data_pools, ceph::PoolSampleCache::process()));
    if (!config_.tenant.empty()) {
        auto quota = std::make_shared<ceph::TenantQuota>(home_.cluster, settings_.tenant_pool,
                                                         config_.tenant, tenant_lun,
                                                         ceph::AllocationCache::process());
        if (ceph::Status s = quota->register_self(); !s) return s;
        tiering_->set_tenant_room_source([quota] { return quota->refresh(); });
    }
    // Settings changed in the cluster are applied when notified, whatever the rounds do: the
    // LUN's own through the map's watch, the cluster-wide ones through the settings object's.
    settings_watch_ = std::make_unique<ceph::SettingsWatch>(
        home_.cluster, home_.io, home_.image, watch_.get(), client_key(base_config_),
        resolve_tiering_settings(base_config_, *base_gateway_).tenant_pool, kClusterSettingsObject,
        config_.spec(), kSharedSettingsPeriod,
        [this](std::chrono::steady_clock::time_point changed_at) {
            follow_shared_settings(changed_at);
        });
    // The pins as the metadata read at open says, else read now; the settings' re-reads
    // follow them from then on.
    if (metadata)
        take_pins(metadata.value(), pin_versions());
    else
        (void)follow_home_pin();
    // Whatever the policy: pins and the home pin are carried out by the rounds (under
    // policy=none they are all that moves).
    tiering_->start();
    return ceph::Status::ok();
}

bool TieredLun::read_shared_settings(SharedSettings& out,
                                     std::map<std::string, std::string>& cluster, std::string& why,
                                     std::chrono::steady_clock::time_point changed_at,
                                     const ceph::Result<std::map<std::string, std::string>>* read,
                                     std::optional<PinVersions> pin_seen) {
    auto metadata =
        read != nullptr ? *read : ceph::image_metadata(home_.image, std::string(kLunSettingPrefix));
    if (!metadata) {
        why = metadata.status().with_context("read the LUN's settings").message();
        return false;
    }
    if (pin_seen) take_pins(*metadata, *pin_seen);
    const std::string pool = resolve_tiering_settings(base_config_, *base_gateway_).tenant_pool;
    auto object = [&]() -> ceph::Result<std::map<std::string, std::string>> {
        if (cluster_object_) {
            // The gateway's copy: LUNs of one client identity and pool share one read a period.
            return cluster_object_->read(home_.cluster, client_key(base_config_), pool,
                                         kClusterSettingsObject, changed_at);
        }
        auto io = ceph::IoContext::open(home_.cluster, pool);
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
    out = apply_shared_settings(base_config_, *base_gateway_, *metadata, cluster);
    if (no_pool)
        out.problems.push_back("cluster-wide settings (" + std::string(kClusterSettingsObject) +
                               "): pool " + pool +
                               " does not exist (tenant_pool); none are read from it");
    return true;
}

void TieredLun::log_new_problems_locked(const std::vector<std::string>& fresh) {
    for (const std::string& p : fresh)
        if (std::find(problems_.begin(), problems_.end(), p) == problems_.end())
            RBDTIER_LOG_WARNING(config_.spec(), "setting not used: " << p);
}

void TieredLun::take_shared_settings_locked(SharedSettings&& applied) {
    const TieringSettings resolved = resolve_tiering_settings(applied.lun, applied.gateway);
    policy_in_force_ = applied.lun.policy;
    horizon_s_in_force_ = resolved.horizon_s;
    round_us_in_force_ = resolved.round_us;
    report_ = std::move(applied.report);
    report_.shrink_to_fit();
    problems_ = std::move(applied.problems);
    problems_.shrink_to_fit();
}

void TieredLun::follow_shared_settings(std::chrono::steady_clock::time_point changed_at) {
    SharedSettings fresh;
    std::map<std::string, std::string> cluster;
    std::string why;
    // Before the read: an admin command that changes a pin meanwhile wins over what it finds.
    const PinVersions pin_seen = pin_versions();
    const bool read = read_shared_settings(fresh, cluster, why, changed_at, nullptr, pin_seen);
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
        const TieringSettings is = resolve_tiering_settings(fresh.lun, fresh.gateway);
        if (fresh.lun.policy != policy_in_force_ || horizon_s_in_force_ != is.horizon_s ||
            round_us_in_force_ != is.round_us) {
            StorageModel c = policy_config_;
            c.horizon_us = static_cast<std::uint64_t>(is.horizon_s * 1e6);
            c.round_us = is.round_us;
            tiering_->replace_policy(builtin_policy_registry().create(policy_name(fresh.lun.policy),
                                                                      PolicyContext{c, {}}),
                                     is.round_us);
            RBDTIER_LOG_INFO(config_.spec(), "settings changed in the cluster: policy "
                                                 << to_string(fresh.lun.policy) << " (was "
                                                 << to_string(policy_in_force_) << "), horizon "
                                                 << is.horizon_s << " s (was "
                                                 << horizon_s_in_force_ << "), round "
                                                 << static_cast<double>(is.round_us) / 1e6 << " s");
        }
        // Quota, tenant and tier overrides shape the tiers and the tenant's registration made
        // at open: they change when the LUN is opened again.
        if (fresh.lun.quota != config_.quota || fresh.lun.tenant != config_.tenant ||
            is.tier_overrides != settings_.tier_overrides)
            RBDTIER_LOG_INFO(config_.spec(),
                             "quota, tenant or tier settings changed in the cluster: they take "
                             "effect when the LUN is opened again");
        for (const char* name : {"quota", "tenant"}) {  // as at open (see above)
            auto named = [&](const EffectiveSetting& e) { return e.name == name; };
            auto now_it = std::find_if(fresh.report.begin(), fresh.report.end(), named);
            auto was_it = std::find_if(report_.begin(), report_.end(), named);
            if (now_it != fresh.report.end() && was_it != report_.end()) *now_it = *was_it;
        }
        take_shared_settings_locked(std::move(fresh));
        if (cluster != cluster_seen_) {
            cluster_seen_ = cluster;
            listener = cluster_listener_;
        }
    }
    if (listener) listener(cluster);
}

std::vector<EffectiveSetting> TieredLun::settings_report() const {
    std::lock_guard lock(shared_mutex_);
    return report_;
}

std::vector<std::string> TieredLun::settings_problems() const {
    std::lock_guard lock(shared_mutex_);
    std::vector<std::string> out = problems_;
    out.insert(out.end(), pin_problems_.begin(), pin_problems_.end());
    if (!read_problem_.empty()) out.push_back(read_problem_);
    return out;
}

TieringInForce TieredLun::tiering_in_force() const {
    std::lock_guard lock(shared_mutex_);
    return {policy_name(policy_in_force_), horizon_s_in_force_,
            static_cast<double>(round_us_in_force_) / 1e6};
}

std::map<std::string, std::string> TieredLun::cluster_settings() const {
    std::lock_guard lock(shared_mutex_);
    return cluster_seen_;
}

void TieredLun::set_cluster_settings_listener(
    std::function<void(const std::map<std::string, std::string>&)> listener) {
    std::lock_guard lock(shared_mutex_);
    cluster_listener_ = std::move(listener);
}

ceph::Status TieredLun::may_move_extents() {
    const auto refused = ownership_rule_.may_move_extents();
    return refused ? to_status(*refused) : ceph::Status::ok();
}

bool TieredLun::follow_home_pin() {
    if (home_pin_known_.load()) return true;
    // An admin command may change a pin while it is read: the newer change wins.
    const PinVersions seen = pin_versions();
    auto metadata = ceph::image_metadata(home_.image, std::string(kLunSettingPrefix));
    if (!metadata) {
        tiering_problem(metadata.status().with_context("read the LUN's home pin"));
        return false;
    }
    take_pins(*metadata, seen);
    return true;
}

TieredLun::PinVersions TieredLun::pin_versions() const {
    return {tiering_->home_pin_version(), tiering_->pins_version()};
}

void TieredLun::take_pins(const std::map<std::string, std::string>& metadata, PinVersions seen) {
    tiering_->set_home_pinned(ceph::home_pinned(metadata), seen.home);
    home_pin_known_.store(true);
    std::vector<std::string> problems;
    if (auto stored = ceph::extent_pins(metadata); stored) {
        ceph::ResolvedPins resolved =
            ceph::resolve_extent_pins(*stored, tiers_->data_pools(), gate_->extents());
        tiering_->replace_pins(resolved.ranges, seen.extents);
        problems = std::move(resolved.problems);
    } else {
        problems.push_back(stored.status().message() + "; keeping the pins in force");
    }
    std::lock_guard lock(shared_mutex_);
    for (const std::string& p : problems)
        if (std::find(pin_problems_.begin(), pin_problems_.end(), p) == pin_problems_.end())
            RBDTIER_LOG_WARNING(config_.spec(), "pin not applied: " << p);
    pin_problems_ = std::move(problems);
}

// The holder of the LUN's exclusive lock owns its tiering too: it takes the map's fence (and
// so fences the previous owner's commits) before its first migration.
bool TieredLun::take_tiering_ownership() {
    std::lock_guard ownership(home_.lock.ownership);
    if (migrator_->owner()) return true;
    if (ceph::Status s = migrator_->take_ownership(); !s) {
        tiering_problem(s);
        return false;
    }
    return true;
}

void TieredLun::tiering_problem(const ceph::Status& s, bool caller_logs) {
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

std::string TieredLun::tiering_problem() const {
    std::lock_guard lock(problem_mutex_);
    return tiering_problem_;
}

}  // namespace rbdtier
