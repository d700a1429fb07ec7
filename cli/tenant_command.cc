// `rbdtier tenant list | show NAME | create NAME | set NAME`: tenant definitions, straight in
// RADOS (ceph/tenant_store.h), so they work with or without a running gateway and every gateway
// sees the same ones. --pool (default: tenant_pool of rbdtier.conf) names the pool holding them.
#include <charconv>
#include <iostream>

#include "ceph/cluster.h"
#include "ceph/io_context.h"
#include "ceph/tenant_store.h"
#include "cli/cluster_options.h"
#include "cli/command.h"
#include "cli/text_table.h"
#include "handler/gateway_config.h"

namespace rbdtier::cli {
namespace {

using TenantError = ClusterCommandError;

// "nvme-a=10G" -> {"nvme-a", 10 GiB}; suffixes K, M, G, T (binary), none = bytes.
std::pair<std::string, std::uint64_t> parse_quota(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw TenantError("quota '" + text + "' is not POOL=SIZE");
    std::string size = text.substr(eq + 1);
    std::uint64_t mult = 1;
    if (!size.empty()) {
        switch (std::toupper(static_cast<unsigned char>(size.back()))) {
            case 'K':
                mult = 1ull << 10;
                break;
            case 'M':
                mult = 1ull << 20;
                break;
            case 'G':
                mult = 1ull << 30;
                break;
            case 'T':
                mult = 1ull << 40;
                break;
            default:
                break;
        }
        if (mult != 1) size.pop_back();
    }
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
    if (size.empty() || ec != std::errc() || p != size.data() + size.size() ||
        n > UINT64_MAX / mult)
        throw TenantError("quota '" + text + "': '" + text.substr(eq + 1) +
                          "' is not a size (e.g. 10G)");
    return {text.substr(0, eq), n * mult};
}

nlohmann::json tenant_json(const ceph::StoredTenant& t) {
    return {{"name", t.name},
            {"quota_bytes", t.quota_bytes},
            {"bandwidth_weight", t.bandwidth_weight},
            {"priority", t.priority}};
}

class TenantCommand final : public Command {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand(
            "tenant", "Tenants: quota per tier, bandwidth share, priority (in RADOS)");
        sub->require_subcommand(1);
        list_ = sub->add_subcommand("list", "List the tenants");
        show_ = sub->add_subcommand("show", "Show one tenant");
        create_ = sub->add_subcommand("create", "Create a tenant");
        set_ = sub->add_subcommand("set", "Change a tenant (only what is given)");
        for (CLI::App* s : {show_, create_, set_})
            s->add_option("NAME", name_, "Tenant name")->required();
        for (CLI::App* s : {create_, set_}) {
            s->add_option("--quota", quotas_,
                          "Quota in a pool, POOL=SIZE (K/M/G/T); repeatable; SIZE 0 removes it");
            s->add_option("--bandwidth-weight", weight_, "Share of the migration bandwidth")
                ->check(CLI::PositiveNumber);
            s->add_option("--priority", priority_, "Multiplies the benefit of its migrations")
                ->check(CLI::PositiveNumber);
        }
        for (CLI::App* s : {list_, show_, create_, set_})
            options_.add_to(s, "Pool holding the tenants");
        return sub;
    }

    int run() override {
        return options_.run([this] { return execute(); });
    }

private:
    int execute() {
        const std::string pool = options_.pool("the tenants");
        const ceph::Cluster cluster = options_.connect();
        const ceph::IoContext io = ClusterOptions::open(cluster, pool);
        ceph::TenantStore store(io);

        if (list_->parsed()) {
            auto all = store.list();
            if (!all) throw TenantError(all.status().message());
            nlohmann::json out = nlohmann::json::array();
            for (const auto& t : all.value()) out.push_back(tenant_json(t));
            print_list(out);
            return kExitOk;
        }
        ceph::StoredTenant tenant;
        tenant.name = name_;
        if (set_->parsed() || show_->parsed()) {
            auto existing = store.get(name_);
            if (!existing) throw TenantError(existing.status().message());
            tenant = existing.value();
        }
        if (create_->parsed() || set_->parsed()) {
            for (const auto& q : quotas_) {
                auto [p, bytes] = parse_quota(q);
                if (bytes == 0)
                    tenant.quota_bytes.erase(p);
                else
                    tenant.quota_bytes[p] = bytes;
            }
            if (weight_) tenant.bandwidth_weight = *weight_;
            if (priority_) tenant.priority = *priority_;
            const ceph::Status s = create_->parsed() ? store.create(tenant) : store.update(tenant);
            if (!s) throw TenantError(s.message());
        }
        print_one(tenant_json(tenant));
        return kExitOk;
    }

    void print_list(const nlohmann::json& tenants) const {
        if (options_.json()) {
            std::cout << nlohmann::json{{"tenants", tenants}}.dump(2) << '\n';
            return;
        }
        TextTable t({"TENANT", "PRIORITY", "BW WEIGHT", "QUOTAS"});
        for (const auto& x : tenants)
            t.add({cell(x["name"]), cell(x["priority"]), cell(x["bandwidth_weight"]), quotas(x)});
        t.print(std::cout);
    }
    void print_one(const nlohmann::json& x) const {
        if (options_.json()) {
            std::cout << x.dump(2) << '\n';
            return;
        }
        std::cout << "tenant            " << cell(x["name"]) << "\npriority          "
                  << cell(x["priority"]) << "\nbandwidth weight  " << cell(x["bandwidth_weight"])
                  << "\nquotas            " << quotas(x) << '\n';
    }
    static std::string quotas(const nlohmann::json& x) {
        std::string out;
        for (const auto& [pool, bytes] : x["quota_bytes"].items())
            out += (out.empty() ? "" : " ") + pool + "=" + human_bytes(bytes.get<std::uint64_t>());
        return out.empty() ? "unlimited" : out;
    }

    CLI::App *list_ = nullptr, *show_ = nullptr, *create_ = nullptr, *set_ = nullptr;
    std::string name_;
    ClusterOptions options_;
    std::vector<std::string> quotas_;
    std::optional<double> weight_, priority_;
};

}  // namespace

std::unique_ptr<Command> make_tenant_command() {
    return std::make_unique<TenantCommand>();
}

}  // namespace rbdtier::cli
