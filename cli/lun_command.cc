// `rbdtier lun list` and `rbdtier lun show LUN`: the gateway's LUNs, where their extents are
// (show warns while extents live outside the home image: tools reading it alone see part of the
// LUN), why the LUN's extents do not move when they do not, and show's initiators: how commands
// are attributed and what each initiator did. `rbdtier lun evacuate LUN`: the gateway pins the
// LUN home whole and its owner brings every extent home; the CLI follows the progress until none
// is away (or --no-wait, --timeout). Straight in RADOS, no gateway needed (ceph/lun_lifecycle.h,
// ceph/tiered_lun_store.h): `rbdtier lun export POOL/[NS/]IMAGE FILE`, the LUN's bytes wherever
// its extents are; `rbdtier lun remove POOL/[NS/]IMAGE [--force]`, its tier images and map, once
// no gateway has it open; `rbdtier lun repair POOL/[NS/]IMAGE`, a missing placement map rebuilt
// from what its tier images hold (no gateway serves a LUN without its map).
#include <fcntl.h>
#include <rados/librados.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/tiered_lun_store.h"
#include "cli/initiator_text.h"
#include "cli/progress_bar.h"
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

// "POOL/IMAGE" or "POOL/NAMESPACE/IMAGE" (a LUN's name in the gateway is its home image's).
ceph::HomeImageRef parse_home(const std::string& text) {
    std::vector<std::string> parts;
    std::istringstream in(text);
    for (std::string p; std::getline(in, p, '/');) parts.push_back(p);
    if (parts.size() < 2 || parts.size() > 3) {
        throw std::runtime_error("'" + text + "': expected POOL/IMAGE or POOL/NAMESPACE/IMAGE");
    }
    return {parts.front(), parts.size() == 3 ? parts[1] : "", parts.back()};
}

std::vector<std::string> split_pools(const std::string& text) {
    std::vector<std::string> pools;
    std::istringstream t(text);
    for (std::string p; std::getline(t, p, '+');)
        if (!p.empty()) pools.push_back(p);
    return pools;
}

