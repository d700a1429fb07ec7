// guarded(): runs one tcmu-runner callout so that no exception crosses into the C host.
//
// An exception out of `body` (an allocation failure, or a bug) is logged once at error, naming
// the LUN and the callout and what was thrown, and the callout returns `on_error`, which the
// caller picks so that tcmu-runner answers the command or the request as failed. Nothing else is
// logged: a callout that returns normally reports its own outcome.
//
// Thread-safety: as the body; guarded() itself keeps no state. What the caller owes: `lun` and
// `callout` outlive the call ("" names no LUN: a gateway-wide callout).
#pragma once

#include <exception>
#include <string_view>

#include "common/log.h"

namespace rbdtier {

namespace callout_guard_detail {
inline void note_failure(std::string_view lun, std::string_view callout,
                         std::string_view what) noexcept {
    try {
        RBDTIER_LOG_ERROR(lun, callout << " failed: " << what << "; answered as failed");
    } catch (...) {
        // Out of memory for the line too: nothing more can be reported.
    }
}
}  // namespace callout_guard_detail

template <typename R, typename F>
R guarded(std::string_view lun, std::string_view callout, R on_error, F&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        callout_guard_detail::note_failure(lun, callout, e.what());
    } catch (...) {
        callout_guard_detail::note_failure(lun, callout, "an exception of unknown type");
    }
    return on_error;
}

}  // namespace rbdtier
