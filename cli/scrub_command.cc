// `rbdtier scrub LUN [--status | --no-wait]`: removes data found where the placement map says
// it does not belong and verifies the crc32c of migrated extents. The gateway runs the scrub as a
// job of its own (the admin socket keeps answering meanwhile); this starts it, follows it with
// `scrub status` every half second (a progress bar on stderr when it is a terminal) and prints
// its report when it ends. --no-wait only starts it; --status only shows the LUN's current or
// last scrub. Exit 1 when the scrub found problems, failed, or the gateway refused (a scrub of
// the LUN already running, an unknown LUN).
#include <chrono>
#include <thread>

#include "cli/progress_bar.h"
#include "cli/socket_command.h"

namespace rbdtier::cli {
namespace {

class ScrubCommand final : public SocketCommand {
public:
    CLI::App* add_to(CLI::App& app) override {
        CLI::App* sub = app.add_subcommand("scrub", "Scrub a tiered LUN (stray data, checksums)");
        sub->add_option("LUN", lun_, "LUN name")->required();
        auto* status = sub->add_flag("--status", status_, "Show the LUN's current or last scrub");
        sub->add_flag("--no-wait", no_wait_, "Start the scrub and return")->excludes(status);
        add_common_options(sub);
        return sub;
    }

    int run() override {
        nlohmann::json result;
        const nlohmann::json status_request = {{kAdminPrefixKey, kCommandScrubStatus},
                                               {"lun", lun_}};
        if (int rc = exchange(status_ ? status_request : request(), result); rc != kExitOk)
            return rc;
        if (!status_ && !no_wait_) {
            ProgressBar bar("scrub " + lun_);
            while (result.value("state", "") == "running") {
                bar.update(result.value("steps_done", std::uint64_t{0}),
                           result.value("steps_total", std::uint64_t{0}));
                std::this_thread::sleep_for(std::chrono::milliseconds(500));  // polling interval
                if (int rc = exchange(status_request, result); rc != kExitOk) return rc;
            }
            bar.finish();
        }
        if (json_format())
            std::cout << result.dump(2) << '\n';
        else
            render(result, std::cout);
        const std::string state = result.value("state", "");
        const bool problems = result.value("crc_mismatch", std::uint64_t{0}) > 0 ||
                              !result.value("problems", nlohmann::json::array()).empty();
        return state == "failed" || state == "cancelled" || problems ? kExitFailure : kExitOk;
    }

protected:
    nlohmann::json request() const override {
        return {{kAdminPrefixKey, kCommandScrub}, {"lun", lun_}};
    }
    void render(const nlohmann::json& r, std::ostream& out) const override {
        out << "state            " << r.value("state", "") << '\n';
        if (r.value("state", "") == "running") {
            out << "progress         " << r["steps_done"] << " of " << r["steps_total"]
                << " steps\n";
            return;
        }
        if (r.contains("error"))
            out << "error            " << r["error"].get<std::string>() << '\n';
        out << "extents checked  " << r["extents_checked"] << '\n'
            << "stray removed    " << r["stray_removed"] << '\n'
            << "crc verified     " << r["crc_verified"] << '\n'
            << "crc mismatch     " << r["crc_mismatch"] << '\n';
        for (const auto& p : r["problems"]) out << "problem: " << p.get<std::string>() << '\n';
    }

private:
    std::string lun_;
    bool status_ = false;
    bool no_wait_ = false;
};

}  // namespace

std::unique_ptr<Command> make_scrub_command() {
    return std::make_unique<ScrubCommand>();
}

}  // namespace rbdtier::cli
