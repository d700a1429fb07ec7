#include "handler/lun.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>

#include "ceph/completion.h"
#include "common/log.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

namespace {

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

// *out = the iovec trimmed to exactly len bytes (in c's scratch when it must be copied).
// TCMU_STS_INVALID_CDB when it holds fewer than len bytes, TCMU_STS_NO_RESOURCE when the trimmed
// copy cannot be allocated.
int exact_iovec(IoCommand& c, iovec* iov, std::size_t iov_cnt, std::size_t len, const iovec** out,
                int* out_cnt) {
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
    if (!fit(c.iov_scratch, used)) return TCMU_STS_NO_RESOURCE;
    std::copy(iov, iov + used, c.iov_scratch.begin());
    c.iov_scratch.back().iov_len -= total - len;
    *out = c.iov_scratch.data();
    *out_cnt = static_cast<int>(used);
    return TCMU_STS_OK;
}

}  // namespace

Lun::Lun(LunConfig config, const TcmuHost& host, std::unique_ptr<LunHome> home, std::uint64_t size,
         std::unique_ptr<TieredLun> tiered)
    : untiered_config_(tiered ? nullptr : std::make_unique<const LunConfig>(std::move(config))),
      config_(tiered ? tiered->config() : *untiered_config_),
      initiator_of_(host.initiator),
      id_(name_id(config_.spec().c_str())),
      home_(std::move(home)),
      size_(size),
      commands_(host, config_.spec(), home_->info.object_size, home_->lock),
      tiered_(std::move(tiered)) {
    activity_ = std::make_unique<InitiatorActivity>(size, home_->info.object_size);
    if (tiered_) {
        home_->lock.follow_tiering(*tiered_);
        router_ =
            std::make_unique<ExtentRouter>(tiered_->images(), tiered_->gate(), tiered_->tiering(),
                                           tiered_->extent_bytes(), id_, commands_);
    }
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
    commands_.wait_idle();
    RBDTIER_LOG_INFO(config_.spec(), "closed");
}

IoCommand* Lun::begin(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                      std::uint64_t len) {
    IoCommand* c = commands_.acquire(dev, cmd, kind, off, len);
    if (c == nullptr) return nullptr;
    if (initiator_of_ != nullptr) {
        const char* initiator = initiator_of_(dev, cmd);
        c->initiator = harness_initiator_id(initiator);
        initiators_.note(c->initiator, initiator);
    } else if (attribution_) {
        c->initiator = attribution_->next();
    }
    activity_->record(
        c->initiator,
        kind == IoKind::kWrite || kind == IoKind::kWriteSame || kind == IoKind::kCompareAndWrite,
        kind != IoKind::kFlush && kind != IoKind::kUnmap, off, len);
    return c;
}

// The data callouts: a command not queued is answered with the status returned, logged here;
// a queued one is logged when it is answered (LunCommands).
int Lun::read(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
              std::uint64_t off) {
    return commands_.answered(cmd,
                              transfer_command(dev, cmd, IoKind::kRead, iov, iov_cnt, len, off));
}

int Lun::write(tcmu_device* dev, tcmur_cmd* cmd, iovec* iov, std::size_t iov_cnt, std::size_t len,
               std::uint64_t off) {
    return commands_.answered(cmd,
                              transfer_command(dev, cmd, IoKind::kWrite, iov, iov_cnt, len, off));
}

int Lun::flush(tcmu_device* dev, tcmur_cmd* cmd) {
    IoCommand* c = begin(dev, cmd, IoKind::kFlush, 0, 0);
    return commands_.answered(cmd, c != nullptr ? dispatch(c) : TCMU_STS_NO_RESOURCE);
}

int Lun::unmap(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len) {
    return commands_.answered(cmd, unmap_command(dev, cmd, off, len));
}

int Lun::write_same(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                    iovec* iov, std::size_t iov_cnt) {
    return commands_.answered(cmd, write_same_command(dev, cmd, off, len, iov, iov_cnt));
}

