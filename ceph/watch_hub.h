// watch_hub(): the few threads on which the watches of every LUN of the process do their work, so
// that a gateway's thread count does not grow with its LUN count.
//
// The watches (ceph/placement_watch.h, ceph/settings_watch.h) register a step with the hub (a
// RoundDriver with kWatchHubThreads workers, engine/round_driver.h): re-making a failed watch with
// its backoff, reloading the placement map after another gateway's move and acknowledging it,
// extending the gate's lease every second, the periodic re-read of the settings. librados and
// librbd call the watches' callbacks on their own threads; a callback only notes what came and
// wakes the watch's step. Steps run in the order they are due, a watch's steps one at a time: a
// step that waits on an unreachable OSD (a reload, a re-watch) holds its worker for that long (at
// most the client's rados_osd_op_timeout when one is set); the other LUNs' steps, their lease
// extensions above all, go on on the other workers unless every worker waits so.
//
// A watch removes its step (RoundDriver::remove waits for a run in progress) and then ends its
// librados/librbd watches, which wait for their callbacks in flight, before any of its members
// goes: nothing of a closed LUN is touched afterwards.
//
// The hub is the process's RoundDriver of tag kWatchHubTag (RoundDriver::process_wide): made by
// the first caller and ended (its threads joined) when the last holder lets go. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "engine/round_driver.h"

namespace rbdtier::ceph {

// Steps that may wait on an unreachable pool at once before the others' steps start late.
inline constexpr std::size_t kWatchHubThreads = 4;
inline constexpr std::string_view kWatchHubTag = "watch hub";

std::shared_ptr<RoundDriver> watch_hub();

}  // namespace rbdtier::ceph
