#include "handler/lun_config.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace rbdtier {

const char kLunConfigHelp[] =
    "rbdtier config string: pool[/namespace]/image[;option=value...]\n"
    "pool:   existing RADOS pool holding the LUN's home image\n"
    "image:  existing RBD image (same size as the LUN)\n"
    "options:\n"
    "  osd_op_timeout=SECONDS       fail I/O after this long (rados_osd_op_timeout)\n"
    "  conf=/etc/ceph/ceph.conf     ceph config file\n"
    "  id=NAME                      ceph client id (client.NAME)\n"
    "  tenant=NAME                  tenant the LUN belongs to (quota, priority)\n"
    "  tenant_pool=POOL             pool holding the tenants (default: rbdtier.conf, else first of "
    "tiers=)\n"
    "  tiers=POOL[+POOL...]         pools the LUN's extents may move to\n"
    "  policy=none|reactive|predictive  tiering policy\n"
    "  horizon=SECONDS              how far ahead the policy looks (default: rbdtier.conf)\n"
    "  quota=POOL=SIZE[+POOL=SIZE]  most of this LUN a tier may hold (SIZE: bytes, K, M, G, T)\n";

const char kRbdConfigHelp[] =
    "RBD config string (rbdtier serving user:rbd): pool/image[;option=value...]\n"
    "pool:   existing RADOS pool holding the image\n"
    "image:  existing RBD image (same size as the LUN)\n"
    "options:\n"
    "  osd_op_timeout=SECONDS       fail I/O after this long (0: never)\n"
    "  conf=/etc/ceph/ceph.conf     ceph config file\n"
    "  id=NAME                      ceph client id (client.NAME)\n"
    "tiering: rbd image-meta set POOL/IMAGE rbdtier.tiers POOL[+POOL...] (and rbdtier.policy)\n";

std::string_view to_string(TierPolicy policy) {
    switch (policy) {
        case TierPolicy::kNone:
            return "none";
        case TierPolicy::kReactive:
            return "reactive";
        case TierPolicy::kPredictive:
            return "predictive";
    }
    return "none";
}

namespace {

constexpr std::string_view kPrefix = "rbdtier/";
constexpr std::string_view kRbdPrefix = "rbd/";
// The options of the rbdtier form that are not handler_rbd's, each between spaces.
constexpr std::string_view kTieringKeys = " tenant tenant_pool tiers policy quota horizon ";
// Which grammar a cfgstring is read with.
enum class Form { kRbdtier, kRbd };
// The largest quota: 2^62 bytes (4194304T, 4 EiB), where the engine's extent keys end.
constexpr std::uint64_t kMaxQuotaBytes = std::uint64_t{1} << 62;
constexpr std::string_view kKnownKeys =
    "osd_op_timeout, conf, id, tenant, tenant_pool, tiers, policy, quota, horizon";

bool has_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
    });
}

