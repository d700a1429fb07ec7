#include "ceph/image.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <vector>

#include "ceph/rados_op.h"

namespace rbdtier::ceph {

namespace {

std::atomic<std::uint64_t> opens_asked{0};  // Image::opens_attempted()

}  // namespace

std::uint64_t Image::opens_attempted() {
    return opens_asked.load(std::memory_order_relaxed);
}

Result<Image> Image::open(const IoContext& io, const std::string& name,
                          const std::string& snapshot) {
    opens_asked.fetch_add(1, std::memory_order_relaxed);
    std::string spec = io.where() + "/" + name + (snapshot.empty() ? "" : "@" + snapshot);
    rbd_image_t handle = nullptr;
    int rc = snapshot.empty()
                 ? rbd_open(io.handle(), name.c_str(), &handle, nullptr)
                 : rbd_open_read_only(io.handle(), name.c_str(), &handle, snapshot.c_str());
    if (rc < 0) return Status::error(rc, "open image " + spec);
    return Image(handle, std::move(spec));
}

Result<Image> Image::open_read_only(const IoContext& io, const std::string& name) {
    opens_asked.fetch_add(1, std::memory_order_relaxed);
    std::string spec = io.where() + "/" + name;
    rbd_image_t handle = nullptr;
    int rc = rbd_open_read_only(io.handle(), name.c_str(), &handle, nullptr);
    if (rc < 0) return Status::error(rc, "open image " + spec + " read-only");
    return Image(handle, std::move(spec));
}

Image& Image::operator=(Image&& other) noexcept {
    if (this != &other) {
        (void)close();
        handle_ = std::exchange(other.handle_, nullptr);
        spec_ = std::move(other.spec_);
    }
    return *this;
}

Image::~Image() {
    (void)close();
}

Status Image::close() {
    if (handle_ == nullptr) return Status();
    int rc = rbd_close(std::exchange(handle_, nullptr));
    return check(rc, [&] { return "close image " + spec_; });
}

Result<std::uint64_t> Image::size() const {
    std::uint64_t bytes = 0;
    int rc = rbd_get_size(handle_, &bytes);
    if (rc < 0) return Status::error(rc, "get size of image " + spec_);
    return bytes;
}

Result<ImageInfo> Image::stat() const {
    rbd_image_info_t raw{};
    int rc = rbd_stat(handle_, &raw, sizeof(raw));
    if (rc < 0) return Status::error(rc, "stat image " + spec_);
    return ImageInfo{raw.size, raw.obj_size, raw.num_objs, raw.order};
}

Result<std::string> Image::id() const {
    char buf[128];
    int rc = rbd_get_id(handle_, buf, sizeof buf);
    if (rc < 0) return Status::error(rc, "get id of image " + spec_);
    return std::string(buf);
}

Result<std::uint64_t> Image::features() const {
    std::uint64_t f = 0;
    int rc = rbd_get_features(handle_, &f);
    if (rc < 0) return Status::error(rc, "get features of image " + spec_);
    return f;
}

Status Image::resize(std::uint64_t bytes) {
    int rc = rbd_resize(handle_, bytes);
    return check(rc, [&] { return "resize image " + spec_ + " to " + std::to_string(bytes); });
}

Result<std::optional<std::string>> Image::metadata_get(const std::string& key) const {
    std::vector<char> buf(256);
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::size_t len = buf.size();
        int rc = rbd_metadata_get(handle_, key.c_str(), buf.data(), &len);
        if (rc == -ENOENT) return std::optional<std::string>();
        if (rc == -ERANGE) {
            buf.resize(len > buf.size() ? len : buf.size() * 2);
            continue;
        }
        if (rc < 0) return Status::error(rc, "get metadata " + key + " of image " + spec_);
        // librbd copies a NUL-terminated value and does not always report its length.
        return std::optional<std::string>(std::string(buf.data(), strnlen(buf.data(), buf.size())));
    }
    return Status::error(-ERANGE, "get metadata " + key + " of image " + spec_);
}

Status Image::metadata_set(const std::string& key, const std::string& value) {
    int rc = rbd_metadata_set(handle_, key.c_str(), value.c_str());
    return check(rc, [&] { return "set metadata " + key + " of image " + spec_; });
}

Status Image::metadata_remove(const std::string& key) {
    int rc = rbd_metadata_remove(handle_, key.c_str());
    if (rc == -ENOENT) return Status::ok();
    return check(rc, [&] { return "remove metadata " + key + " of image " + spec_; });
}

Result<bool> Image::is_exclusive_lock_owner() const {
    int owner = 0;
    int rc = rbd_is_exclusive_lock_owner(handle_, &owner);
    if (rc < 0) return Status::error(rc, "check lock owner of image " + spec_);
    return owner != 0;
}

