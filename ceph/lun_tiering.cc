#include "ceph/lun_tiering.h"

#include <utility>

namespace rbdtier::ceph {

bool LiveLunStorage::migrate(ExtentIndex extent, TierId to, MigrationRecord& record) {
    const Status s = migrator_.migrate(extent, to, record);
    return s.is_ok();
}

std::optional<ResourceReading> LiveLunStorage::sample_resources() {
    if (!monitor_ && !tenant_source_) return std::nullopt;
    ResourceReading reading;
    if (monitor_) reading.pools = monitor_->sample();
    if (tenant_source_) {
        auto room = tenant_source_();
        if (room) {
            reading.tenant = std::move(*room);
        } else {
            reading.tenant_problem = room.status().message();
        }
    }
    return reading;
}

Status LunTiering::pin(ExtentIndex first, std::uint64_t count, TierId tier) {
    if (auto error = LunRounds::pin(first, count, tier))
        return Status::error(error->code, error->message);
    return Status::ok();
}

}  // namespace rbdtier::ceph
