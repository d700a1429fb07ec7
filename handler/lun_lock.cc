#include "handler/lun_lock.h"

#include <cstdio>
#include <string>
#include <system_error>

#include "common/log.h"
#include "handler/lock_probe.h"
#include "handler/tcmu_abi.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

namespace {

// Where upstream handler_rbd keeps the ALUA lock tag, so mixed gateways agree.
constexpr const char* kLockTagKey = "tcmu_rbd_locker_tag";

}  // namespace

// 1 = we own the lock, 0 = we do not, -ESHUTDOWN (blocklisted) / -ETIMEDOUT / -EIO.
int LunLock::has_lock() {
    return holds_exclusive_lock(image_);
}

void LunLock::note_lock_lost(const char* why) {
    held_noted_.store(false);
    if (lost_noted_.exchange(true)) return;
    RBDTIER_LOG_WARNING(spec_, "lost the exclusive lock: " << why);
}

int LunLock::get_lock_state() {
    int rc = has_lock();
    if ((rc == 0 || rc == -ESHUTDOWN) && held_noted_.load()) {
        note_lock_lost(rc == 0 ? "another gateway holds it"
                               : "this gateway's client is blocklisted");
    }
    if (rc == 1) return TCMUR_DEV_LOCK_WRITE_LOCKED;
    if (rc == 0 || rc == -ESHUTDOWN) return TCMUR_DEV_LOCK_UNLOCKED;
    return TCMUR_DEV_LOCK_UNKNOWN;
}

// Breaks another client's exclusive lock (librbd blocklists it). 0 when nobody holds it.
int LunLock::break_lock() {
    auto owner = image_.lock_owner();
    if (!owner) return owner.status().code();
    if (owner->owner.empty()) return 0;
    if (owner->mode != RBD_LOCK_MODE_EXCLUSIVE) return -EIO;
    return image_.lock_break(owner->mode, owner->owner).code();
}

// Stores "tcmu_tag=<tag>,rbd_client=<owner>" so other gateways can check the tag is current.
int LunLock::set_tag(std::uint16_t tag) {
    auto owner = image_.lock_owner();
    if (!owner) return owner.status().code();
    if (owner->owner.empty()) return -ENOENT;
    std::string value = "tcmu_tag=" + std::to_string(tag) + ",rbd_client=" + owner->owner;
    return image_.metadata_set(kLockTagKey, value).code();
}

int LunLock::lock(std::uint16_t tag) {
    // A round that sees the lock taken waits for its tiering to be taken too (and then finds
    // it taken) instead of taking it a second time.
    std::lock_guard ownership(share_.ownership);
    int rc = has_lock();
    if (rc == 0) {
        rc = break_lock();
        if (rc == 0) rc = image_.lock_acquire(RBD_LOCK_MODE_EXCLUSIVE).code();
    } else if (rc == 1) {
        rc = 0;  // we may have failed between acquiring the lock and storing the tag
    }
    if (rc == 0 && tag != TCMU_INVALID_LOCK_TAG) rc = set_tag(tag);
    share_.by_callout.store(rc == 0);
    std::string failed = "librbd: " + std::generic_category().message(-rc);
    if (rc == 0 && tiered_ != nullptr) {
        // The new owner of the LUN takes its tiering too (logged below, with the lock).
        if (ceph::Status s = tiered_->take_over(); !s) {
            rc = s.code();
            failed = s.message();
        }
    }
    // The next round asks whether this gateway holds the lock. Noted once the lock is taken: a
    // round that asked while it was being taken found it not held yet, and a note it consumed
    // then would leave the LUN standing by until its next probe period.
    share_.probe.note_may_take();
    const int status = control_status_from_rbd(rc);
    if (rc == 0) {
        lost_noted_.store(false);
        held_noted_.store(true);
        RBDTIER_LOG_INFO(
            spec_, "took the exclusive lock" << [tag](log::Emitter& line) {
                if (tag != TCMU_INVALID_LOCK_TAG) line << " (ALUA tag " << tag << ")";
            } << (tiered_ != nullptr ? ", and the LUN's tiering" : ""));
    } else {
        RBDTIER_LOG_WARNING(
            spec_, "could not take the exclusive lock: " << failed << " (answered "
                                                         << scsi_answer(status).status_name << ")");
    }
    return status;
}

int LunLock::unlock() {
    std::lock_guard ownership(share_.ownership);  // no round takes the tiering meanwhile
    int rc = has_lock();
    if (rc == 0) return TCMU_STS_OK;
    if (rc < 0) return control_status_from_rbd(rc);
    share_.by_callout.store(false);
    held_noted_.store(false);
    const auto released_at = LockProbe::Clock::now();
    rc = image_.lock_release().code();
    if (rc == 0) share_.probe.answered(false, released_at);  // the rounds plan nothing now
    // Nothing migrates once the lock is gone: wait for the migration in progress (its commit
    // is still fenced by this gateway's lock on the map), then give the fence up.
    if (tiered_ != nullptr) tiered_->give_up();
    if (rc == 0) {
        RBDTIER_LOG_INFO(spec_, "released the exclusive lock");
    } else {
        RBDTIER_LOG_WARNING(spec_, "releasing the exclusive lock: librbd: "
                                       << std::generic_category().message(-rc));
    }
    return control_status_from_rbd(rc);
}

int LunLock::get_lock_tag(std::uint16_t* tag) {
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

}  // namespace rbdtier