Result<std::size_t> Image::watcher_count() const {
    std::vector<rbd_image_watcher_t> watchers(8);
    for (;;) {
        std::size_t n = watchers.size();
        int rc = rbd_watchers_list(handle_, watchers.data(), &n);
        if (rc == -ERANGE && n > watchers.size()) {
            watchers.resize(n);
            continue;
        }
        if (rc < 0) return Status::error(rc, "list watchers of image " + spec_);
        // One client may watch the header more than once (librbd's own watch and a settings
        // watch): clients are told apart by their global id.
        std::set<std::int64_t> clients;
        for (std::size_t i = 0; i < n; ++i) clients.insert(watchers[i].id);
        rbd_watchers_list_cleanup(watchers.data(), n);
        return clients.size();
    }
}

Status Image::lock_acquire(rbd_lock_mode_t mode) {
    int rc = rbd_lock_acquire(handle_, mode);
    return check(rc, [&] { return "acquire lock on image " + spec_; });
}

Status Image::lock_release() {
    int rc = rbd_lock_release(handle_);
    return check(rc, [&] { return "release lock on image " + spec_; });
}

Result<LockOwner> Image::lock_owner() const {
    std::array<char*, 4> owners{};
    std::size_t count = owners.size();
    LockOwner out;
    int rc = rbd_lock_get_owners(handle_, &out.mode, owners.data(), &count);
    if (rc == -ENOENT) return LockOwner{};
    if (rc < 0) return Status::error(rc, "get lock owners of image " + spec_);
    if (count > 0) {
        out.owner = owners[0] != nullptr ? owners[0] : "";
        rbd_lock_get_owners_cleanup(owners.data(), count);
    }
    return out;
}

Status Image::lock_break(rbd_lock_mode_t mode, const std::string& owner) {
    int rc = rbd_lock_break(handle_, mode, owner.c_str());
    return check(rc, [&] { return "break lock of " + owner + " on image " + spec_; });
}

namespace {

struct ImageOptions {
    rbd_image_options_t opts = nullptr;
    ImageOptions() { rbd_image_options_create(&opts); }
    ~ImageOptions() { rbd_image_options_destroy(opts); }
    ImageOptions(const ImageOptions&) = delete;
    ImageOptions& operator=(const ImageOptions&) = delete;
};

}  // namespace

Status create_image(const IoContext& io, const std::string& name, std::uint64_t size,
                    const ImageCreateOptions& options) {
    const std::string what = "create image " + io.pool() + "/" + name;
    ImageOptions opts;
    int rc = rbd_image_options_set_uint64(opts.opts, RBD_IMAGE_OPTION_ORDER,
                                          static_cast<std::uint64_t>(options.order));
    if (rc < 0) return Status::error(rc, what + " (order option)");
    if (options.features) {
        rc = rbd_image_options_set_uint64(opts.opts, RBD_IMAGE_OPTION_FEATURES, *options.features);
        if (rc < 0) return Status::error(rc, what + " (features option)");
    }
    if (!options.data_pool.empty()) {
        rc = rbd_image_options_set_string(opts.opts, RBD_IMAGE_OPTION_DATA_POOL,
                                          options.data_pool.c_str());
        if (rc < 0) return Status::error(rc, what + " (data pool option)");
    }
    rc = rbd_create4(io.handle(), name.c_str(), size, opts.opts);
    return check(rc, [&] { return what; });
}

Result<std::string> data_pool_of(const Cluster& cluster, const Image& image) {
    const std::int64_t id = rbd_get_data_pool_id(image.handle());
    if (id < 0) return Status::error(static_cast<int>(id), "data pool of " + image.spec());
    char name[256] = {};
    const int rc = rados_pool_reverse_lookup(cluster.handle(), id, name, sizeof name - 1);
    if (rc < 0) {
        return Status::error(
            rc, "name of pool " + std::to_string(id) + ", the data pool of " + image.spec());
    }
    return std::string(name);
}

Status remove_image(const IoContext& io, const std::string& name) {
    int rc = rbd_remove(io.handle(), name.c_str());
    return check(rc, [&] { return "remove image " + io.pool() + "/" + name; });
}

