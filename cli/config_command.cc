// `rbdtier config set|get|rm|list [--lun POOL/IMAGE] [KEY [VALUE]]`: the tiering settings kept in
// the cluster (handler/shared_settings.h), straight in RADOS like `rbd config image set`, so they
// work with or without a running gateway and every gateway reads the same ones.
//   with --lun: the LUN's settings, image metadata "rbdtier.KEY" of its home image (KEY: policy,
//               horizon, quota, tenant; "rbdtier.KEY" is accepted too);
//   without:    the cluster-wide settings, omap of the object rbdtier.config in --pool (default:
//               tenant_pool of rbdtier.conf): migration_bandwidth_mib_s, horizon_s, round_s,
//               tier.POOL.KEY.
// set checks VALUE with the parser the gateway uses (the cfgstring's or rbdtier.conf's) and
// refuses a bad one before anything is written (exit 1); the gateways serving a LUN follow a
// change within a few seconds. get prints the stored value (exit 1 when not set); list prints
// every stored value with what a gateway would say of it.
#include <algorithm>
#include <iostream>
#include <optional>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/settings_store.h"
#include "cli/command.h"
#include "cli/text_table.h"
#include "handler/gateway_config.h"
#include "handler/shared_settings.h"

namespace rbdtier::cli {
namespace {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ConfigCommand final : public Command {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand(
            "config", "Tiering settings every gateway shares, per LUN or cluster-wide (in RADOS)");
        sub->require_subcommand(1);
        set_ = sub->add_subcommand("set", "Set a setting (checked before it is written)");
        get_ = sub->add_subcommand("get", "Print a setting's stored value");
        rm_ = sub->add_subcommand("rm", "Remove a setting (the next source down applies)");
        list_ = sub->add_subcommand("list", "List the stored settings");
        for (CLI::App* s : {set_, get_, rm_}) s->add_option("KEY", key_, "Setting")->required();
        set_->add_option("VALUE", value_, "Value, as in the cfgstring or rbdtier.conf")->required();
        for (CLI::App* s : {set_, get_, rm_, list_}) {
            s->add_option("--lun", lun_,
                          "The LUN's home image, POOL/IMAGE or POOL/NAMESPACE/IMAGE (without: "
                          "the cluster-wide settings)");
            s->add_option("--pool", pool_,
                          "Pool of the cluster-wide object rbdtier.config (default: tenant_pool "
                          "of --config)");
            s->add_option("--config", config_, "rbdtier.conf")->capture_default_str();
            s->add_option("--ceph-conf", ceph_conf_, "ceph.conf (default: Ceph's search path)");
            s->add_option("--id", id_, "Ceph client id (without 'client.')");
            s->add_option("--format", format_, "Output format")
                ->check(CLI::IsMember({"table", "json"}))
                ->capture_default_str();
        }
        return sub;
    }

    int run() override {
        try {
            return execute();
        } catch (const ConfigError& e) {
            if (format_ == "json") std::cout << nlohmann::json{{"error", e.what()}}.dump(2) << '\n';
            std::cerr << "rbdtier: " << e.what() << '\n';
            return kExitFailure;
        }
    }

private:
    // The setting's name without "rbdtier." (per LUN).
    std::string lun_key() const {
        std::string k = key_;
        if (std::string_view(k).starts_with(kLunSettingPrefix))
            k.erase(0, kLunSettingPrefix.size());
        return k;
    }

    std::string settings_pool() const {
        if (!pool_.empty()) return pool_;
        const ConfigOutcome c = load_gateway_config(config_);
        if (c.ok() && !c.config->tenant_pool.empty()) return c.config->tenant_pool;
        throw ConfigError(
            "no pool for the cluster-wide settings: give --pool POOL or set "
            "tenant_pool in " +
            config_);
    }

    // Checks before connecting: a bad key or value is refused without touching the cluster.
    void check() const {
        if (!(set_->parsed() || get_->parsed() || rm_->parsed())) return;
        const bool lun = !lun_.empty();
        const std::string name = lun ? lun_key() : key_;
        // A value valid for every setting of its kind, to ask only whether the key is known.
        std::string why;
        if (set_->parsed()) {
            why = lun ? lun_setting_problem(name, value_) : cluster_setting_problem(name, value_);
        } else if (lun) {
            const auto& names = lun_setting_names();
            if (std::find(names.begin(), names.end(), name) == names.end())
                why = lun_setting_problem(name, "");
        } else {
            const auto& names = cluster_setting_names();
            if (std::find(names.begin(), names.end(), name) == names.end() &&
                !std::string_view(name).starts_with(kTierSettingPrefix))
                why = cluster_setting_problem(name, "");
        }
        if (!why.empty()) throw ConfigError(key_ + ": " + why);
    }

    int execute() {
        check();
        ceph::ClusterOptions options;
        options.conf_path = ceph_conf_;
        options.id = id_;
        options.conf = {{"rados_mon_op_timeout", "15"}, {"rados_osd_op_timeout", "15"}};
        auto cluster = ceph::Cluster::connect(options);
        if (!cluster) throw ConfigError(cluster.status().message());
        return lun_.empty() ? cluster_wide(*cluster) : per_lun(*cluster);
    }

