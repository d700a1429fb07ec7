// `rbdtier lun list` and `rbdtier lun show LUN`: the gateway's LUNs, where their extents are.
// `rbdtier lun repair POOL/[NS/]IMAGE`: rebuilds a tiered LUN's missing placement map from what
// its tier images hold, straight in RADOS (no gateway serves a LUN without its map).
#include <rados/librados.h>

#include <cstring>
#include <iostream>
#include <sstream>

#include "ceph/cluster.h"
#include "ceph/tiered_lun_store.h"
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

std::string tier_summary(const nlohmann::json& lun) {
    std::string out;
    for (const auto& t : lun["tiers"]) {
        if (t["extents"].get<std::uint64_t>() == 0) continue;
        if (!out.empty()) out += " ";
        out += t["pool"].get<std::string>() + ":" + human_bytes(t["bytes"].get<std::uint64_t>());
    }
    return out.empty() ? "-" : out;
}

class LunCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("lun", "LUNs open in the gateway");
        sub->require_subcommand(1);
        list_ = sub->add_subcommand("list", "List the LUNs with size, tenant and bytes per tier");
        show_ =
            sub->add_subcommand("show", "One LUN: tiers, bytes per tier, lock, engine counters");
        show_->add_option("LUN", lun_, "LUN name")->required();
        add_common_options(list_);
        add_common_options(show_);
        repair_ = sub->add_subcommand(
            "repair", "Rebuild a tiered LUN's missing placement map from its tier images");
        repair_->add_option("IMAGE", lun_, "Home image: POOL/IMAGE or POOL/NAMESPACE/IMAGE")
            ->required();
        repair_->add_option("--tiers", tiers_,
                            "Pools to look in, POOL+POOL... (default: every pool)");
        repair_->add_flag("--dry-run", dry_run_, "Report what the map would be; write nothing");
        repair_->add_option("--ceph-conf", ceph_conf_, "ceph.conf (default: Ceph's search path)");
        repair_->add_option("--id", id_, "Ceph client id (without client.)");
        repair_->add_option("--format", repair_format_, "Output format")
            ->check(CLI::IsMember({"table", "json"}))
            ->capture_default_str();
        return sub;
    }

    int run() override {
        if (!repair_->parsed()) return SocketCommand::run();
        try {
            const nlohmann::json r = repair();
            if (repair_format_ == "json") {
                std::cout << r.dump(2) << '\n';
            } else {
                render_repair(r, std::cout);
            }
            return r["ambiguous"].empty() ? kExitOk : kExitFailure;
        } catch (const std::exception& e) {
            if (repair_format_ == "json") {
                std::cout << nlohmann::json{{"error", e.what()}}.dump(2) << '\n';
            }
            std::cerr << "rbdtier: " << e.what() << '\n';
            return kExitFailure;
        }
    }

protected:
    nlohmann::json request() const override {
        if (show_->parsed()) return {{"prefix", "lun show"}, {"lun", lun_}};
        return {{"prefix", "lun list"}};
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        if (!show_->parsed()) {
            TextTable t({"LUN", "IMAGE", "SIZE", "TENANT", "TIERED", "PLACEMENT"});
            for (const auto& l : r["luns"])
                t.add({cell(l["name"]), cell(l["pool"]) + "/" + cell(l["image"]),
                       human_bytes(l["size_bytes"].get<std::uint64_t>()), cell(l["tenant"]),
                       cell(l["tiered"]), tier_summary(l)});
            t.print(out);
            return;
        }
        out << "LUN         " << cell(r["name"]) << '\n'
            << "image       " << cell(r["pool"]) << "/" << cell(r["image"]) << '\n'
            << "size        " << human_bytes(r["size_bytes"].get<std::uint64_t>()) << " ("
            << cell(r["extents"]) << " extents of "
            << human_bytes(r["extent_bytes"].get<std::uint64_t>()) << ")\n"
            << "tenant      " << cell(r["tenant"]) << '\n'
            << "lock owner  " << cell(r["lock_owner"]) << "\n\n";
        TextTable t({"TIER", "CLASS", "SITE", "EXTENTS", "BYTES", "SHARE"});
        const double total = std::max<double>(1, r["extents"].get<double>());
        for (const auto& tier : r["tiers"])
            t.add({cell(tier["pool"]) + (tier["home"].get<bool>() ? " (home)" : ""),
                   cell(tier.value("device_class", nlohmann::json())),
                   cell(tier.value("site", nlohmann::json())), cell(tier["extents"]),
                   human_bytes(tier["bytes"].get<std::uint64_t>()),
                   percent(tier["extents"].get<double>() / total)});
        t.print(out);
        if (const auto& e = r["engine"]; !e.is_null()) {
            out << "\nengine      " << (e["paused"].get<bool>() ? "paused" : "running")
                << ", rounds " << cell(e["rounds"]) << ", events " << cell(e["events"])
                << " (dropped " << cell(e["dropped_events"]) << "), moved " << cell(e["moved"])
                << ", failed " << cell(e["failed"]) << ", "
                << human_bytes(e["bytes_moved"].get<std::uint64_t>()) << " moved\n";
        }
        if (const auto& p = r.value("placement", nlohmann::json()); p.is_object()) {
            std::string silent;
            for (const auto& g : p["unacknowledged_by"]) silent += " " + g.get<std::string>();
            out << "placement   map " << cell(p["map_object"]) << " (format " << cell(p["format"])
                << "), tier images " << cell(p["tier_image"]) << "\n"
                << "            "
                << (p["owner"].get<bool>() ? "this gateway owns the LUN"
                                           : "another gateway owns the LUN")
                << ", " << cell(p["intents"]) << " migrations to clean up"
                << (silent.empty() ? "" : ", last move not acknowledged by" + silent) << "\n";
            if (const std::string routing = p.value("routing", "valid"); routing != "valid") {
                out << "routing     " << routing
                    << " until the placement map is reloaded (watch error "
                    << cell(p.value("watch_error", nlohmann::json())) << ")\n";
            }
            if (const std::string problem = p.value("problem", ""); !problem.empty()) {
                out << "problem     " << problem << "\n";
            }
        }
    }

