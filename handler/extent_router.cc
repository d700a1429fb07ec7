#include "handler/extent_router.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "ceph/completion.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

namespace {

// Appends to `out` the iovec entries covering [skip, skip+len) of v; returns how many.
int slice_iovec(const iovec* v, int cnt, std::size_t skip, std::size_t len,
                std::vector<iovec>& out) {
    int n = 0;
    for (int i = 0; i < cnt && len > 0; ++i) {
        if (skip >= v[i].iov_len) {
            skip -= v[i].iov_len;
            continue;
        }
        const std::size_t take = std::min(v[i].iov_len - skip, len);
        out.push_back(iovec{static_cast<char*>(v[i].iov_base) + skip, take});
        skip = 0;
        len -= take;
        ++n;
    }
    return n;
}

bool writes(IoKind kind) {
    return kind != IoKind::kRead && kind != IoKind::kFlush;
}

}  // namespace

ExtentRouter::ExtentRouter(ceph::TierImages& tiers, ceph::ExtentGate& gate, LunRounds& rounds,
                           std::uint64_t extent_bytes, LunId lun, CommandAnswers& answers)
    : tiers_(tiers),
      gate_(gate),
      rounds_(rounds),
      extent_bytes_(extent_bytes),
      extent_shift_(static_cast<unsigned>(std::countr_zero(extent_bytes))),
      lun_(lun),
      answers_(answers) {
    if (!std::has_single_bit(extent_bytes))
        throw std::invalid_argument("ExtentRouter: extent size " + std::to_string(extent_bytes) +
                                    " is not a power of two");
}

template <typename Submit>
long ExtentRouter::submit_part(IoCommand* c, Submit&& submit_fn) {
    rbd_completion_t handle = nullptr;
    if (rbd_aio_create_completion(c, &ExtentRouter::on_part_complete, &handle) < 0) return -ENOMEM;
    ceph::Completion completion = ceph::Completion::adopt(handle);
    long rc = submit_fn(completion.handle());
    if (rc < 0) return rc;
    (void)completion.detach();
    return 0;
}

void ExtentRouter::on_part_complete(rbd_completion_t completion, void* arg) {
    long rc = 0;
    {
        ceph::Completion owned = ceph::Completion::adopt(completion);
        rc = static_cast<long>(owned.return_value());
    }
    auto* c = static_cast<IoCommand*>(arg);
    c->router->part_done(c, rc);
}

