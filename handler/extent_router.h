// ExtentRouter: the tiered I/O path of one LUN. Each command is sent, extent by extent, to the
// tier image that holds the data, as the LUN's ExtentGate says, and waits (parked, not blocking a
// thread) while a migration commits one of its extents. A command whose extents all live in one
// tier is one librbd operation, as on a plain LUN; one that spans tiers is split into one
// operation per run of extents in the same tier and completes when the last part does. COMPARE
// AND WRITE is atomic only within one image, so one that would span tiers is refused (INVALID
// CDB): it cannot happen for CAW of a block or two unless it crosses an extent boundary. A FLUSH
// goes to every tier image open now.
//
// Protocol with the gate (ceph/extent_gate.h): route() asks the routing lease first, then enters
// every extent of the command or none (parking it on the held one); the command is then
// "gated". One that meets an extent the gate refuses (its tier is not known) is answered BUSY,
// for the initiator to retry. When its last part completes (and, for a COMPARE AND WRITE that
// miscompared, the read-back that locates the miscompare, still inside the gate), the router leaves
// its extents and records the command's one IoEvent, built there, in the LUN's tiering rounds
// (engine/lun_rounds.h). A command never holds an extent across a park.
//
// Completion: the router owns no command and answers none. It hands each to the LUN's
// CommandAnswers (handler/io_command.h) once its last part completed (answer), when a parked
// command fails to resume (complete_now) and when the gate says this gateway is fenced; those
// never call the router. Thread-safety: route() is called from the callouts and, for a parked
// command, from the thread that releases it (the migrator's, the map's watch); part completions
// run on librbd's completion threads. Nothing here takes a lock. The images, gate and rounds
// given must outlive the router, and so must the CommandAnswers; the caller destroys the router
// only once no command is in flight.
#pragma once

#include <rbd/librbd.h>

#include <chrono>
#include <cstdint>

#include "ceph/extent_gate.h"
#include "ceph/tier_images.h"
#include "engine/io_event.h"
#include "engine/lun_rounds.h"
#include "handler/io_command.h"

namespace rbdtier {

class ExtentRouter {
public:
    // `lun` is the LUN's id its events carry; `extent_bytes` (the tier images' object size) is a
    // power of two, as RBD's object sizes are (std::invalid_argument otherwise).
    ExtentRouter(ceph::TierImages& tiers, ceph::ExtentGate& gate, LunRounds& rounds,
                 std::uint64_t extent_bytes, LunId lun, CommandAnswers& answers);
    ExtentRouter(const ExtentRouter&) = delete;
    ExtentRouter& operator=(const ExtentRouter&) = delete;

    // Returns TCMU_STS_OK when the command was submitted (whole, or in parts that will complete
    // it) or parked; any other status means nothing was submitted and c is untouched: the caller
    // gives it back (callout) or completes it (resumed). `now` is the instant the routing lease is
    // asked at: a clock read made just before the call (never an older one, such as the start of
    // a command that was parked: the lease must not run longer than the gate says).
    int route(IoCommand* c,
              std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

private:
    // A gated command completed at `end`: leaves its extents and records its IoEvent (not for a
    // FLUSH) in the LUN's rounds, stamped with `end` on the rounds' clock.
    void leave(IoCommand* c, std::chrono::steady_clock::time_point end);
    void resume_routed(IoCommand* c);  // a parked command, released: route it again
    template <typename Submit>
    long submit_part(IoCommand* c, Submit&& submit_fn);
    static void on_part_complete(rbd_completion_t completion, void* arg);
    void part_done(IoCommand* c, long rc);

    ceph::TierImages& tiers_;
    ceph::ExtentGate& gate_;
    LunRounds& rounds_;
    const std::uint64_t extent_bytes_;
    const unsigned extent_shift_;  // log2(extent_bytes_): an offset's extent is a shift
    const LunId lun_;
    CommandAnswers& answers_;
};

}  // namespace rbdtier
