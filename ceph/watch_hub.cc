#include "ceph/watch_hub.h"

namespace rbdtier::ceph {

std::shared_ptr<RoundDriver> watch_hub() {
    return RoundDriver::process_wide(kWatchHubTag, kWatchHubThreads);
}

}  // namespace rbdtier::ceph
