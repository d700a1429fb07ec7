// `rbdtier map LUN`: the placement of a tiered LUN as a compact map, one character per extent
// (the tier's index in the legend; '.' = home), 64 extents per line.
#include <map>

#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class MapCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub =
            app.add_subcommand("map", "Placement map of a LUN: which tier holds each extent");
        sub->add_option("LUN", lun_, "LUN name")->required();
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        return {{kAdminPrefixKey, kCommandMap}, {"lun", lun_}};
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        const auto extents = r["extents"].get<std::uint64_t>();
        std::map<std::uint64_t, std::string> away;
        std::map<std::string, char> symbol;
        const std::string symbols = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for (const auto& e : r["away"]) {
            const std::string pool = e["pool"].get<std::string>();
            if (!symbol.count(pool))
                symbol[pool] = symbols[std::min(symbol.size(), symbols.size() - 1)];
            away[e["extent"].get<std::uint64_t>()] = pool;
        }
        out << "LUN " << r["lun"].get<std::string>() << ": " << extents << " extents, "
            << away.size() << " away from home\nlegend: . = " << r["home"].get<std::string>()
            << " (home)";
        for (const auto& [pool, c] : symbol) out << ", " << c << " = " << pool;
        out << '\n';
        for (std::uint64_t row = 0; row < extents; row += 64) {
            char label[24];
            std::snprintf(label, sizeof(label), "%8llu ", static_cast<unsigned long long>(row));
            out << label;
            for (std::uint64_t e = row; e < std::min(extents, row + 64); ++e) {
                auto it = away.find(e);
                out << (it == away.end() ? '.' : symbol[it->second]);
            }
            out << '\n';
        }
    }

private:
    std::string lun_;
};

}  // namespace

std::unique_ptr<Command> make_map_command() {
    return std::make_unique<MapCommand>();
}

}  // namespace rbdtier::cli