// Pool names: anything but whitespace, '/', '@', ';', ',' and '='.
std::string check_pool_name(std::string_view pool, std::string_view what) {
    if (pool.empty()) return std::string(what) + " is empty";
    if (has_space(pool) || pool.find_first_of("/@;,=+:") != std::string_view::npos) {
        return std::string(what) + " '" + std::string(pool) +
               "' contains a character not allowed in a pool name (space / @ ; , = + :)";
    }
    return {};
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

LunConfigParse fail(std::string reason) {
    return LunConfigParse{std::nullopt, std::move(reason)};
}

// Splits at any of `seps`.
std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        std::size_t pos = s.find_first_of(seps, start);
        if (pos == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

// Applies one key=value option; returns the reason on failure.
std::string apply_option(std::string_view key, std::string_view value, LunConfig& cfg) {
    const std::string k(key);
    if (key == "osd_op_timeout") {
        unsigned seconds = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
            seconds < 1 || seconds > 86400) {
            return "osd_op_timeout='" + std::string(value) +
                   "' is not a whole number of seconds between 1 and 86400";
        }
        cfg.osd_op_timeout_s = seconds;
        return {};
    }
    if (value.empty()) return "option " + k + "= has no value";
    if (key == "conf") {
        if (value.front() != '/') {
            return "conf=" + std::string(value) + " must be an absolute path to a ceph.conf";
        }
        if (has_space(value)) return "conf=" + std::string(value) + " contains whitespace";
        cfg.conf_path = value;
        return {};
    }
    if (key == "id") {
        std::string_view id = value;
        if (id.starts_with("client.")) id.remove_prefix(7);
        if (id.empty() || !std::all_of(id.begin(), id.end(), is_name_char)) {
            return "id='" + std::string(value) +
                   "' is not a ceph client id (letters, digits, _ - . only, e.g. id=iscsi)";
        }
        cfg.client_id = id;
        return {};
    }
    if (key == "tenant") {
        if (!std::all_of(value.begin(), value.end(), is_name_char)) {
            return "tenant='" + std::string(value) +
                   "' may only contain letters, digits, _ - and .";
        }
        cfg.tenant = value;
        return {};
    }
    if (key == "tenant_pool") {
        std::string why = check_pool_name(value, "tenant_pool=");
        if (!why.empty()) return why;
        cfg.tenant_pool = value;
        return {};
    }
    if (key == "tiers") {
        std::set<std::string_view> seen;
        // '+' or ',' between pools: targetcli passes a cfgstring through the kernel's control
        // file, which splits at ','; so '+' is what works there.
        for (std::string_view pool : split(value, "+,")) {
            std::string why = check_pool_name(pool, "a pool in tiers=");
            if (!why.empty()) return why + " (write tiers=poolA+poolB)";
            if (!seen.insert(pool).second) {
                return "tiers= lists pool '" + std::string(pool) + "' twice";
            }
            cfg.tiers.emplace_back(pool);
        }
        return {};
    }
    if (key == "policy") {
        if (value == "none") {
            cfg.policy = TierPolicy::kNone;
        } else if (value == "reactive") {
            cfg.policy = TierPolicy::kReactive;
        } else if (value == "predictive") {
            cfg.policy = TierPolicy::kPredictive;
        } else {
            return "policy='" + std::string(value) +
                   "' is unknown (use none, reactive or predictive)";
        }
        return {};
    }
    if (key == "horizon") {
        unsigned seconds = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 ||
            seconds > 86400) {
            return "horizon='" + std::string(value) +
                   "' is not a whole number of seconds from 1 to 86400 (e.g. horizon=120)";
        }
        cfg.horizon_s = seconds;
        return {};
    }
    if (key == "quota") {
        // POOL=SIZE or POOL:SIZE, items joined by '+' or ','; targetcli (rtslib) refuses ':'
        // and the kernel splits at ',', so '=' and '+' are what works there.
        for (std::string_view item : split(value, "+,")) {
            const std::size_t colon = item.find_first_of(":=");
            const std::string example = " (write quota=nvme-a=64M+nvme-b=1G)";
            if (colon == std::string_view::npos) {
                return "quota entry '" + std::string(item) + "' is not POOL=SIZE" + example;
            }
            std::string_view pool = item.substr(0, colon);
            std::string_view size = item.substr(colon + 1);
            if (std::string why = check_pool_name(pool, "a pool in quota="); !why.empty()) {
                return why + example;
            }
            std::uint64_t bytes = 0;
            auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), bytes);
            std::string_view unit(end, static_cast<std::size_t>(size.data() + size.size() - end));
            int shift = -1;
            if (unit.empty()) shift = 0;
            if (unit == "K" || unit == "k") shift = 10;
            if (unit == "M" || unit == "m") shift = 20;
            if (unit == "G" || unit == "g") shift = 30;
            if (unit == "T" || unit == "t") shift = 40;
            if (ec != std::errc() || shift < 0 || bytes == 0 || bytes > (kMaxQuotaBytes >> shift)) {
                return "quota size '" + std::string(size) + "' for " + std::string(pool) +
                       " is not a size from 1 byte to 4194304T" + example;
            }
            if (!cfg.quota.emplace(std::string(pool), bytes << shift).second) {
                return "quota= gives pool '" + std::string(pool) + "' twice";
            }
        }
        return {};
    }
    return "unknown option '" + k + "' (known: " + std::string(kKnownKeys) + ")";
}

}  // namespace

std::string apply_lun_option(std::string_view key, std::string_view value, LunConfig& cfg) {
    return apply_option(key, value, cfg);
}