    int per_lun(ceph::Cluster& cluster) {
        const auto first = lun_.find('/');
        const auto last = lun_.rfind('/');
        if (first == std::string::npos || first == 0 || last + 1 == lun_.size())
            throw ConfigError("--lun '" + lun_ + "' is not POOL/IMAGE or POOL/NAMESPACE/IMAGE");
        const std::string pool = lun_.substr(0, first);
        const std::string ns = first == last ? "" : lun_.substr(first + 1, last - first - 1);
        auto io = ceph::IoContext::open(cluster, pool, ns);
        if (!io) throw ConfigError(io.status().message());
        auto image = ceph::Image::open(*io, lun_.substr(last + 1));
        if (!image) throw ConfigError(image.status().message());
        const std::string key = std::string(kLunSettingPrefix) + lun_key();
        if (set_->parsed() || rm_->parsed()) {
            const ceph::Status s =
                set_->parsed() ? image->metadata_set(key, value_) : image->metadata_remove(key);
            if (!s) throw ConfigError(s.message());
            return done(key);
        }
        if (get_->parsed()) {
            auto v = image->metadata_get(key);
            if (!v) throw ConfigError(v.status().message());
            return print_value(key, *v);
        }
        auto all = ceph::image_metadata(*image, std::string(kLunSettingPrefix));
        if (!all) throw ConfigError(all.status().message());
        std::map<std::string, std::string> settings;
        for (const auto& [k, v] : *all) {
            const std::string name = k.substr(kLunSettingPrefix.size());
            if (name != "pin" && name != "lun") settings[k] = v;  // not settings (pin, tag)
        }
        print_list(settings, [](const std::string& k, const std::string& v) {
            return lun_setting_problem(k.substr(kLunSettingPrefix.size()), v);
        });
        return kExitOk;
    }

    int cluster_wide(ceph::Cluster& cluster) {
        const std::string pool = settings_pool();
        auto io = ceph::IoContext::open(cluster, pool);
        if (!io) throw ConfigError(io.status().message());
        if (set_->parsed() || rm_->parsed()) {
            const ceph::Status s =
                set_->parsed() ? ceph::set_object_setting(*io, kClusterSettingsObject, key_, value_)
                               : ceph::remove_object_setting(*io, kClusterSettingsObject, key_);
            if (!s) throw ConfigError(s.message());
            return done(key_);
        }
        auto all = ceph::object_settings(*io, kClusterSettingsObject);
        if (!all) throw ConfigError(all.status().message());
        if (get_->parsed()) {
            auto it = all->find(key_);
            return print_value(key_, it == all->end() ? std::optional<std::string>()
                                                      : std::optional<std::string>(it->second));
        }
        print_list(*all, [](const std::string& k, const std::string& v) {
            return cluster_setting_problem(k, v);
        });
        return kExitOk;
    }

    std::string where() const {
        return lun_.empty() ? std::string("the cluster (") + kClusterSettingsObject + ")"
                            : "LUN " + lun_;
    }

    int done(const std::string& key) const {
        const bool set = set_->parsed();
        if (format_ == "json") {
            std::cout << nlohmann::json{{"key", key},
                                        {"value", set ? nlohmann::json(value_) : nullptr},
                                        {"lun", lun_.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(lun_)}}
                             .dump(2)
                      << '\n';
        } else {
            std::cout << key << (set ? " = " + value_ : " removed") << " in " << where()
                      << "; gateways follow within a few seconds\n";
        }
        return kExitOk;
    }

    int print_value(const std::string& key, const std::optional<std::string>& value) const {
        if (!value) throw ConfigError(key + " is not set in " + where());
        if (format_ == "json")
            std::cout << nlohmann::json{{"key", key}, {"value", *value}}.dump(2) << '\n';
        else
            std::cout << *value << '\n';
        return kExitOk;
    }

    template <typename Problem>
    void print_list(const std::map<std::string, std::string>& settings, Problem problem) const {
        if (format_ == "json") {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& [k, v] : settings)
                out.push_back({{"key", k}, {"value", v}, {"problem", problem(k, v)}});
            std::cout << nlohmann::json{{"settings", out}}.dump(2) << '\n';
            return;
        }
        TextTable t({"KEY", "VALUE", "PROBLEM"});
        for (const auto& [k, v] : settings) t.add({k, v, problem(k, v)});
        t.print(std::cout);
    }

    CLI::App *set_ = nullptr, *get_ = nullptr, *rm_ = nullptr, *list_ = nullptr;
    std::string key_, value_, lun_, pool_, ceph_conf_, id_, format_ = "table";
    std::string config_ = GatewayConfig::kDefaultPath;
};

}  // namespace

std::unique_ptr<Command> make_config_command() {
    return std::make_unique<ConfigCommand>();
}

}  // namespace rbdtier::cli