private:
    nlohmann::json repair() const {
        std::vector<std::string> parts;
        std::istringstream in(lun_);
        for (std::string p; std::getline(in, p, '/');) parts.push_back(p);
        if (parts.size() < 2 || parts.size() > 3) {
            throw std::runtime_error("'" + lun_ + "': expected POOL/IMAGE or POOL/NAMESPACE/IMAGE");
        }
        const std::string pool = parts.front(), image = parts.back();
        const std::string ns = parts.size() == 3 ? parts[1] : "";
        ceph::ClusterOptions options;
        options.conf_path = ceph_conf_;
        options.id = id_;
        options.conf = {{"rados_mon_op_timeout", "15"}, {"rados_osd_op_timeout", "15"}};
        auto cluster = ceph::Cluster::connect(options);
        if (!cluster) throw std::runtime_error(cluster.status().message());
        std::vector<std::string> pools;
        if (!tiers_.empty()) {
            std::istringstream t(tiers_);
            for (std::string p; std::getline(t, p, '+');) pools.push_back(p);
        } else {
            char names[8192];
            const int n = rados_pool_list(cluster->handle(), names, sizeof names);
            if (n < 0 || n > static_cast<int>(sizeof names)) {
                throw std::runtime_error("list pools failed: give --tiers");
            }
            for (const char* p = names; *p != '\0'; p += std::strlen(p) + 1) pools.push_back(p);
        }
        auto repair = ceph::repair_placement_map(*cluster, pool, ns, image, pools, !dry_run_);
        if (!repair) throw std::runtime_error(repair.status().message());
        nlohmann::json placed = nlohmann::json::object(), ambiguous = nlohmann::json::object();
        for (const auto& [e, p] : repair->placed) placed[std::to_string(e)] = p;
        for (const auto& [e, ps] : repair->ambiguous) ambiguous[std::to_string(e)] = ps;
        return {{"image", lun_},
                {"tier_pools", repair->tier_pools},
                {"placed", placed},
                {"ambiguous", ambiguous},
                {"written", repair->written}};
    }

    static void render_repair(const nlohmann::json& r, std::ostream& out) {
        out << "tier images in:";
        for (const auto& p : r["tier_pools"]) out << ' ' << p.get<std::string>();
        out << "\n" << r["placed"].size() << " extents away from home";
        for (const auto& [e, p] : r["placed"].items())
            out << ' ' << e << '=' << p.get<std::string>();
        out << '\n';
        if (!r["ambiguous"].empty()) {
            out << r["ambiguous"].size() << " ambiguous extents (data differs between images):";
            for (const auto& [e, ps] : r["ambiguous"].items()) {
                out << ' ' << e << " (";
                for (std::size_t i = 0; i < ps.size(); ++i) {
                    out << (i ? "," : "") << ps[i].get<std::string>();
                }
                out << ')';
            }
            out << "\nnothing written: decide each ambiguous extent (rbd export the copies and "
                   "compare), remove the copies that are stale, then repair again\n";
        } else {
            out << (r["written"].get<bool>() ? "placement map written\n"
                                             : "dry run: nothing written\n");
        }
    }

    CLI::App* list_ = nullptr;
    CLI::App* show_ = nullptr;
    CLI::App* repair_ = nullptr;
    std::string lun_, tiers_, ceph_conf_, id_, repair_format_ = "table";
    bool dry_run_ = false;
};

}  // namespace

std::unique_ptr<Command> make_lun_command() {
    return std::make_unique<LunCommand>();
}

}  // namespace rbdtier::cli