int Lun::compare_and_write(tcmu_device* dev, tcmur_cmd* cmd, std::uint64_t off, std::uint64_t len,
                           iovec* iov, std::size_t iov_cnt) {
    return commands_.answered(cmd, compare_and_write_command(dev, cmd, off, len, iov, iov_cnt));
}

int Lun::transfer_command(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, iovec* iov,
                          std::size_t iov_cnt, std::size_t len, std::uint64_t off) {
    if (out_of_range(off, len, size())) return TCMU_STS_RANGE;
    IoCommand* c = begin(dev, cmd, kind, off, len);
    if (c == nullptr) return TCMU_STS_NO_RESOURCE;
    int cnt = 0;
    const iovec* v = nullptr;
    if (int st = exact_iovec(*c, iov, iov_cnt, len, &v, &cnt); st != TCMU_STS_OK) {
        commands_.discard(c);
        return st;
    }
    if (cnt == 0 || cnt > IOV_MAX) {
        // librbd takes 1..IOV_MAX segments: through a bounce buffer.
        if (!fit(c->bounce, len)) {
            commands_.discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        if (kind == IoKind::kRead) {
            c->read_back = v;  // scattered when the read completes
            c->read_back_cnt = static_cast<std::size_t>(cnt);
        } else {
            (void)gather(v, static_cast<std::size_t>(cnt), len, c->bounce.data());
        }
        c->data_buf = c->bounce.data();
    } else {
        c->data_iov = v;
        c->data_iov_cnt = cnt;
    }
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
            commands_.discard(c);
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
            commands_.discard(c);
            return TCMU_STS_NO_RESOURCE;
        }
        if (!gather(iov, iov_cnt, 2 * len, c->bounce.data())) {
            commands_.discard(c);
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
        c->start_us = steady_us(std::chrono::steady_clock::now());
        commands_.complete_now(c, TCMU_STS_OK);
        return TCMU_STS_OK;
    }
    // The command starts now, its buffers ready: one clock read for its start and, on a tiered
    // LUN, for the routing lease that route() asks next.
    const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
    c->start_us = steady_us(now);
    if (router_ != nullptr) {
        const int status = router_->route(c, now);
        if (status != TCMU_STS_OK) commands_.discard(c);
        return status;
    }
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, &Lun::on_complete, &handle) < 0) {  // no Status: no alloc
        commands_.discard(c);
        return TCMU_STS_NO_RESOURCE;
    }
    ceph::Completion completion = ceph::Completion::adopt(handle);
    const IoKind kind = c->kind;
    const long rc = issue_io(c, home_->image.handle(), c->offset, c->length, c->data_iov,
                             c->data_iov_cnt, completion.handle());
    if (rc < 0) {
        commands_.discard(c);  // librbd did not take it: the completion is released here
        return io_status_from_rbd(kind, rc).tcmu_status;
    }
    // Submitted: the completion now belongs to the op and comes back in on_complete (which
    // may already have run); c must not be touched any more.
    (void)completion.detach();
    return TCMU_STS_OK;
}

void Lun::on_complete(rbd_completion_t completion, void* arg) {
    long rc = 0;
    {
        ceph::Completion owned = ceph::Completion::adopt(completion);
        rc = static_cast<long>(owned.return_value());
    }  // released exactly once, here
    auto* c = static_cast<IoCommand*>(arg);
    if (reading_back_miscompare(c, rc, &Lun::on_complete)) return;
    c->answers->answer(c, rc, steady_us(std::chrono::steady_clock::now()));
}

ceph::Status Lun::resize(std::uint64_t new_size) {
    home_->lock.note_may_take();  // librbd takes the lock to resize
    auto current = home_->image.size();
    if (!current) return current.status();
    if (*current < new_size) {
        ceph::Status st = home_->image.resize(new_size);
        if (!st) return st;
    }
    if (tiered_) {
        if (ceph::Status st = tiered_->resize(new_size, *current); !st) return st;
    }
    size_.store(new_size, std::memory_order_relaxed);
    return ceph::Status::ok();
}

}  // namespace rbdtier
