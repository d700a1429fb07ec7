// LunLock: a LUN's RBD exclusive lock as tcmu-runner's ALUA implicit failover uses it.
//
// lock() takes the lock (breaking another client's, whom librbd then blocklists) and stores the
// ALUA tag beside it, as upstream handler_rbd does (image metadata tcmu_rbd_locker_tag:
// "tcmu_tag=<tag>,rbd_client=<owner>"), so that mixed gateways agree; a tiered LUN's new owner
// takes its tiering too (TieredLun::take_over). unlock() releases it (a tiered LUN's migration in
// progress is waited for first, and the map's fence given up). get_lock_tag() reports the stored
// tag only while it names the current owner, get_lock_state() whether this gateway holds it.
// They answer TCMU_STS_* (lock, unlock, get_lock_tag) or tcmur_lock_state (get_lock_state).
// Logs the lock taken, released or lost (note_lock_lost: once until it is taken again).
//
// Thread-safety: the four callouts are synchronous control calls from the runner's threads; the
// callouts and a tiering round taking the LUN's tiering are serialised by the share's
// `ownership` mutex. note_lock_lost() and note_may_take() may be called from any thread. What the
// caller owes: the image outlives this, and so does the TieredLun given to follow_tiering(),
// which the caller sets before the first callout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "ceph/image.h"
#include "handler/tiered_lun.h"

namespace rbdtier {

class LunLock {
public:
    // How often the rounds of an idle LUN renew what they know of its lock when no other asker
    // did (handler/lock_probe.h): whether this gateway took it by a path the LUN does not see, or
    // lost it; a lock callout or a command that writes makes the next round ask at once.
    static constexpr std::chrono::seconds kLockProbePeriod{10};

    // `spec` names the LUN in logs.
    LunLock(ceph::Image& image, std::string spec) : image_(image), spec_(std::move(spec)) {}
    LunLock(const LunLock&) = delete;
    LunLock& operator=(const LunLock&) = delete;

    // The tiering that follows the lock (a tiered LUN's), set once before the first callout.
    void follow_tiering(TieredLun& tiered) { tiered_ = &tiered; }
    // What the lock callouts share with the tiering rounds (TieredLun::Home::lock).
    LunLockShare& share() { return share_; }

    int lock(std::uint16_t tag);
    int unlock();
    int get_lock_tag(std::uint16_t* tag);
    int get_lock_state();

    // librbd took, or may take, the lock (a command that wrote completed, a resize): the rounds
    // ask at once.
    void note_may_take() { share_.probe.note_may_take(); }
    // Logs (once until the lock is taken again) that the lock is gone, and why.
    void note_lock_lost(const char* why);

private:
    int has_lock();  // 1 = we own the lock, 0 = we do not, -ESHUTDOWN / -ETIMEDOUT / -EIO
    int set_tag(std::uint16_t tag);
    int break_lock();

    ceph::Image& image_;
    const std::string spec_;
    TieredLun* tiered_ = nullptr;
    LunLockShare share_{kLockProbePeriod};
    std::atomic<bool> held_noted_{false};  // logged as taken, not logged as released/lost
    std::atomic<bool> lost_noted_{false};  // the loss is logged
};

}  // namespace rbdtier
