#include "ceph/status.h"

#include <cerrno>
#include <system_error>

namespace rbdtier::ceph {

Status Status::error(int code, std::string context) {
    Status s;
    s.code_ = code < 0 ? code : (code > 0 ? -code : -EIO);
    s.context_ = std::move(context);
    return s;
}

std::string Status::message() const {
    if (is_ok()) return "OK";
    std::string text = std::error_code(-code_, std::generic_category()).message();
    if (context_.empty()) return text;
    return context_ + ": " + text;
}

Status Status::with_context(std::string_view outer) const& {
    if (is_ok()) return *this;
    std::string ctx(outer);
    if (!context_.empty()) {
        ctx += ": ";
        ctx += context_;
    }
    return error(code_, std::move(ctx));
}

}  // namespace rbdtier::ceph