namespace {

// The Ceph encoding (little-endian integers; a string is its u32 length, then its bytes) of
// the RBD object class's arguments and answers.
void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string encoded_string(const std::string& s) {
    std::string out;
    const auto len = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    return out + s;
}

class Decoder {
public:
    Decoder(const char* data, std::size_t len) : data_(data), len_(len) {}
    bool u8(std::uint8_t& v) { return fixed(v, 1); }
    bool u32(std::uint32_t& v) { return fixed(v, 4); }
    bool u64(std::uint64_t& v) { return fixed(v, 8); }
    bool string(std::string& v) {
        std::uint32_t n = 0;
        if (!u32(n) || len_ - at_ < n) return false;
        v.assign(data_ + at_, n);
        at_ += n;
        return true;
    }

private:
    template <typename T>
    bool fixed(T& v, std::size_t bytes) {
        if (len_ - at_ < bytes) return false;
        v = 0;
        for (std::size_t i = 0; i < bytes; ++i)
            v |= static_cast<T>(static_cast<unsigned char>(data_[at_ + i])) << (8 * i);
        at_ += bytes;
        return true;
    }
    const char* data_;
    std::size_t len_;
    std::size_t at_ = 0;
};

// Calls `method` of the rbd object class on `oid`; its answer, or the error (-ENOENT as is).
Result<std::string> rbd_class_call(const IoContext& io, const std::string& oid, const char* method,
                                   const std::string& in) {
    std::vector<char> out(4096);
    const int rc = rados_exec(io.handle(), oid.c_str(), "rbd", method, in.data(), in.size(),
                              out.data(), out.size());
    if (rc < 0) return Status::error(rc, std::string("rbd.") + method + " on " + oid);
    return std::string(out.data(), static_cast<std::size_t>(rc));
}

}  // namespace

Result<std::optional<ImageHeader>> read_image_header(const IoContext& io, const std::string& name,
                                                     const std::string& metadata_key) {
    const std::string spec = io.where() + "/" + name;
    auto malformed = [&](const char* what) {
        return Status::error(-EIO, "read header of image " + spec + ": malformed " + what);
    };
    auto id_reply = rbd_class_call(io, "rbd_id." + name, "get_id", {});
    if (!id_reply) {
        if (id_reply.status().code() != -ENOENT)
            return id_reply.status().with_context("read header of image " + spec);
        // No format-2 image of that name: a format-1 one is its header object NAME.rbd alone.
        const std::string old_header = name + ".rbd";
        std::uint64_t size = 0;
        std::time_t mtime = 0;
        const int rc = rados_stat(io.handle(), old_header.c_str(), &size, &mtime);
        if (rc == -ENOENT) return std::optional<ImageHeader>();
        if (rc < 0)
            return Status::error(rc, "stat " + old_header)
                .with_context("read header of image " + spec);
        return Status::error(-EOPNOTSUPP, "image " + spec +
                                              " is format 1, and format 1 images are not "
                                              "supported (rbd export then rbd import make a "
                                              "format 2 copy)");
    }
    std::string id;
    if (!Decoder(id_reply->data(), id_reply->size()).string(id) || id.empty())
        return malformed("image id");
    const std::string header = "rbd_header." + id;

    // Size and metadata in one round trip: a compound read of two calls, the second allowed to
    // fail (an unset key answers -ENOENT).
    std::string head;  // CEPH_NOSNAP: the writable head
    put_u64(head, static_cast<std::uint64_t>(-2));
    const std::string key = encoded_string(metadata_key);
    ReplyBuffer size_reply, value;
    int size_rc = 0, value_rc = 0;
    const ReadOp op(rados_create_read_op());
    if (!op) return Status::error(-ENOMEM, "read header of image " + spec);
    rados_read_op_exec(op.get(), "rbd", "get_size", head.data(), head.size(), &size_reply.data,
                       &size_reply.size, &size_rc);
    rados_read_op_exec(op.get(), "rbd", "metadata_get", key.data(), key.size(), &value.data,
                       &value.size, &value_rc);
    rados_read_op_set_flags(op.get(), LIBRADOS_OP_FLAG_FAILOK);
    const int rc = rados_read_op_operate(op.get(), io.handle(), header.c_str(), 0);
    if (rc == -ENOENT || size_rc == -ENOENT) return std::optional<ImageHeader>();
    if (rc < 0 || size_rc < 0)
        return Status::error(rc < 0 ? rc : size_rc, "rbd.get_size on " + header)
            .with_context("read header of image " + spec);
    ImageHeader seen;
    std::uint8_t order = 0;
    Decoder size_decoder(size_reply.data, size_reply.size);
    if (!size_decoder.u8(order) || !size_decoder.u64(seen.size) || order >= 64)
        return malformed("size");
    seen.object_size = std::uint64_t{1} << order;
    if (value_rc >= 0) {
        std::string decoded;
        if (!Decoder(value.data, value.size).string(decoded)) return malformed("metadata");
        seen.metadata = std::move(decoded);
    } else if (value_rc != -ENOENT) {
        return Status::error(value_rc, "rbd.metadata_get on " + header)
            .with_context("read header of image " + spec);
    }
    return std::optional<ImageHeader>(std::move(seen));
}

}  // namespace rbdtier::ceph