void ExtentRouter::part_done(IoCommand* c, long rc) {
    if (rc < 0) {
        long none = 0;
        c->part_error.compare_exchange_strong(none, rc, std::memory_order_acq_rel);
    }
    // The last part to complete goes on. A command of one part (most are) is the last without
    // a decrement: when the count reads 1, every other part has counted itself out already (the
    // acquire pairs with their decrements), so no one else touches it; the count stays 1, as a
    // read-back of a miscompare needs it.
    if (c->parts.load(std::memory_order_acquire) != 1) {
        if (c->parts.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        c->parts.store(1, std::memory_order_relaxed);
    }
    long outcome = 0;
    if (const long error = c->part_error.load(std::memory_order_relaxed); error != 0) {
        // A part failed: the command's outcome is the first failure (the acquire above made it
        // visible); cleared for the read-back of a miscompare.
        outcome = error;
        c->part_error.store(0, std::memory_order_relaxed);
    }
    // A miscompare is read back inside the gate (no migration moves the bytes meanwhile): the
    // read comes back here as the command's one part.
    if (reading_back_miscompare(c, outcome, &ExtentRouter::on_part_complete)) return;
    const auto end = std::chrono::steady_clock::now();
    if (c->gated) leave(c, end);
    answers_.answer(c, outcome, steady_us(end));
}

void ExtentRouter::leave(IoCommand* c, std::chrono::steady_clock::time_point end) {
    const bool wrote = writes(c->kind);
    for (std::uint64_t e = c->first_extent; e <= c->last_extent; ++e) gate_.leave(e, wrote);
    c->gated = false;
    if (c->kind != IoKind::kFlush) {
        // The command's one event, stamped with its end on the rounds' clock: no second clock read.
        IoEvent event = completed_event(*c, lun_, steady_us(end));
        event.time_us = rounds_.time_us(end);
        rounds_.record(event);
    }
}

void ExtentRouter::resume_routed(IoCommand* c) {
    // Runs on the migrator's thread once the extent is released: the callout returned OK long
    // ago, so a failure now must complete the command.
    const int status = route(c);
    if (status != TCMU_STS_OK) answers_.complete_now(c, status);
}

// Returns TCMU_STS_OK when the command was submitted (whole, or in parts that will complete it)
// or parked; any other status means nothing was submitted and c is untouched: the caller gives
// it back (callout) or completes it (resumed).
int ExtentRouter::route(IoCommand* c, std::chrono::steady_clock::time_point now) {
    c->router = this;
    if (c->kind == IoKind::kFlush) {
        // Every tier image open now (one opened later holds no write this flush covers: nothing
        // was routed to it before it was open).
        std::array<rbd_image_t, 256> open_images{};
        int n = 0;
        for (std::size_t i = 0; i < tiers_.count(); ++i) {
            if (ceph::Image* image = tiers_.opened(i)) open_images[n++] = image->handle();
        }
        c->parts.store(n, std::memory_order_relaxed);
        c->part_error.store(0, std::memory_order_relaxed);
        for (int i = 0; i < n; ++i) {
            rbd_image_t image = open_images[static_cast<std::size_t>(i)];
            long rc =
                submit_part(c, [&](rbd_completion_t comp) { return rbd_aio_flush(image, comp); });
            if (rc < 0) {
                if (i == 0) return io_status_from_rbd(IoKind::kFlush, rc).tcmu_status;
                for (int k = i; k < n; ++k) part_done(c, rc);  // c may be gone now
                return TCMU_STS_OK;
            }
        }
        return TCMU_STS_OK;
    }

    // A routing that may be stale (the map's watch is down) serves nothing until it is reloaded.
    switch (gate_.lease(now)) {
        case ceph::ExtentGate::Lease::kValid:
            break;
        case ceph::ExtentGate::Lease::kRefused:
            return TCMU_STS_BUSY;
        case ceph::ExtentGate::Lease::kFenced:
            // As librbd answers a blocklisted client: the runner learns the lock is lost.
            answers_.fenced(c);
            return io_status_from_rbd(c->kind, -ESHUTDOWN).tcmu_status;
        case ceph::ExtentGate::Lease::kExpired: {
            ceph::ExtentGate::Deferred resume = [this, c] { resume_routed(c); };
            if (gate_.defer_until_routable(resume)) return TCMU_STS_OK;
            return route(c);  // the lease was renewed or refused meanwhile
        }
    }
    const std::uint64_t first = c->offset >> extent_shift_;
    const std::uint64_t last =
        c->length == 0 ? first : (c->offset + c->length - 1) >> extent_shift_;
    if (last >= gate_.extents()) return TCMU_STS_RANGE;
    const std::uint64_t count = last - first + 1;
    constexpr std::size_t kInline = 16;
    std::array<ceph::ExtentGate::TierIndex, kInline> inline_tiers{};
    std::vector<ceph::ExtentGate::TierIndex> many;
    ceph::ExtentGate::TierIndex* tier_of = inline_tiers.data();
    if (count > kInline) {
        try {
            many.resize(count);
        } catch (const std::bad_alloc&) {
            return TCMU_STS_NO_RESOURCE;
        }
        tier_of = many.data();
    }
    // Enter every extent, or park the command on the one a migration holds.
    for (std::uint64_t e = first; e <= last;) {
        if (auto t = gate_.enter(e)) {
            tier_of[e - first] = *t;
            ++e;
            continue;
        }
        for (std::uint64_t x = first; x < e; ++x) gate_.leave(x, false);
        ceph::ExtentGate::Deferred resume = [this, c] { resume_routed(c); };
        switch (gate_.defer(e, resume)) {
            case ceph::ExtentGate::Park::kParked:
                return TCMU_STS_OK;
            case ceph::ExtentGate::Park::kRefused:  // its tier is not known: try again later
                return TCMU_STS_BUSY;
            case ceph::ExtentGate::Park::kFree:
                e = first;  // released meanwhile: start over
                break;
        }
    }
    c->gated = true;
    c->first_tier = tier_of[0];
    c->first_extent = first;
    c->last_extent = last;

    int runs = 1;
    for (std::uint64_t i = 1; i < count; ++i) runs += tier_of[i] != tier_of[i - 1];
    auto refuse = [&](int status) {
        for (std::uint64_t e = first; e <= last; ++e) gate_.leave(e, false);
        c->gated = false;
        return status;
    };
    if (runs > 1 && c->kind == IoKind::kCompareAndWrite) return refuse(TCMU_STS_INVALID_CDB);
    if (runs > 1 && c->data_iov != nullptr) {
        try {
            c->slices.clear();
            c->slices.reserve(static_cast<std::size_t>(c->data_iov_cnt) + runs);
        } catch (const std::bad_alloc&) {
            return refuse(TCMU_STS_NO_RESOURCE);
        }
    }
    c->parts.store(runs, std::memory_order_relaxed);
    c->part_error.store(0, std::memory_order_relaxed);

    std::uint64_t run_start = c->offset;
    std::uint64_t i = 0;
    for (int r = 0; r < runs; ++r) {
        const ceph::ExtentGate::TierIndex tier = tier_of[i];
        while (i < count && tier_of[i] == tier) ++i;
        const std::uint64_t run_end = std::min(c->offset + c->length, (first + i) * extent_bytes_);
        const std::uint64_t rel = run_start - c->offset;
        if (c->kind == IoKind::kWriteSame && rel % c->pattern != 0) {
            if (r == 0) return refuse(TCMU_STS_INVALID_CDB);
            for (int k = r; k < runs; ++k) part_done(c, -EINVAL);
            return TCMU_STS_OK;
        }
        const iovec* v = c->data_iov;
        int cnt = c->data_iov_cnt;
        if (v != nullptr && runs > 1) {
            const std::size_t at = c->slices.size();
            cnt = slice_iovec(c->data_iov, c->data_iov_cnt, rel, run_end - run_start, c->slices);
            v = c->slices.data() + at;
        }
        // The gate routes only to open tier images; a closed one here is a defect, refused.
        ceph::Image* opened = tiers_.opened(tier);
        if (opened == nullptr) {
            if (r == 0) return refuse(TCMU_STS_HW_ERR);
            for (int k = r; k < runs; ++k) part_done(c, -EIO);  // c may be gone now
            return TCMU_STS_OK;
        }
        rbd_image_t image = opened->handle();
        const std::uint64_t off = run_start, len = run_end - run_start;
        long rc = submit_part(
            c, [&](rbd_completion_t comp) { return issue_io(c, image, off, len, v, cnt, comp); });
        if (rc < 0) {
            if (r == 0) return refuse(io_status_from_rbd(c->kind, rc).tcmu_status);
            for (int k = r; k < runs; ++k) part_done(c, rc);  // c may be gone now
            return TCMU_STS_OK;
        }
        run_start = run_end;
    }
    return TCMU_STS_OK;
}

}  // namespace rbdtier
