// `rbdtier migrations [--lun LUN] [--limit N]`: the migration history (newest last).
#include "cli/socket_command.h"
#include "cli/text_table.h"

namespace rbdtier::cli {
namespace {

class MigrationsCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("migrations",
                                           "Migration history: bytes, duration, checksum, outcome");
        sub->add_option("--lun", lun_, "Only this LUN");
        sub->add_option("--limit", limit_, "Most recent N records")
            ->check(CLI::Range(0, 1'000'000))
            ->capture_default_str();
        add_common_options(sub);
        return sub;
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{"command", "migrations"}, {"limit", limit_}};
        if (!lun_.empty()) r["lun"] = lun_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        TextTable t({"LUN", "EXTENT", "FROM", "TO", "BYTES", "DURATION", "CRC32C", "GEN", "OUTCOME",
                     "REASON"});
        for (const auto& m : r["history"]) {
            char crc[16], dur[32];
            std::snprintf(crc, sizeof(crc), "%08x", m["crc32c"].get<unsigned>());
            std::snprintf(dur, sizeof(dur), "%.1f ms", m["duration_us"].get<double>() / 1000.0);
            t.add({cell(m["lun"]), cell(m["extent"]), cell(m["from"]), cell(m["to"]),
                   human_bytes(m["bytes"].get<std::uint64_t>()), dur, crc, cell(m["generation"]),
                   cell(m["outcome"]), cell(m["reason"])});
        }
        t.print(out);
        out << r["history"].size() << " of " << cell(r["total"]) << " records\n";
    }

private:
    std::string lun_;
    std::uint64_t limit_ = 50;
};

}  // namespace

std::unique_ptr<Command> make_migrations_command() {
    return std::make_unique<MigrationsCommand>();
}

}  // namespace rbdtier::cli
