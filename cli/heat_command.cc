// `rbdtier heat LUN`: per extent, how hot it is, what the policy forecasts, where it is and where
// the policy wants it, as a compact terminal map (64 extents per line, four rows per line; a LUN
// without I/O yet shows every extent cold and says so):
//   heat   ' ' cold .. '@' hottest (log scale against the LUN's hottest extent)
//   p      forecast probability of access within the horizon, tenths ('0'..'9', '*' = 1)
//   tier   where the extent is ('.' = home, else the tier's legend symbol)
//   want   where the policy would have it ('.' = where it is; 'P' marks a pinned extent)
//   who    which initiator's commands touched it (cli/initiator_text.h: a, b, ... named in the
//          legend, '~' shared, '+' several, ' ' none); shown when any initiator touched one
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "cli/initiator_text.h"
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class HeatCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand(
            "heat", "Heat, forecast and placement of every extent of a LUN as a compact map");
        sub->add_option("LUN", lun_, "LUN name")->required();
        sub->add_option("--first", first_, "First extent shown")->capture_default_str();
        sub->add_option("--count", count_, "Extents shown (the gateway caps it at 16384)");
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{kAdminPrefixKey, kCommandHeat}, {"lun", lun_}, {"first", first_}};
        if (count_) r["count"] = *count_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        const std::string home = r["home"].get<std::string>();
        std::map<std::string, char> symbol{{home, '.'}};
        const std::string symbols = "123456789";
        std::size_t next = 0;
        for (const auto& t : r["tiers"]) {
            const std::string pool = t.get<std::string>();
            if (!symbol.count(pool)) symbol[pool] = symbols[std::min(next++, symbols.size() - 1)];
        }
        double hottest = 0;
        for (const auto& e : r["heat"]) hottest = std::max(hottest, e["heat"].get<double>());
        const std::string ramp = " .:-=+*#%@";
        out << "LUN " << r["lun"].get<std::string>() << ": " << r["extents"] << " extents, policy "
            << r["policy"].get<std::string>();
        if (!r.value("io_seen", true))
            out << " (no I/O yet)";
        else if (!r["forecasts"].get<bool>())
            out << " (no forecasts from this policy)";
        if (r["truncated"].get<bool>())
            out << "; extents " << r["first"] << ".."
                << r["first"].get<std::uint64_t>() + r["count"].get<std::uint64_t>() - 1
                << " shown (--first, --count)";
        out << '\n'
            << "heat ' '..'@' (hottest: " << hottest << " recent accesses); p: tenths; tiers: ";
        for (const auto& [pool, c] : symbol)
            out << c << '=' << pool << (pool == home ? " (home)" : "") << ' ';
        out << '\n';
        const auto& rows = r["heat"];
        const InitiatorMap who =
            rows.empty() ? InitiatorMap{}
                         : initiator_map(r.value("initiators", nlohmann::json()),
                                         rows.front()["extent"].get<std::uint64_t>(),
                                         rows.back()["extent"].get<std::uint64_t>() -
                                             rows.front()["extent"].get<std::uint64_t>() + 1);
        if (!who.legend.empty()) out << who.legend << '\n';
        for (std::size_t row = 0; row < rows.size(); row += 64) {
            std::string heat, p, tier, want, by;
            for (std::size_t i = row; i < std::min(rows.size(), row + 64); ++i) {
                const auto& e = rows[i];
                const double h = e["heat"].get<double>();
                std::size_t level = 0;
                if (h > 0 && hottest > 0)
                    level = 1 + static_cast<std::size_t>(std::log1p(h) / std::log1p(hottest) *
                                                         double(ramp.size() - 2));
                heat += ramp[std::min(level, ramp.size() - 1)];
                if (e["p_access"].is_number()) {
                    const int tenth = static_cast<int>(e["p_access"].get<double>() * 10);
                    p += tenth >= 10 ? '*' : static_cast<char>('0' + std::max(tenth, 0));
                } else {
                    p += ' ';
                }
                const auto w = who.by_extent.find(e["extent"].get<std::uint64_t>());
                by += w == who.by_extent.end() ? ' ' : w->second;
                const std::string at = e["tier"].get<std::string>();
                tier += symbol.count(at) ? symbol[at] : '?';
                if (e["pinned"].is_string()) {
                    want += 'P';
                } else if (e["wanted"].is_string() && e["wanted"].get<std::string>() != at) {
                    const std::string w = e["wanted"].get<std::string>();
                    want += symbol.count(w) ? symbol[w] : '?';
                } else {
                    want += '.';
                }
            }
            char label[24];
            std::snprintf(
                label, sizeof(label), "%8llu ",
                static_cast<unsigned long long>(rows[row]["extent"].get<std::uint64_t>()));
            out << label << "heat |" << heat << "|\n"
                << "         p    |" << p << "|\n"
                << "         tier |" << tier << "|\n"
                << "         want |" << want << "|\n";
            if (!who.legend.empty()) out << "         who  |" << by << "|\n";
        }
    }

private:
    std::string lun_;
    std::uint64_t first_ = 0;
    std::optional<std::uint64_t> count_;
};

}  // namespace

std::unique_ptr<Command> make_heat_command() {
    return std::make_unique<HeatCommand>();
}

}  // namespace rbdtier::cli
