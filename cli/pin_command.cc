// `rbdtier pin LUN RANGE TIER` / `rbdtier unpin LUN RANGE`: keep a range of a LUN's extents in one
// tier (the engine moves them there first and never elsewhere), or hand them back to the policy.
// RANGE is in extents ("0-15", "7") or bytes with a unit on both ends ("0M-64M"); the gateway
// checks it and the tier (one of the LUN's tier pools) and refuses with the reason. The gateway
// keeps the pins in RADOS (ceph/extent_pins.h) and tells the others serving the LUN, so any of
// them may answer and the pins outlive restarts and failovers; the reply lists the pins now.
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class PinCommand final : public SocketCommand {
public:
    explicit PinCommand(bool pin) : pin_(pin) {}
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand(pin_ ? "pin" : "unpin",
                                           pin_ ? "Keep a range of extents in one tier"
                                                : "Hand pinned extents back to the engine");
        sub->add_option("LUN", lun_, "LUN name")->required();
        sub->add_option("RANGE", range_, "Extents (0-15) or bytes (0M-64M)")->required();
        if (pin_)
            sub->add_option("TIER", tier_, "Tier pool, e.g. nvme-a")->required();
        else
            sub->add_option("TIER", tier_, "Ignored (accepted for symmetry with pin)");
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{kAdminPrefixKey, pin_ ? kCommandPin : kCommandUnpin},
                            {"lun", lun_},
                            {"range", range_}};
        if (pin_) r["tier"] = tier_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << (pin_ ? "pinned" : "unpinned") << " extents " << cell(r["first_extent"]) << "-"
            << r["first_extent"].get<std::uint64_t>() + r["count"].get<std::uint64_t>() - 1
            << " of " << cell(r["lun"]) << (pin_ ? " to " + cell(r["tier"]) : "") << '\n';
        TextTable t({"FIRST", "LAST", "COUNT", "TIER"});
        for (const auto& p : r["pins"])
            t.add({cell(p["first_extent"]), cell(p["last_extent"]), cell(p["count"]),
                   cell(p["tier"])});
        t.print(out);
    }

private:
    bool pin_;
    std::string lun_, range_, tier_;
};

}  // namespace

std::unique_ptr<Command> make_pin_command() {
    return std::make_unique<PinCommand>(true);
}
std::unique_ptr<Command> make_unpin_command() {
    return std::make_unique<PinCommand>(false);
}

}  // namespace rbdtier::cli
