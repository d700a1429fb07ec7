// `rbdtier config set|get|rm|list [--lun POOL/IMAGE] [KEY [VALUE]]`: the tiering settings kept in
// the cluster (handler/shared_settings.h), straight in RADOS like `rbd config image set`, so they
// work with or without a running gateway and every gateway reads the same ones.
//   with --lun: the LUN's settings, image metadata "rbdtier.KEY" of its home image (KEY: policy,
//               horizon, quota, tenant; "rbdtier.KEY" is accepted too);
//   without:    the cluster-wide settings, omap of the object rbdtier.config in --pool (default:
//               tenant_pool of rbdtier.conf): migration_bandwidth_mib_s, horizon_s, round_s,
//               tier.POOL.KEY.
// set checks VALUE with the parser the gateway uses (the cfgstring's or rbdtier.conf's) and
// refuses a bad one before anything is written (exit 1). The gateways serving a LUN apply a
// change at once because set/rm notify after writing: a per-LUN one on the LUN's placement map
// object (which each gateway serving the LUN watches), a cluster-wide one on the object itself
// (a failed notify is a warning on stderr: the gateways then find the change within
// kSharedSettingsPeriod, as they find `rbd image-meta set` made by hand). get prints the stored
// value (exit 1 when not set); list prints every stored value with what a gateway would say of
// it, and with --lun the LUN's extent pins too (rbdtier.pins, ceph/extent_pins.h: set by
// `rbdtier pin`/`unpin`, shown here to check what is stored).
#include <algorithm>
#include <iostream>
#include <optional>

#include "ceph/cluster.h"
#include "ceph/extent_pins.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/settings_store.h"
#include "cli/cluster_options.h"
#include "cli/command.h"
#include "cli/text_table.h"
#include "handler/gateway_config.h"
#include "handler/shared_settings.h"

namespace rbdtier::cli {
namespace {

using ConfigError = ClusterCommandError;

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
            options_.add_to(s, "Pool of the cluster-wide object rbdtier.config");
        }
        return sub;
    }

    int run() override {
        return options_.run([this] { return execute(); });
    }

private:
    // The setting's name without "rbdtier." (per LUN).
    std::string lun_key() const {
        std::string k = key_;
        if (std::string_view(k).starts_with(kLunSettingPrefix))
            k.erase(0, kLunSettingPrefix.size());
        return k;
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
        ceph::Cluster cluster = options_.connect();
        return lun_.empty() ? cluster_wide(cluster) : per_lun(cluster);
    }

    int per_lun(ceph::Cluster& cluster) {
        const auto first = lun_.find('/');
        const auto last = lun_.rfind('/');
        if (first == std::string::npos || first == 0 || last + 1 == lun_.size())
            throw ConfigError("--lun '" + lun_ + "' is not POOL/IMAGE or POOL/NAMESPACE/IMAGE");
        const std::string pool = lun_.substr(0, first);
        const std::string ns = first == last ? "" : lun_.substr(first + 1, last - first - 1);
        const ceph::IoContext io = ClusterOptions::open(cluster, pool, ns);
        auto image = ceph::Image::open(io, lun_.substr(last + 1));
        if (!image) throw ConfigError(image.status().message());
        const std::string key = std::string(kLunSettingPrefix) + lun_key();
        if (set_->parsed() || rm_->parsed()) {
            const ceph::Status s =
                set_->parsed() ? image->metadata_set(key, value_) : image->metadata_remove(key);
            if (!s) throw ConfigError(s.message());
            warn_unless(ceph::notify_lun_settings_changed(io, *image));
            return done(key);
        }
        if (get_->parsed()) {
            auto v = image->metadata_get(key);
            if (!v) throw ConfigError(v.status().message());
            return print_value(key, *v);
        }
        auto all = ceph::image_metadata(*image, std::string(kLunSettingPrefix));
        if (!all) throw ConfigError(all.status().message());
        // The settings, and the extent pins (kept beside them, set by `rbdtier pin`).
        std::map<std::string, std::string> settings;
        for (const auto& [k, v] : *all) {
            const std::string name = k.substr(kLunSettingPrefix.size());
            if (!lun_metadata_not_setting(name) || k == ceph::kExtentPinsKey) settings[k] = v;
        }
        print_list(settings, [](const std::string& k, const std::string& v) {
            if (k == ceph::kExtentPinsKey) {
                auto pins = ceph::parse_extent_pins(v);
                return pins ? std::string() : pins.status().message();
            }
            return lun_setting_problem(k.substr(kLunSettingPrefix.size()), v);
        });
        return kExitOk;
    }

    int cluster_wide(ceph::Cluster& cluster) {
        const ceph::IoContext io =
            ClusterOptions::open(cluster, options_.pool("the cluster-wide settings"));
        if (set_->parsed() || rm_->parsed()) {
            const ceph::Status s =
                set_->parsed() ? ceph::set_object_setting(io, kClusterSettingsObject, key_, value_)
                               : ceph::remove_object_setting(io, kClusterSettingsObject, key_);
            if (!s) throw ConfigError(s.message());
            warn_unless(ceph::notify_settings_changed(io, kClusterSettingsObject));
            return done(key_);
        }
        auto all = ceph::object_settings(io, kClusterSettingsObject);
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

    // The gateways watch what was notified: told, they re-read at once (else within their
    // period). The change is made either way: a failed notify is only a warning.
    static void warn_unless(const ceph::Status& notified) {
        if (notified) return;
        std::cerr << "rbdtier: warning: " << notified.message() << "; gateways apply it within "
                  << kSharedSettingsPeriod.count() << " s\n";
    }

    std::string where() const {
        return lun_.empty() ? std::string("the cluster (") + kClusterSettingsObject + ")"
                            : "LUN " + lun_;
    }

    int done(const std::string& key) const {
        const bool set = set_->parsed();
        if (options_.json()) {
            std::cout << nlohmann::json{{"key", key},
                                        {"value", set ? nlohmann::json(value_) : nullptr},
                                        {"lun", lun_.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(lun_)}}
                             .dump(2)
                      << '\n';
        } else {
            std::cout << key << (set ? " = " + value_ : " removed") << " in " << where()
                      << "; gateways apply it at once\n";
        }
        return kExitOk;
    }

    int print_value(const std::string& key, const std::optional<std::string>& value) const {
        if (!value) throw ConfigError(key + " is not set in " + where());
        if (options_.json())
            std::cout << nlohmann::json{{"key", key}, {"value", *value}}.dump(2) << '\n';
        else
            std::cout << *value << '\n';
        return kExitOk;
    }

    template <typename Problem>
    void print_list(const std::map<std::string, std::string>& settings, Problem problem) const {
        if (options_.json()) {
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
    std::string key_, value_, lun_;
    ClusterOptions options_;
};

}  // namespace

std::unique_ptr<Command> make_config_command() {
    return std::make_unique<ConfigCommand>();
}

}  // namespace rbdtier::cli
