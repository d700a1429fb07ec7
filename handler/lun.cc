#include "handler/lun.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <system_error>
#include <thread>

#include "ceph/completion.h"
#include "ceph/lun_lifecycle.h"
#include "common/log.h"

namespace rbdtier {

namespace {

// Where upstream handler_rbd keeps the ALUA lock tag, so mixed gateways agree.
constexpr const char* kLockTagKey = "tcmu_rbd_locker_tag";

// steady_clock's microseconds: a command's start and end, and (see ExtentRouter::leave) the instant
// the tiering's IoEvent is stamped with, from one clock read at completion.
std::uint64_t us_of(std::chrono::steady_clock::time_point t) noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}
std::uint64_t now_us() noexcept {
    return us_of(std::chrono::steady_clock::now());
}

// The id (name_id) of the initiator the harness names for a command. Its commands come one name
// after another on a thread, so each thread keeps the last name it hashed and its id, and hashes
// only a name that differs (compared whole: the harness's string lives only as long as the
// command). Plain storage, no destructor: this runs in a plugin that may be unloaded.
std::uint32_t harness_initiator_id(const char* name) noexcept {
    struct Last {
        std::uint32_t id = 0;
        std::size_t length = 0;
        char name[224];  // an iSCSI name has at most 223 bytes; a longer one is hashed each time
    };
    thread_local Last last;
    if (name == nullptr) return 0;
    const std::size_t length = std::strlen(name);
    if (last.id != 0 && length == last.length && std::memcmp(name, last.name, length) == 0)
        return last.id;
    const std::uint32_t id = name_id(name);
    if (id != 0 && length < sizeof last.name) {
        std::memcpy(last.name, name, length);
        last.length = length;
        last.id = id;
    }
    return id;
}

constexpr std::uint8_t kWriteSame10 = 0x41;
constexpr std::uint8_t kWriteSame16 = 0x93;

// The ring command behind a callout when it is a WRITE SAME (10 or 16), else null.
const tcmulib_cmd* write_same_of(const tcmur_cmd* cmd) {
    if (cmd == nullptr || cmd->lib_cmd == nullptr || cmd->lib_cmd->cdb == nullptr) return nullptr;
    const std::uint8_t op = cmd->lib_cmd->cdb[0];
    return op == kWriteSame10 || op == kWriteSame16 ? cmd->lib_cmd : nullptr;
}

// A WRITE SAME with the ANCHOR bit: refused (INVALID FIELD IN CDB), as SBC-4 has it when the
// Logical Block Provisioning VPD says ANC_SUP 0, which tcmu-runner does; the runner itself
// does not look at the bit.
bool anchored_write_same(const tcmur_cmd* cmd) {
    const tcmulib_cmd* lib = write_same_of(cmd);
    return lib != nullptr && (lib->cdb[1] & 0x10) != 0;
}

// The command of an unmap callout when it is a WRITE SAME whose Data-Out block is not all
// zeros, else null. tcmu-runner hands a WRITE SAME with the UNMAP bit to the unmap callout
// whatever its data; unmapped blocks read zeros, so such a block must be written, not dropped.
const tcmulib_cmd* nonzero_write_same(const tcmur_cmd* cmd) {
    const tcmulib_cmd* lib = write_same_of(cmd);
    if (lib == nullptr || lib->iovec == nullptr) return nullptr;
    for (std::size_t i = 0; i < lib->iov_cnt; ++i) {
        const auto* p = static_cast<const unsigned char*>(lib->iovec[i].iov_base);
        if (p != nullptr &&
            std::any_of(p, p + lib->iovec[i].iov_len, [](unsigned char b) { return b != 0; }))
            return lib;
    }
    return nullptr;
}

bool out_of_range(std::uint64_t off, std::uint64_t len, std::uint64_t size) {
    return off > size || len > size - off;
}

// Sizes a per-command scratch vector (keeping its capacity across commands); false when the
// memory is not there, so that no exception crosses into the C host.
template <typename T>
bool fit(std::vector<T>& v, std::size_t n) noexcept {
    try {
        v.resize(n);
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

// Copies len bytes of an iovec into dst; returns false if the iovec is shorter.
bool gather(const iovec* iov, std::size_t iov_cnt, std::size_t len, char* dst) {
    for (std::size_t i = 0; i < iov_cnt && len > 0; ++i) {
        std::size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
        std::memcpy(dst, iov[i].iov_base, n);
        dst += n;
        len -= n;
    }
    return len == 0;
}

}  // namespace

ceph::Status take_image_tiers(LunConfig& config,
                              const std::map<std::string, std::string>& metadata) {
    if (!config.tiers.empty()) return ceph::Status::ok();
    std::string problem;
    std::vector<std::string> tiers = image_tiers(metadata, problem);
    if (!problem.empty())
        return ceph::Status::error(-EINVAL, problem + " (correct it with rbd image-meta set)");
    config.tiers = std::move(tiers);
    return ceph::Status::ok();
}

ceph::Result<std::unique_ptr<Lun>> Lun::open(
    const LunConfig& config, LunGeometry geometry, const TcmuHost& host,
    const GatewayConfig& gateway, std::shared_ptr<ceph::SharedObjectSettings> cluster_object,
    std::shared_ptr<MigrationExecutor> executor,
    std::shared_ptr<const ceph::Cluster> header_reader) {
    ceph::ClusterOptions options;
    options.id = config.client_id;
    options.conf_path = config.conf_path;
    options.conf.emplace_back("rbd_cache", "false");
    if (config.osd_op_timeout_s) {
        options.conf.emplace_back("rados_osd_op_timeout", std::to_string(*config.osd_op_timeout_s));
    }
    auto cluster = ceph::Cluster::connect(options);
    if (!cluster) return cluster.status();
    auto io = ceph::IoContext::open(*cluster, config.pool, config.ns);
    if (!io) return io.status();
    auto image = ceph::Image::open(*io, config.image);
    if (!image) return image.status();
    auto info = image->stat();
    if (!info) return info.status();
    if (info->size < geometry.size_bytes) {
        return ceph::Status::error(
            -EINVAL, "image " + config.spec() + " has " + std::to_string(info->size) +
                         " bytes, fewer than the LUN's " + std::to_string(geometry.size_bytes) +
                         " (grow it with rbd resize)");
    }
    // The image's rbdtier.* metadata, read once here: whether the LUN is tiered (rbdtier.tiers,
    // unless the cfgstring names tiers) and, for a tiered LUN, its settings.
    LunConfig opened = config;
    const auto metadata = ceph::image_metadata(*image, std::string(kLunSettingPrefix));
    if (opened.tiers.empty()) {
        if (!metadata) return metadata.status().with_context("read the image's rbdtier.tiers");
        if (ceph::Status s = take_image_tiers(opened, metadata.value()); !s) return s;
    }
    if (opened.tiers.empty()) {
        // Served from the home image alone: refused while a placement map puts extents elsewhere.
        const ceph::HomeImageRef home{opened.pool, opened.ns, opened.image};
        if (ceph::Status s = ceph::check_home_holds_all(*io, *image, home); !s) return s;
    }
    std::unique_ptr<Lun> lun(new Lun(opened, resolve_tiering_settings(opened, gateway), host,
                                     std::move(cluster).value(), std::move(io).value(),
                                     std::move(image).value(), info.value(), geometry.size_bytes));
    lun->untiered_settings_ = apply_shared_settings(opened, gateway, {}, {});
    if (!opened.tiers.empty()) {
        const TieredLun::Home home{lun->cluster_, lun->io_,          lun->image_,
                                   lun->size(),   lun->policy_lun(), lun->lock_};
        auto tiered = TieredLun::open(home, opened, gateway, std::move(cluster_object),
                                      std::move(executor), metadata, header_reader.get());
        if (!tiered) return tiered.status().with_context("enable tiering of " + opened.spec());
        lun->tiered_ = std::move(tiered).value();
        lun->config_ = lun->tiered_->config();
        lun->settings_ = lun->tiered_->settings();
        lun->router_ = std::make_unique<ExtentRouter>(
            lun->tiered_->images(), lun->tiered_->gate(), lun->tiered_->tiering(),
            lun->tiered_->extent_bytes(), static_cast<RoutedCommands&>(*lun));
    }
    lun->log_open();
    return lun;
}

void Lun::log_open() {
    opened_ = true;
    if (!tiered_) {
        RBDTIER_LOG_INFO(config_.spec(), "opened: " << size() << " bytes, " << info_.object_size
                                                    << "-byte objects, no tiers");
        return;
    }
    std::string tiers;
    const ceph::TierImages& images = tiered_->images();
    for (std::size_t i = 0; i < images.count(); ++i) {
        tiers += (i == 0 ? "" : ", ") + images.pool(i) + (i == 0 ? " (home)" : "");
    }
    RBDTIER_LOG_INFO(
        config_.spec(),
        "opened: " << size() << " bytes, " << info_.object_size << "-byte objects, tiers " << tiers
                   << "; policy " << to_string(config_.policy) << "; tenant "
                   << (config_.tenant.empty() ? "none" : config_.tenant) << "; horizon "
                   << settings_.horizon_s << " s, round "
                   << static_cast<double>(settings_.round_us) / 1e6 << " s, migration budget "
                   << settings_.bandwidth_bytes_per_s / (1 << 20) << " MiB/s");
}

Lun::Lun(LunConfig config, TieringSettings settings, const TcmuHost& host, ceph::Cluster cluster,
         ceph::IoContext io, ceph::Image image, ceph::ImageInfo info, std::uint64_t size)
    : config_(std::move(config)),
      settings_(std::move(settings)),
      host_(host),
      id_(name_id(config_.spec().c_str())),
      cluster_(std::move(cluster)),
      io_(std::move(io)),
      image_(std::move(image)),
      info_(info),
      size_(size) {
    activity_ = std::make_unique<InitiatorActivity>(size, info_.object_size);
}

void Lun::attribute_initiators_from_configfs(std::string configfs_root, std::string backstore,
                                             std::chrono::milliseconds period) {
    attribution_ = std::make_unique<InitiatorAttribution>(
        std::move(configfs_root), std::move(backstore), &initiators_, config_.spec());
    attribution_->start(period);
}

Lun::~Lun() {
    // The tiering's watches and rounds run on the process's shared threads and use this LUN's
    // members: they are ended, waiting for their work in flight, before any member is destroyed.
    if (tiered_) tiered_->stop();
    if (attribution_) attribution_->stop();
    // The runner drains commands before close; this only guards against a broken host.
    while (in_flight_.load(std::memory_order_acquire) != 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (opened_) RBDTIER_LOG_INFO(config_.spec(), "closed");
}

void Lun::log_answer(const tcmur_cmd* cmd, int status, long rc) const {
    if (status == TCMU_STS_OK || status == TCMU_STS_ASYNC_HANDLED) return;
    const bool has_cdb = cmd != nullptr && cmd->lib_cmd != nullptr && cmd->lib_cmd->cdb != nullptr;
    log_scsi_answer(config_.spec(), has_cdb ? cmd->lib_cmd->cdb[0] : 0, status, rc);
}

IoCommand* Lun::begin(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                      std::uint64_t len) {
    IoCommand* c = commands_.acquire();
    if (c == nullptr) {
        c = new (std::nothrow) IoCommand;
        if (c == nullptr) return nullptr;
        c->from_heap = true;
    }
    c->lun = this;
    c->dev = dev;
    c->cmd = cmd;
    c->kind = kind;
    c->offset = off;
    c->length = len;
    c->mismatch_offset = 0;
    c->read_back = nullptr;
    c->data_iov = nullptr;
    c->data_iov_cnt = 0;
    c->data_buf = nullptr;
    c->pattern = 0;
    c->gated = false;
    c->first_tier = 0;
    c->routed_image = nullptr;
    c->read_back_cnt = 0;
    c->caw_compare = nullptr;
    c->caw_verifying = false;
    c->initiator = 0;
    if (host_.initiator != nullptr) {
        const char* initiator = host_.initiator(dev, cmd);
        c->initiator = harness_initiator_id(initiator);
        initiators_.note(c->initiator, initiator);
    } else if (attribution_) {
        c->initiator = attribution_->next();
    }
    activity_->record(
        c->initiator,
        kind == IoKind::kWrite || kind == IoKind::kWriteSame || kind == IoKind::kCompareAndWrite,
        kind != IoKind::kFlush && kind != IoKind::kUnmap, off, len);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    return c;
}

void Lun::recycle(IoCommand* c) {
    if (c->from_heap) {
        delete c;
    } else {
        commands_.release(c);
    }
}

void Lun::discard(IoCommand* c) {
    recycle(c);
    in_flight_.fetch_sub(1, std::memory_order_release);
}

template <typename Submit>
int Lun::submit(IoCommand* c, Submit&& submit_fn) {
    IoKind kind = c->kind;
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, &Lun::on_complete, &handle) < 0) {  // no Status: no alloc
        discard(c);
        return TCMU_STS_NO_RESOURCE;
    }
    ceph::Completion completion = ceph::Completion::adopt(handle);
    long rc = submit_fn(completion.handle());
    if (rc < 0) {
        discard(c);  // librbd did not take it: the completion is released here
        return io_status_from_rbd(kind, rc).tcmu_status;
    }
    // Submitted: the completion now belongs to the op and comes back in on_complete (which
    // may already have run); c must not be touched any more.
    (void)completion.detach();
    return TCMU_STS_OK;
}

int Lun::exact_iovec(IoCommand* c, iovec* iov, std::size_t iov_cnt, std::size_t len,
                     const iovec** out, int* out_cnt) {
    std::size_t total = 0;
    std::size_t used = 0;
    while (used < iov_cnt && total < len) total += iov[used++].iov_len;
    if (total < len) return TCMU_STS_INVALID_CDB;
    if (len == 0 || (total == len && used == iov_cnt)) {
        *out = iov;
        *out_cnt = static_cast<int>(used);
        return TCMU_STS_OK;
    }
    // The iovec is longer than the command: serve exactly len bytes.
    if (!fit(c->iov_scratch, used)) return TCMU_STS_NO_RESOURCE;
    std::copy(iov, iov + used, c->iov_scratch.begin());
    c->iov_scratch.back().iov_len -= total - len;
    *out = c->iov_scratch.data();
    *out_cnt = static_cast<int>(used);
    return TCMU_STS_OK;
}

// The data callouts: a command not queued is answered with the status returned, logged here;
// a queued one is logged when it completes (finish, complete_now).
int Lun::read(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
              std::uint64_t off) {
    return answered(cmd, read_command(dev, cmd, iov, iov_cnt, len, off));
}

int Lun::write(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
               std::uint64_t off) {
    return answered(cmd, write_command(dev, cmd, iov, iov_cnt, len, off));
}

int Lun::flush(tcmu_device* dev, tcmur_cmd* cmd) {
    return answered(cmd, flush_command(dev, cmd));
}

int Lun::unmap(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len) {
    return answered(cmd, unmap_command(dev, cmd, off, len));
}

int Lun::write_same(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                    iovec* iov, std::size_t iov_cnt) {
    return answered(cmd, write_same_command(dev, cmd, off, len, iov, iov_cnt));
}

int Lun::compare_and_write(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                           iovec* iov, std::size_t iov_cnt) {
    return answered(cmd, compare_and_write_command(dev, cmd, off, len, iov, iov_cnt));
}

int Lun::answered(const tcmur_cmd* cmd, int status) const {
    log_answer(cmd, status);
    return status;
}

int Lun::read_command(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt,
                      std::size_t len, std::uint64_t off) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    IoCommand* c = begin(dev, cmd, IoKind::kRead, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    int cnt = 0;
    const iovec* v = nullptr;
    if (int st = exact_iovec(c, iov, iov_cnt, len, &v, &cnt); st != TCMU_STS_OK) {
        discard(c);
        return st;
    }
    if (cnt == 0 || cnt > IOV_MAX) {
        // librbd takes 1..IOV_MAX segments: read into a bounce buffer, scatter on completion.
        if (!fit(c->bounce, len)) {
            discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        c->read_back = v;
        c->read_back_cnt = static_cast<std::size_t>(cnt);
        c->data_buf = c->bounce.data();
    } else {
        c->data_iov = v;
        c->data_iov_cnt = cnt;
    }
    return dispatch(c);
}

int Lun::write_command(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt,
                       std::size_t len, std::uint64_t off) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    IoCommand* c = begin(dev, cmd, IoKind::kWrite, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    int cnt = 0;
    const iovec* v = nullptr;
    if (int st = exact_iovec(c, iov, iov_cnt, len, &v, &cnt); st != TCMU_STS_OK) {
        discard(c);
        return st;
    }
    if (cnt == 0 || cnt > IOV_MAX) {
        if (!fit(c->bounce, len)) {
            discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        (void)gather(v, static_cast<std::size_t>(cnt), len, c->bounce.data());
        c->data_buf = c->bounce.data();
    } else {
        c->data_iov = v;
        c->data_iov_cnt = cnt;
    }
    return dispatch(c);
}

int Lun::flush_command(tcmu_device* dev, tcmur_cmd* cmd) {
    IoCommand* c = begin(dev, cmd, IoKind::kFlush, 0, 0);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    return dispatch(c);
}

int Lun::unmap_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    if (anchored_write_same(cmd)) return TCMU_STS_INVALID_CDB;
    // A WRITE SAME with UNMAP of a block that is not zeros: write it (SBC-4 lets the device
    // unmap only what then reads back as written).
    if (const tcmulib_cmd* ws = nonzero_write_same(cmd))
        return write_same_command(dev, cmd, off, len, ws->iovec, ws->iov_cnt);
    IoCommand* c = begin(dev, cmd, IoKind::kUnmap, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    return dispatch(c);
}

int Lun::write_same_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                            iovec* iov, std::size_t iov_cnt) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    if (anchored_write_same(cmd)) return TCMU_STS_INVALID_CDB;
    std::size_t pattern = 0;
    for (std::size_t i = 0; i < iov_cnt; ++i) pattern += iov[i].iov_len;
    if (pattern == 0 || len % pattern != 0) return TCMU_STS_INVALID_CDB;
    IoCommand* c = begin(dev, cmd, IoKind::kWriteSame, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    char* buf = static_cast<char*>(iov[0].iov_base);
    if (iov[0].iov_len < pattern) {
        if (!fit(c->bounce, pattern)) {
            discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        (void)gather(iov, iov_cnt, pattern, c->bounce.data());
        buf = c->bounce.data();
    }
    c->data_buf = buf;
    c->pattern = pattern;
    return dispatch(c);
}

int Lun::compare_and_write_command(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off,
                                   std::uint64_t len, iovec* iov, std::size_t iov_cnt) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    IoCommand* c = begin(dev, cmd, IoKind::kCompareAndWrite, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    // The iovec holds the len bytes to compare, then the len bytes to write.
    char* buf = iov_cnt > 0 ? static_cast<char*>(iov[0].iov_base) : nullptr;
    if (iov_cnt == 0 || iov[0].iov_len < 2 * len) {
        if (!fit(c->bounce, 2 * len)) {
            discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        if (!gather(iov, iov_cnt, 2 * len, c->bounce.data())) {
            discard(c);
            return TCMU_STS_INVALID_CDB;
        }
        buf = c->bounce.data();
    }
    c->caw_compare = buf;
    c->data_buf = buf;
    return dispatch(c);
}

int Lun::dispatch(IoCommand* c) {
    // A transfer length of zero moves no data and is not an error (SBC-4); librbd must not see
    // it (a zero-length read into no buffer fails an assertion and aborts the process).
    if (c->length == 0 && c->kind != IoKind::kFlush) {
        c->start_us = now_us();
        complete_now(c, TCMU_STS_OK);
        return TCMU_STS_OK;
    }
    // librbd takes the exclusive lock for a command that writes: the rounds ask at once.
    if (c->kind != IoKind::kRead) lock_.probe.note_may_take();
    // The command starts now, its buffers ready: one clock read for its start and, on a tiered
    // LUN, for the routing lease that route() asks next.
    const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
    c->start_us = us_of(now);
    if (router_ != nullptr) {
        const int status = router_->route(c, now);
        if (status != TCMU_STS_OK) discard(c);
        return status;
    }
    rbd_image_t image = image_.handle();
    return submit(c, [&](rbd_completion_t comp) {
        return issue_io(c, image, c->offset, c->length, c->data_iov, c->data_iov_cnt, comp);
    });
}

void Lun::on_complete(rbd_completion_t completion, void* arg) {
    long rc = 0;
    {
        ceph::Completion owned = ceph::Completion::adopt(completion);
        rc = static_cast<long>(owned.return_value());
    }  // released exactly once, here
    auto* c = static_cast<IoCommand*>(arg);
    c->lun->finish(c, rc);
}

// librbd 16 reports a COMPARE AND WRITE miscompare at (start of the object + index) rather
// than at (offset + index) as documented, so the offset it gives is not trusted: the range is
// read back and compared. Without a usable read-back, librbd's value is interpreted both ways.
std::uint64_t Lun::miscompare_index(const IoCommand* c) const {
    if (c->caw_verifying && c->verify.size() == c->length && c->caw_compare != nullptr) {
        for (std::size_t i = 0; i < c->length; ++i) {
            if (c->verify[i] != c->caw_compare[i]) return i;
        }
    }
    const std::uint64_t reported = c->mismatch_offset;
    if (reported >= c->offset && reported - c->offset < c->length) return reported - c->offset;
    const std::uint64_t object = info_.object_size != 0 ? info_.object_size : 1;
    const std::uint64_t base = c->offset - c->offset % object;
    if (reported >= base && reported - base < c->length) return reported - base;
    return 0;
}

// First stage of locating a miscompare: read the range back (the command completes when the
// read does). False if the read could not be queued.
bool Lun::start_miscompare_read(IoCommand* c) {
    c->caw_verifying = true;
    if (!fit(c->verify, c->length)) {
        c->verify.clear();
        return false;
    }
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, &Lun::on_complete, &handle) < 0) {
        c->verify.clear();  // nothing read: miscompare_index() falls back to librbd's offset
        return false;
    }
    ceph::Completion completion = ceph::Completion::adopt(handle);
    rbd_image_t image = c->routed_image != nullptr ? c->routed_image : image_.handle();
    if (rbd_aio_read(image, c->offset, c->length, c->verify.data(), completion.handle()) < 0) {
        c->verify.clear();
        return false;
    }
    (void)completion.detach();
    return true;
}

void Lun::finish(IoCommand* c, long rc) {
    if (c->kind == IoKind::kCompareAndWrite) {
        if (!c->caw_verifying && rc == -EILSEQ) {
            if (start_miscompare_read(c)) return;
        } else if (c->caw_verifying) {
            if (rc < 0) c->verify.clear();  // read-back failed: use librbd's offset
            rc = -EILSEQ;                   // the command's outcome is the miscompare
        }
    }
    const std::uint64_t end_us = now_us();
    IoStatus status = io_status_from_rbd(c->kind, rc);
    if (rc >= 0 && c->read_back != nullptr) {
        std::size_t left = c->length;
        const char* src = c->bounce.data();
        for (std::size_t i = 0; i < c->read_back_cnt && left > 0; ++i) {
            std::size_t n = c->read_back[i].iov_len < left ? c->read_back[i].iov_len : left;
            std::memcpy(c->read_back[i].iov_base, src, n);
            src += n;
            left -= n;
        }
    }
    if (status.tcmu_status == TCMU_STS_MISCOMPARE && host_.set_sense_info != nullptr &&
        c->cmd != nullptr && c->cmd->lib_cmd != nullptr) {
        host_.set_sense_info(c->cmd->lib_cmd->sense_buf,
                             static_cast<std::uint32_t>(miscompare_index(c)));
    }
    if (status.failure == IoFailure::kTimedOut && host_.notify_cmd_timed_out != nullptr) {
        host_.notify_cmd_timed_out(c->dev);
    } else if (status.failure == IoFailure::kFenced && host_.notify_lock_lost != nullptr) {
        host_.notify_lock_lost(c->dev);
    }
    if (c->kind != IoKind::kFlush) {
        if (LunIoMetrics* metrics = io_metrics_.load(std::memory_order_acquire);
            metrics && rc >= 0) {
            const std::size_t tier = c->first_tier;  // where route() sent it (0: untiered)
            metrics->record(tier,
                            c->kind == IoKind::kRead ? LunIoMetrics::kRead : LunIoMetrics::kWrite,
                            c->length, end_us - c->start_us);
        }
    }
    // The command's one IoEvent goes to the tiering rounds, its one consumer (a FLUSH has none).
    if (c->gated) router_->leave(c, completed_event(*c, id_, end_us));
    tcmu_device* dev = c->dev;
    tcmur_cmd* cmd = c->cmd;
    recycle(c);
    if (status.failure == IoFailure::kFenced)
        note_lock_lost("this gateway's client is blocklisted");
    log_answer(cmd, status.tcmu_status, rc);
    host_.complete(dev, cmd, status.tcmu_status);
    // Last touch of *this: close() may proceed once this reaches 0.
    in_flight_.fetch_sub(1, std::memory_order_release);
}

void Lun::complete_now(IoCommand* c, int status) {
    tcmu_device* dev = c->dev;
    tcmur_cmd* cmd = c->cmd;
    recycle(c);
    log_answer(cmd, status);
    host_.complete(dev, cmd, status);
    in_flight_.fetch_sub(1, std::memory_order_release);
}

void Lun::fenced(IoCommand* c) {
    // As librbd answers a blocklisted client: the runner learns the lock is lost.
    note_lock_lost("this gateway's client is blocklisted (placement map fenced)");
    if (host_.notify_lock_lost != nullptr) host_.notify_lock_lost(c->dev);
}

// ---- the admin side: a tiered LUN's settings follow the cluster -------------------------------

std::string Lun::tiering_problem() const {
    return tiered_ ? tiered_->tiering_problem() : std::string();
}

std::vector<EffectiveSetting> Lun::settings_report() const {
    return tiered_ ? tiered_->settings_report() : untiered_settings_.report;
}

std::vector<std::string> Lun::settings_problems() const {
    return tiered_ ? tiered_->settings_problems() : untiered_settings_.problems;
}

// ---- exclusive lock (ALUA implicit failover) -------------------------------------------------

// 1 = we own the lock, 0 = we do not, -ESHUTDOWN (blocklisted) / -ETIMEDOUT / -EIO.
int Lun::has_lock() {
    return holds_exclusive_lock(image_);
}

void Lun::note_lock_lost(const char* why) {
    lock_held_noted_.store(false);
    if (lock_lost_noted_.exchange(true)) return;
    RBDTIER_LOG_WARNING(config_.spec(), "lost the exclusive lock: " << why);
}

int Lun::get_lock_state() {
    int rc = has_lock();
    if ((rc == 0 || rc == -ESHUTDOWN) && lock_held_noted_.load()) {
        note_lock_lost(rc == 0 ? "another gateway holds it"
                               : "this gateway's client is blocklisted");
    }
    if (rc == 1) return TCMUR_DEV_LOCK_WRITE_LOCKED;
    if (rc == 0 || rc == -ESHUTDOWN) return TCMUR_DEV_LOCK_UNLOCKED;
    return TCMUR_DEV_LOCK_UNKNOWN;
}

// Breaks another client's exclusive lock (librbd blocklists it). 0 when nobody holds it.
int Lun::break_lock() {
    auto owner = image_.lock_owner();
    if (!owner) return owner.status().code();
    if (owner->owner.empty()) return 0;
    if (owner->mode != RBD_LOCK_MODE_EXCLUSIVE) return -EIO;
    return image_.lock_break(owner->mode, owner->owner).code();
}

// Stores "tcmu_tag=<tag>,rbd_client=<owner>" so other gateways can check the tag is current.
int Lun::set_lock_tag(std::uint16_t tag) {
    auto owner = image_.lock_owner();
    if (!owner) return owner.status().code();
    if (owner->owner.empty()) return -ENOENT;
    std::string value = "tcmu_tag=" + std::to_string(tag) + ",rbd_client=" + owner->owner;
    return image_.metadata_set(kLockTagKey, value).code();
}

int Lun::lock(std::uint16_t tag) {
    // A round that sees the lock taken waits for its tiering to be taken too (and then finds
    // it taken) instead of taking it a second time.
    std::lock_guard ownership(lock_.ownership);
    lock_.probe.note_may_take();  // the rounds ask at once whether this gateway holds it now
    int rc = has_lock();
    if (rc == 0) {
        rc = break_lock();
        if (rc == 0) rc = image_.lock_acquire(RBD_LOCK_MODE_EXCLUSIVE).code();
    } else if (rc == 1) {
        rc = 0;  // we may have failed between acquiring the lock and storing the tag
    }
    if (rc == 0 && tag != TCMU_INVALID_LOCK_TAG) rc = set_lock_tag(tag);
    lock_.by_callout.store(rc == 0);
    std::string failed = "librbd: " + std::generic_category().message(-rc);
    if (rc == 0 && tiered_) {
        // The new owner of the LUN takes its tier images and the map's fence too (the previous
        // owner can commit nothing from now on), and serves every extent from where the map
        // says it is now; what the previous owner's interrupted migrations left is removed.
        if (ceph::Status s = tiered_->images().take_over(); !s) {
            rc = s.code();
            failed = "tier images: " + s.message();
        }
        if (rc == 0) {
            if (ceph::Status s = tiered_->migrator().take_ownership(); !s) {
                tiered_->tiering_problem(s, /*caller_logs=*/true);  // logged below, with the lock
                rc = s.code();
                failed = "tiering: " + s.message();
            }
        }
    }
    const int status = control_status_from_rbd(rc);
    if (rc == 0) {
        lock_lost_noted_.store(false);
        lock_held_noted_.store(true);
        RBDTIER_LOG_INFO(
            config_.spec(), "took the exclusive lock" << [tag](log::Emitter& line) {
                if (tag != TCMU_INVALID_LOCK_TAG) line << " (ALUA tag " << tag << ")";
            } << (tiered_ ? ", and the LUN's tiering" : ""));
    } else {
        RBDTIER_LOG_WARNING(config_.spec(), "could not take the exclusive lock: "
                                                << failed << " (answered "
                                                << scsi_answer(status).status_name << ")");
    }
    return status;
}

int Lun::unlock() {
    std::lock_guard ownership(lock_.ownership);  // no round takes the tiering meanwhile
    int rc = has_lock();
    if (rc == 0) return TCMU_STS_OK;
    if (rc < 0) return control_status_from_rbd(rc);
    lock_.by_callout.store(false);
    lock_held_noted_.store(false);
    rc = image_.lock_release().code();
    // Nothing migrates once the lock is gone: wait for the migration in progress (its commit
    // is still fenced by this gateway's lock on the map), then give the fence up.
    if (tiered_) {
        if (ceph::Status s = tiered_->migrator().release_ownership(); !s)
            tiered_->tiering_problem(s);
    }
    if (rc == 0) {
        RBDTIER_LOG_INFO(config_.spec(), "released the exclusive lock");
    } else {
        RBDTIER_LOG_WARNING(config_.spec(), "releasing the exclusive lock: librbd: "
                                                << std::generic_category().message(-rc));
    }
    return control_status_from_rbd(rc);
}

int Lun::get_lock_tag(std::uint16_t* tag) {
    auto stored = image_.metadata_get(kLockTagKey);
    if (!stored) return control_status_from_rbd(stored.status().code());
    if (!stored->has_value()) return TCMU_STS_NO_LOCK_HOLDERS;
    auto owner = image_.lock_owner();
    if (!owner) return control_status_from_rbd(owner.status().code());
    // No owner (stale tag after a crash), a tag naming another client (a gateway is midway
    // through taking the lock) or a malformed tag: report no holder so the initiator retries.
    if (owner->owner.empty()) return TCMU_STS_NO_LOCK_HOLDERS;
    const std::string& text = **stored;
    const std::string client_key = ",rbd_client=";
    std::size_t at = text.find(client_key);
    if (!text.starts_with("tcmu_tag=") || at == std::string::npos ||
        text.substr(at + client_key.size()) != owner->owner) {
        return TCMU_STS_NO_LOCK_HOLDERS;
    }
    unsigned value = 0;
    if (std::sscanf(text.c_str(), "tcmu_tag=%u,", &value) != 1 || value > 0xFFFF) {
        return TCMU_STS_NO_LOCK_HOLDERS;
    }
    *tag = static_cast<std::uint16_t>(value);
    return TCMU_STS_OK;
}

ceph::Status Lun::resize(std::uint64_t new_size) {
    lock_.probe.note_may_take();  // librbd takes the lock to resize
    auto current = image_.size();
    if (!current) return current.status();
    if (*current < new_size) {
        ceph::Status st = image_.resize(new_size);
        if (!st) return st;
    }
    if (tiered_) {
        if (ceph::Status st = tiered_->resize(new_size, *current); !st) return st;
    }
    size_.store(new_size, std::memory_order_relaxed);
    return ceph::Status::ok();
}

}  // namespace rbdtier
