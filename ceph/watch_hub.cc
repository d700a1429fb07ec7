#include "ceph/watch_hub.h"

#include <mutex>

namespace rbdtier::ceph {

std::shared_ptr<RoundDriver> watch_hub() {
    static std::mutex mutex;
    static std::weak_ptr<RoundDriver> current;
    std::lock_guard lock(mutex);
    if (auto hub = current.lock()) return hub;
    auto hub = std::make_shared<RoundDriver>(kWatchHubThreads);
    current = hub;
    return hub;
}

}  // namespace rbdtier::ceph
