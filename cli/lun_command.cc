// `rbdtier lun list` and `rbdtier lun show LUN`: the gateway's LUNs, where their extents are.
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
        return sub;
    }

protected:
    nlohmann::json request() const override {
        if (show_->parsed()) return {{"command", "lun show"}, {"lun", lun_}};
        return {{"command", "lun list"}};
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
            if (const std::string problem = p.value("problem", ""); !problem.empty()) {
                out << "problem     " << problem << "\n";
            }
        }
    }

private:
    CLI::App* list_ = nullptr;
    CLI::App* show_ = nullptr;
    std::string lun_;
};

}  // namespace

std::unique_ptr<Command> make_lun_command() {
    return std::make_unique<LunCommand>();
}

}  // namespace rbdtier::cli
