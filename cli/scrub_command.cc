// `rbdtier scrub LUN`: removes data found where the placement map says it does not belong and
// verifies the crc32c of migrated extents. Exit 1 when problems are found.
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class ScrubCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("scrub", "Scrub a tiered LUN (stray data, checksums)");
        sub->add_option("LUN", lun_, "LUN name")->required();
        add_common_options(sub);
        return sub;
    }
    int run() override {
        const int rc = SocketCommand::run();
        return rc == kExitOk && problems_ ? kExitFailure : rc;
    }

protected:
    nlohmann::json request() const override { return {{"prefix", "scrub"}, {"lun", lun_}}; }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << "extents checked  " << r["extents_checked"] << '\n'
            << "stray removed    " << r["stray_removed"] << '\n'
            << "crc verified     " << r["crc_verified"] << '\n'
            << "crc mismatch     " << r["crc_mismatch"] << '\n';
        for (const auto& p : r["problems"]) out << "problem: " << p.get<std::string>() << '\n';
        problems_ = r["crc_mismatch"].get<std::uint64_t>() > 0 || !r["problems"].empty();
    }

private:
    std::string lun_;
    mutable bool problems_ = false;
};

}  // namespace

std::unique_ptr<Command> make_scrub_command() {
    return std::make_unique<ScrubCommand>();
}

}  // namespace rbdtier::cli