namespace {

// The one parser of both forms.
LunConfigParse parse(std::string_view cfgstring, Form form) {
    if (cfgstring.empty()) return fail("config string is empty: expected pool/image");
    std::vector<std::string_view> parts = split(cfgstring, ";");
    std::string_view spec = parts.front();

    // tcmu-runner hands both check_config and open "<subtype>/<what the user typed>".
    if (form == Form::kRbdtier && spec.starts_with(kPrefix)) spec.remove_prefix(kPrefix.size());
    std::vector<std::string_view> names = split(spec, "/");
    if (names.size() == 1) {
        return fail("'" + std::string(spec) + "' names no pool: expected pool/image");
    }
    if (form == Form::kRbd && names.size() > 2) {
        return fail("'" + std::string(spec) +
                    "' has too many '/': user:rbd takes pool/image (RBD namespaces are served "
                    "as user:rbdtier pool/namespace/image)");
    }
    if (names.size() > 3) {
        return fail("'" + std::string(spec) +
                    "' has too many '/': expected pool/image or pool/namespace/image");
    }

    LunConfig cfg;
    if (names[0].empty()) return fail("pool name is missing: expected pool/image");
    if (std::string why = check_pool_name(names[0], "pool name"); !why.empty()) return fail(why);
    cfg.pool = names[0];
    if (names.size() == 3) {
        if (names[1].empty()) return fail("namespace is missing: expected pool/namespace/image");
        if (std::string why = check_pool_name(names[1], "namespace"); !why.empty()) {
            return fail(why);
        }
        cfg.ns = names[1];
    }

    std::string_view image = names.back();
    if (std::size_t at = image.find('@'); at != std::string_view::npos) {
        std::string_view snap = image.substr(at + 1);
        image = image.substr(0, at);
        if (snap.empty()) return fail("'@' after the image name must be followed by a snapshot");
        return fail("snapshot '" + std::string(snap) + "' of image '" + std::string(image) +
                    "' given, but rbdtier LUNs are writable and cannot be backed by a snapshot: "
                    "clone it (rbd clone) and use the clone");
    }
    if (image.empty()) return fail("image name is missing: expected pool/image");
    if (has_space(image) || image.find_first_of(",=") != std::string_view::npos) {
        return fail("image name '" + std::string(image) +
                    "' contains a character not allowed (space , =)");
    }
    cfg.image = image;

    std::set<std::string_view> seen;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        std::string_view opt = parts[i];
        if (opt.empty()) continue;  // tolerate ";;" and a trailing ';'
        std::size_t eq = opt.find('=');
        if (eq == std::string_view::npos) {
            return fail("option '" + std::string(opt) + "' is not of the form key=value");
        }
        std::string_view key = opt.substr(0, eq);
        if (!seen.insert(key).second) {
            return fail("option " + std::string(key) + "= is given twice");
        }
        std::string_view value = opt.substr(eq + 1);
        if (form == Form::kRbd) {
            if (key != "osd_op_timeout" && key != "conf" && key != "id") {
                if (kTieringKeys.find(" " + std::string(key) + " ") != std::string_view::npos) {
                    return fail("option " + std::string(key) +
                                "= is a tiering option, not one of user:rbd's: set it on the "
                                "image (rbd image-meta set " +
                                cfg.pool + "/" + cfg.image + " rbdtier." + std::string(key) +
                                " VALUE)");
                }
                return fail("unknown option '" + std::string(key) +
                            "' (user:rbd knows osd_op_timeout, conf, id)");
            }
            if (key == "osd_op_timeout" && value == "0") {
                cfg.osd_op_timeout_s = 0;  // librados: no timeout
                continue;
            }
        }
        if (std::string why = apply_option(key, value, cfg); !why.empty()) {
            if (form == Form::kRbd && key == "osd_op_timeout")
                why = "osd_op_timeout='" + std::string(value) +
                      "' is not a whole number of seconds between 0 and 86400";
            return fail(why);
        }
    }
    for (const auto& [pool, bytes] : cfg.quota) {
        (void)bytes;
        if (std::find(cfg.tiers.begin(), cfg.tiers.end(), pool) == cfg.tiers.end()) {
            return fail("quota= names pool '" + pool + "', which is not in tiers=");
        }
    }
    return LunConfigParse{std::move(cfg), {}};
}

}  // namespace

LunConfigParse parse_lun_config(std::string_view cfgstring) {
    return parse(cfgstring, Form::kRbdtier);
}

LunConfigParse parse_rbd_cfgstring(std::string_view cfgstring) {
    return parse(cfgstring, Form::kRbd);
}

LunConfigParse parse_rbd_open_cfgstring(std::string_view cfgstring) {
    if (!cfgstring.starts_with(kRbdPrefix)) {
        return fail("config string '" + std::string(cfgstring) +
                    "' does not start with the subtype 'rbd/' that tcmu-runner puts first");
    }
    return parse(cfgstring.substr(kRbdPrefix.size()), Form::kRbd);
}

}  // namespace rbdtier
