// `rbdtier migrations [--lun LUN] [--limit N] [--follow]`: the migration queue (the last round's
// orders not carried out yet, best first, with net benefit and reason) and history (newest last);
// --follow keeps asking the gateway every second and prints each new record once (JSON lines
// with --format json) until the gateway goes away or the user interrupts.
#include <chrono>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

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
        sub->add_flag("--follow", follow_, "Keep printing new records as they come");
        sub->add_option("--limit", limit_, "Most recent N records")
            ->check(CLI::Range(0, 1'000'000))
            ->capture_default_str();
        add_common_options(sub);
        return sub;
    }

    int run() override {
        if (!follow_) return SocketCommand::run();
        std::set<std::tuple<std::string, std::uint64_t, std::uint64_t>> seen;  // lun, start, extent
        bool header = true;
        for (;;) {
            nlohmann::json result;
            if (int rc = exchange(result); rc != kExitOk) return rc;
            nlohmann::json fresh = nlohmann::json::array();
            for (const auto& m : result["history"])
                if (seen.emplace(m["lun"].get<std::string>(),
                                 m["start_unix_ms"].get<std::uint64_t>(),
                                 m["extent"].get<std::uint64_t>())
                        .second)
                    fresh.push_back(m);
            if (json_format()) {
                for (const auto& m : fresh) std::cout << m.dump() << '\n';
            } else if (!fresh.empty()) {
                std::ostringstream table;
                rows(fresh).print(table);
                std::string text = table.str();
                if (!header) text.erase(0, text.find('\n') + 1);
                header = false;
                std::cout << text;
            }
            std::cout.flush();
            std::this_thread::sleep_for(std::chrono::seconds(1));  // polling interval
        }
    }

protected:
    nlohmann::json request() const override {
        nlohmann::json r = {{kAdminPrefixKey, kCommandMigrations}, {"limit", limit_}};
        if (!lun_.empty()) r["lun"] = lun_;
        return r;
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        if (r.contains("queue")) {
            TextTable q({"LUN", "EXTENT", "FROM", "TO", "NET BENEFIT", "FORECAST", "REASON"});
            for (const auto& o : r["queue"]) {
                char benefit[32], forecast[32];
                std::snprintf(benefit, sizeof(benefit), "%.0f", o["net_benefit"].get<double>());
                std::snprintf(forecast, sizeof(forecast), "%.2f",
                              o["forecast_accesses"].get<double>());
                q.add({cell(o["lun"]), cell(o["extent"]), cell(o["from"]), cell(o["to"]), benefit,
                       forecast, cell(o["reason"])});
            }
            out << "queue (" << r["queue"].size() << " order(s) not carried out yet):\n";
            q.print(out);
            out << "history:\n";
        }
        rows(r["history"]).print(out);
        out << r["history"].size() << " of " << cell(r["total"]) << " records\n";
    }

private:
    static TextTable rows(const nlohmann::json& history) {
        TextTable t({"LUN", "EXTENT", "FROM", "TO", "BYTES", "DURATION", "CRC32C", "GEN", "OUTCOME",
                     "REASON"});
        for (const auto& m : history) {
            char crc[16], dur[32];
            std::snprintf(crc, sizeof(crc), "%08x", m["crc32c"].get<unsigned>());
            std::snprintf(dur, sizeof(dur), "%.1f ms", m["duration_us"].get<double>() / 1000.0);
            t.add({cell(m["lun"]), cell(m["extent"]), cell(m["from"]), cell(m["to"]),
                   human_bytes(m["bytes"].get<std::uint64_t>()), dur, crc, cell(m["generation"]),
                   cell(m["outcome"]), cell(m["reason"])});
        }
        return t;
    }

    std::string lun_;
    bool follow_ = false;
    std::uint64_t limit_ = 50;
};

}  // namespace

std::unique_ptr<Command> make_migrations_command() {
    return std::make_unique<MigrationsCommand>();
}

}  // namespace rbdtier::cli