// What a tool reading only the home image misses while the LUN is tiered.
void warn_partial_home(const nlohmann::json& lun, std::ostream& out) {
    const std::uint64_t away = lun.value("extents_away", std::uint64_t{0});
    if (away == 0) return;
    const std::string name = lun["name"].get<std::string>();
    out << "warning     " << away << " extents ("
        << human_bytes(away * lun["extent_bytes"].get<std::uint64_t>())
        << ") live outside the home image: tools that read only " << cell(lun["pool"]) << "/"
        << cell(lun["image"]) << " (rbd export, rbd snap, rbd mirror) see partial data;\n"
        << "            `rbdtier lun export " << name << " FILE` reads the whole LUN, "
        << "`rbdtier lun evacuate " << name << "` brings it home\n";
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
        evacuate_ = sub->add_subcommand(
            "evacuate", "Bring every extent home and keep the LUN there (pinned home)");
        evacuate_->add_option("LUN", lun_, "LUN name")->required();
        evacuate_->add_flag("--no-wait", no_wait_, "Start it and return; `lun show` follows it");
        evacuate_
            ->add_option("--timeout", timeout_s_,
                         "Give up waiting after SECONDS (0: wait until done; the LUN "
                         "stays pinned home either way)")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        add_common_options(evacuate_);
        export_ = sub->add_subcommand(
            "export", "Write the LUN's bytes, wherever its extents are, to a new file");
        export_->add_option("IMAGE", lun_, "Home image: POOL/IMAGE or POOL/NAMESPACE/IMAGE")
            ->required();
        export_->add_option("FILE", file_, "File to create (not overwritten)")->required();
        remove_ = sub->add_subcommand(
            "remove",
            "Remove an evacuated LUN's tier images and placement map (not its home image)");
        remove_->add_option("IMAGE", lun_, "Home image: POOL/IMAGE or POOL/NAMESPACE/IMAGE")
            ->required();
        remove_->add_flag("--force", force_,
                          "Also when extents live in tier images (their data is lost) or the "
                          "map is missing");
        remove_->add_option("--tiers", tiers_,
                            "More pools to remove tier images from, POOL+POOL... (the map's "
                            "header names the others)");
        for (CLI::App* rados : {export_, remove_}) {
            rados->add_option("--ceph-conf", ceph_conf_, "ceph.conf (default: Ceph's search path)");
            rados->add_option("--id", id_, "Ceph client id (without client.)");
            rados->add_option("--format", repair_format_, "Output format")
                ->check(CLI::IsMember({"table", "json"}))
                ->capture_default_str();
        }
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
        if (evacuate_->parsed()) return evacuate();
        if (!repair_->parsed() && !export_->parsed() && !remove_->parsed())
            return SocketCommand::run();
        try {
            nlohmann::json r;
            int rc = kExitOk;
            if (repair_->parsed()) {
                r = repair();
                rc = r["ambiguous"].empty() ? kExitOk : kExitFailure;
            } else if (export_->parsed()) {
                r = export_lun();
            } else {
                r = remove();
            }
            if (repair_format_ == "json") {
                std::cout << r.dump(2) << '\n';
            } else if (repair_->parsed()) {
                render_repair(r, std::cout);
            } else if (export_->parsed()) {
                std::cout << "exported " << lun_ << " ("
                          << human_bytes(r["size_bytes"].get<std::uint64_t>()) << ", "
                          << cell(r["extents"]) << " extents, " << cell(r["extents_away"])
                          << " of them from tier images, " << cell(r["reread_extents"])
                          << " read again after a migration) to " << file_ << '\n';
            } else {
                std::cout << "removed the tiering of " << lun_ << ": tier images in";
                for (const auto& p : r["tier_pools"]) std::cout << ' ' << p.get<std::string>();
                if (r["tier_pools"].empty()) std::cout << " no pool";
                std::cout << ", map " << (r["map_object"] == "" ? "-" : cell(r["map_object"]));
                if (r["extents_discarded"].get<std::uint64_t>() > 0)
                    std::cout << ", " << cell(r["extents_discarded"])
                              << " extents that lived in tier images discarded";
                std::cout << "; " << lun_ << " is a plain RBD image now\n";
            }
            return rc;
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
        if (show_->parsed()) return {{kAdminPrefixKey, kCommandLunShow}, {"lun", lun_}};
        if (evacuate_->parsed()) return {{kAdminPrefixKey, kCommandLunEvacuate}, {"lun", lun_}};
        return {{kAdminPrefixKey, kCommandLunList}};
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
            << "lock owner  " << cell(r["lock_owner"]) << '\n';
        if (const auto& m = r.value("movement", nlohmann::json()); m.is_object()) {
            out << "moving      "
                << (m["moving"].get<bool>() ? std::string("yes")
                                            : "no: " + m["reason"].get<std::string>())
                << '\n';
        }
        if (r.value("home_pinned", nlohmann::json()) == true)
            out << "pinned      home, whole LUN (evacuated: `rbdtier unpin " << cell(r["name"])
                << " all` hands it back to tiering)\n";
        if (const auto& pins = r.value("pins", nlohmann::json());
            !pins.empty() && r.value("home_pinned", false) != true) {
            std::string ranges;
            for (const auto& p : pins)
                ranges += (ranges.empty() ? "" : ", ") + cell(p["first_extent"]) + "-" +
                          cell(p["last_extent"]) + " " + cell(p["tier"]);
            out << "pinned      " << ranges << '\n';
        }
        for (const auto& problem : r.value("settings_problems", nlohmann::json::array()))
            out << "not used    " << problem.get<std::string>() << '\n';
        warn_partial_home(r, out);
        out << '\n';
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
        if (r.contains("initiators")) {
            out << '\n';
            render_initiators(r["initiators"], out);
        }
    }

private:
    ceph::Cluster connect() const {
        ceph::ClusterOptions options;
        options.conf_path = ceph_conf_;
        options.id = id_;
        options.conf = {{"rados_mon_op_timeout", "15"}, {"rados_osd_op_timeout", "15"}};
        auto cluster = ceph::Cluster::connect(options);
        if (!cluster) throw std::runtime_error(cluster.status().message());
        return std::move(*cluster);
    }

    // Starts the evacuation, then follows `lun show` until no extent is away from home.
    int evacuate() const {
        nlohmann::json r;
        if (int rc = exchange(r); rc != kExitOk) return rc;
        ProgressBar bar("evacuating " + lun_);
        const auto started = std::chrono::steady_clock::now();
        auto last_move = started;
        std::uint64_t last_away = r["extents_away"].get<std::uint64_t>();
        bool warned = false;
        std::string failure;
        for (;;) {
            const std::uint64_t away = r["extents_away"].get<std::uint64_t>();
            const std::uint64_t total = r["extents"].get<std::uint64_t>();
            bar.update(total - std::min(away, total), total);
            if (away == 0 || no_wait_) break;
            const auto now = std::chrono::steady_clock::now();
            if (away != last_away) last_move = now;
            last_away = away;
            if (r["engine"].value("paused", false)) {
                failure = "the gateway is paused: " + std::to_string(away) +
                          " extents stay away until `rbdtier resume`";
                break;
            }
            if (timeout_s_ > 0 && now - started > std::chrono::duration<double>(timeout_s_)) {
                failure = "timed out with " + std::to_string(away) + " extents still away";
                break;
            }
            if (!warned && now - last_move > std::chrono::seconds(10)) {
                warned = true;
                const std::string problem = r["placement"].value("problem", "");
                bar.finish();
                std::cerr << "rbdtier: no extent of " << lun_ << " came home in 10 s"
                          << (problem.empty() ? "" : ": " + problem)
                          << (r["placement"].value("owner", false)
                                  ? ""
                                  : " (only the gateway holding the LUN's lock moves extents)")
                          << '\n';
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            if (int rc = exchange({{kAdminPrefixKey, kCommandLunShow}, {"lun", lun_}}, r);
                rc != kExitOk)
                return rc;
        }
        bar.finish();
        if (json_format()) {
            std::cout << r.dump(2) << '\n';
        } else {
            const std::uint64_t away = r["extents_away"].get<std::uint64_t>();
            std::cout << lun_ << ": " << r["extents"].get<std::uint64_t>() - away << " of "
                      << cell(r["extents"]) << " extents in the home image " << cell(r["pool"])
                      << "/" << cell(r["image"]) << '\n';
            if (away == 0) {
                std::cout << "evacuated: the home image alone holds the LUN (rbd export, "
                             "snapshots and mirroring see all of it); pinned home until "
                             "`rbdtier unpin "
                          << lun_ << " all`\n";
            } else if (failure.empty()) {
                std::cout << "evacuation under way (pinned home): `rbdtier lun show " << lun_
                          << "` follows it\n";
            }
        }
        if (failure.empty()) return kExitOk;
        std::cerr << "rbdtier: evacuate " << lun_ << ": " << failure
                  << " (the LUN stays pinned home)\n";
        return kExitFailure;
    }

    nlohmann::json export_lun() const {
        const ceph::HomeImageRef home = parse_home(lun_);
        ceph::Cluster cluster = connect();
        const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error(file_ + ": " + std::strerror(errno));
        struct Closer {
            int fd;
            ~Closer() { ::close(fd); }
        } closer{fd};
        ProgressBar bar("exporting " + lun_);
        auto done = ceph::export_lun(cluster, home, fd,
                                     [&](std::uint64_t n, std::uint64_t of) { bar.update(n, of); });
        bar.finish();
        if (!done) {
            (void)::unlink(file_.c_str());  // half an image is no export
            throw std::runtime_error(done.status().message());
        }
        return {{"image", lun_},
                {"file", file_},
                {"size_bytes", done->size_bytes},
                {"extents", done->extents},
                {"extents_away", done->extents_away},
                {"reread_extents", done->reread_extents},
                {"placement_map", done->placement_map}};
    }

    nlohmann::json remove() const {
        const ceph::HomeImageRef home = parse_home(lun_);
        ceph::Cluster cluster = connect();
        auto removed = ceph::remove_lun_tiering(cluster, home, split_pools(tiers_), force_);
        if (!removed) throw std::runtime_error(removed.status().message());
        return {{"image", lun_},
                {"tier_pools", removed->tier_pools},
                {"map_object", removed->map_object},
                {"extents_discarded", removed->extents_discarded}};
    }

    nlohmann::json repair() const {
        const ceph::HomeImageRef home = parse_home(lun_);
        ceph::Cluster cluster = connect();
        std::vector<std::string> pools;
        if (!tiers_.empty()) {
            pools = split_pools(tiers_);
        } else {
            char names[8192];
            const int n = rados_pool_list(cluster.handle(), names, sizeof names);
            if (n < 0 || n > static_cast<int>(sizeof names)) {
                throw std::runtime_error("list pools failed: give --tiers");
            }
            for (const char* p = names; *p != '\0'; p += std::strlen(p) + 1) pools.push_back(p);
        }
        auto repair =
            ceph::repair_placement_map(cluster, home.pool, home.ns, home.image, pools, !dry_run_);
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
    CLI::App* evacuate_ = nullptr;
    CLI::App* export_ = nullptr;
    CLI::App* remove_ = nullptr;
    std::string lun_, tiers_, ceph_conf_, id_, file_, repair_format_ = "table";
    bool dry_run_ = false, no_wait_ = false, force_ = false;
    double timeout_s_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_lun_command() {
    return std::make_unique<LunCommand>();
}

}  // namespace rbdtier::cli
