// IoObserver: where the handler hands every completed command (the engine's profiler).
//
// on_complete() is called on librbd's completion thread, once per completed command, before
// the command is completed to the runner. It must be cheap (tens of ns: no lock, no
// allocation, no blocking); the event is only valid during the call.
#pragma once

#include "engine/io_event.h"

namespace rbdtier {

class IoObserver {
public:
    virtual ~IoObserver() = default;
    virtual void on_complete(const IoEvent& event) noexcept = 0;
};

}  // namespace rbdtier
