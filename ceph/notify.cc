#include "ceph/notify.h"

#include <rados/librados.h>
#include <rados/rados_types.h>

#include <cerrno>
#include <cstddef>

#include "ceph/rados_op.h"

namespace rbdtier::ceph {
namespace {

// The acknowledgements and timeouts rados_decode_notify_response decoded from a notify's reply;
// freed with rados_free_notify_response when destroyed.
struct NotifyResponse {
    NotifyResponse() = default;
    NotifyResponse(const NotifyResponse&) = delete;
    NotifyResponse& operator=(const NotifyResponse&) = delete;
    ~NotifyResponse() {
        if (acks != nullptr || timeouts != nullptr)
            rados_free_notify_response(acks, ack_count, timeouts);
    }
    notify_ack_t* acks = nullptr;
    std::size_t ack_count = 0;
    notify_timeout_t* timeouts = nullptr;
    std::size_t timeout_count = 0;
};

}  // namespace

NotifyOutcome notify_watchers(const IoContext& io, const std::string& oid, std::string_view payload,
                              std::chrono::milliseconds timeout) {
    ReplyBuffer reply;
    NotifyOutcome outcome;
    outcome.error =
        rados_notify2(io.handle(), oid.c_str(), payload.data(), static_cast<int>(payload.size()),
                      static_cast<std::uint64_t>(timeout.count()), &reply.data, &reply.size);
    if (reply.data != nullptr) {
        NotifyResponse response;
        if (rados_decode_notify_response(reply.data, reply.size, &response.acks,
                                         &response.ack_count, &response.timeouts,
                                         &response.timeout_count) == 0) {
            for (std::size_t i = 0; i < response.timeout_count; ++i) {
                outcome.silent_notifiers.push_back(response.timeouts[i].notifier_id);
            }
        }
    }
    if (outcome.error == -ETIMEDOUT && outcome.silent_notifiers.empty()) {
        outcome.silent_notifiers.push_back(0);  // somebody, unknown
    }
    return outcome;
}

}  // namespace rbdtier::ceph
