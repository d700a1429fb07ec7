#include "ceph/lun_tiering.h"

#include <utility>

namespace rbdtier::ceph {

bool LiveLunStorage::migrate(ExtentIndex extent, TierId to, rbdtier::MigrationRecord& record) {
    MigrationRecord attempt;
    attempt.reason = record.reason;
    const Status s = migrator_.migrate(extent, to, attempt);
    record.extent = attempt.extent;
    record.from = std::move(attempt.from);
    record.to = std::move(attempt.to);
    record.bytes = attempt.bytes;
    record.start_unix_ms = attempt.start_unix_ms;
    record.duration_us = attempt.duration_us;
    record.crc = attempt.crc;
    record.generation = attempt.generation;
    record.copies = attempt.copies;
    record.outcome = std::move(attempt.outcome);
    record.reason = std::move(attempt.reason);
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
