// Status and Result<T>: how errors from librados/librbd travel to the edge.
//
// A Status is either OK or a negative errno plus a context string naming what was attempted
// ("open image nvme-a/lun0"); message() renders "open image nvme-a/lun0: No such file or
// directory". Result<T> is a T or a failed Status. Both are [[nodiscard]]: an error is carried
// up and reported once, by whoever is at the edge (the tcmu callout, the CLI, a test).
// Building a Status allocates only on failure.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rbdtier::ceph {

class [[nodiscard]] Status {
public:
    Status() = default;  // OK

    // code must be a negative errno (a positive one is negated, 0 becomes -EIO).
    static Status error(int code, std::string context);
    static Status ok() { return Status(); }

    bool is_ok() const { return code_ == 0; }
    explicit operator bool() const { return is_ok(); }
    int code() const { return code_; }  // 0 or negative errno
    const std::string& context() const { return context_; }
    std::string message() const;  // "context: strerror(code)", or "OK"

    // Prefixes more context: "open LUN lun0" + "open image p/i: ..." -> "open LUN lun0: open ..."
    Status with_context(std::string_view outer) const&;

private:
    int code_ = 0;
    std::string context_;
};

// rc < 0 -> error(rc, context()); context is only evaluated on failure.
template <typename ContextFn>
Status check(int rc, ContextFn&& context) {
    if (rc >= 0) return Status();
    return Status::error(rc, std::forward<ContextFn>(context)());
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit
    Result(Status status) : status_(std::move(status)) { assert(!status_.is_ok()); }  // NOLINT

    bool is_ok() const { return value_.has_value(); }
    explicit operator bool() const { return is_ok(); }
    const Status& status() const { return status_; }

    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T& operator*() & { return *value_; }

private:
    std::optional<T> value_;
    Status status_;
};

}  // namespace rbdtier::ceph
