#include "tiered_storage_fixture.h"

#include <rbd/librbd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <random>
#include <thread>

#include "ceph/tiered_lun_store.h"

namespace rbdtier::test {

ceph::Cluster connect_test_cluster() {
    const char* conf = std::getenv("RBDTIER_CEPH_CONF");
    if (conf == nullptr) throw std::runtime_error("RBDTIER_CEPH_CONF is not set: run under ctest");
    ceph::ClusterOptions options;
    options.conf_path = conf;
    options.conf = {{"rados_osd_op_timeout", "10"}, {"rados_mon_op_timeout", "10"}};
    auto cluster = ceph::Cluster::connect(options);
    if (!cluster) throw std::runtime_error(cluster.status().message());
    return std::move(cluster).value();
}

ceph::IoContext open_test_pool(ceph::Cluster& cluster, const std::string& pool) {
    auto io = ceph::IoContext::open(cluster, pool);
    if (!io) throw std::runtime_error(io.status().message());
    return std::move(io).value();
}

namespace {
// Runs `$RBDTIER_CLUSTER_SH VERB $RBDTIER_CLUSTER_DIR OSD`.
void cluster_sh(const std::string& verb, int osd) {
    const char* sh = std::getenv("RBDTIER_CLUSTER_SH");
    const char* dir = std::getenv("RBDTIER_CLUSTER_DIR");
    ASSERT_TRUE(sh && dir) << "run under ctest (RBDTIER_CLUSTER_SH/DIR)";
    const std::string cmd =
        std::string(sh) + " " + verb + " " + dir + " " + std::to_string(osd) + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}
}  // namespace

StoppedOsd::StoppedOsd(int osd) : osd_(osd) {
    cluster_sh("osd-stop", osd_);
}

StoppedOsd::~StoppedOsd() {
    cluster_sh("osd-start", osd_);
}

std::unique_ptr<TieredStorage> TieredStorage::create(const std::string& pool,
                                                     const std::string& name, std::uint64_t size,
                                                     const std::string& data_pool) {
    {
        auto cluster = connect_test_cluster();
        auto io = open_test_pool(cluster, pool);
        ceph::ImageCreateOptions options;
        options.data_pool = data_pool;
        if (auto s = ceph::create_image(io, name, size, options); !s)
            throw std::runtime_error(s.message());
    }
    return open(pool, name, size);
}

std::unique_ptr<TieredStorage> TieredStorage::open(const std::string& pool, const std::string& name,
                                                   std::uint64_t size, bool own) {
    std::unique_ptr<TieredStorage> lun(new TieredStorage);
    lun->pool_ = pool;
    lun->name_ = name;
    lun->size_ = size;
    lun->cluster_.emplace(connect_test_cluster());
    auto store = ceph::open_tiered_lun_store(*lun->cluster_, pool, "", name, kAllPools);
    if (!store) throw std::runtime_error(store.status().message());
    lun->images_.emplace(std::move(store->images));
    lun->map_.emplace(std::move(store->map));
    lun->gate_ = std::make_unique<ceph::ExtentGate>(size / lun->images_->object_size());
    ceph::MigratorOptions options;
    if (const char* crash = std::getenv("RBDTIER_CRASH_AT")) {
        options.crash_at = ceph::crash_point_from_name(crash);
    }
    lun->migrator_ = std::make_unique<ceph::ExtentMigrator>(*lun->images_, *lun->map_, *lun->gate_,
                                                            size, options);
    // As the LUN's owner it routes from the map and cleans intents; otherwise it only routes.
    auto s = own ? lun->migrator_->take_ownership() : lun->migrator_->sync_routing();
    if (!s) throw std::runtime_error(s.message());
    return lun;
}

TieredStorage::~TieredStorage() {
    migrator_.reset();
    gate_.reset();
    if (!remove_ || !cluster_) return;
    map_.reset();
    images_.reset();
    (void)ceph::remove_tiered_lun_store(*cluster_, pool_, "", name_, kAllPools);
    if (auto io = ceph::IoContext::open(*cluster_, pool_)) (void)ceph::remove_image(*io, name_);
}

void TieredStorage::open_every_tier() {
    for (std::size_t i = 0; i < images_->count(); ++i) {
        auto s = images_->ensure_open(i);
        EXPECT_TRUE(s.is_ok()) << s.message();
    }
}

ceph::Image& TieredStorage::tier_image(std::size_t index) {
    if (auto s = images_->ensure_open(index); !s) throw std::runtime_error(s.message());
    auto image = images_->image(index);
    if (!image) throw std::runtime_error(image.status().message());
    return **image;
}

void TieredStorage::enter_or_wait(std::uint64_t extent, ceph::ExtentGate::TierIndex& tier) {
    for (;;) {
        if (auto t = gate_->enter(extent)) {
            tier = *t;
            return;
        }
        std::promise<void> released;
        ceph::ExtentGate::Deferred resume = [&] { released.set_value(); };
        const ceph::ExtentGate::Park parked = gate_->defer(extent, resume);
        if (parked == ceph::ExtentGate::Park::kRefused) {
            throw std::runtime_error("extent " + std::to_string(extent) +
                                     " refused: its tier is not known");
        }
        if (parked == ceph::ExtentGate::Park::kParked) {
            ASSERT_EQ(released.get_future().wait_for(std::chrono::seconds(30)),
                      std::future_status::ready)
                << "held extent never released";
        }
    }
}

template <typename Fn>
void TieredStorage::routed(std::uint64_t offset, std::uint64_t length, bool write, Fn&& fn) {
    const std::uint64_t es = images_->object_size();
    while (length > 0) {
        const std::uint64_t extent = offset / es;
        const std::uint64_t piece = std::min(length, (extent + 1) * es - offset);
        ceph::ExtentGate::TierIndex tier = 0;
        enter_or_wait(extent, tier);
        auto image = images_->image(tier);  // the gate routes only to open tiers
        if (image) fn((*image)->handle(), offset, piece);
        gate_->leave(extent, write);
        ASSERT_TRUE(image.is_ok()) << image.status().message();
        offset += piece;
        length -= piece;
    }
}

void TieredStorage::write(std::uint64_t offset, const std::vector<char>& data) {
    const char* p = data.data();
    routed(offset, data.size(), true, [&](rbd_image_t image, std::uint64_t off, std::uint64_t len) {
        ASSERT_EQ(rbd_write(image, off, len, p), static_cast<ssize_t>(len));
        p += len;
    });
}

std::vector<char> TieredStorage::read(std::uint64_t offset, std::uint64_t length) {
    std::vector<char> out(length);
    char* p = out.data();
    routed(offset, length, false, [&](rbd_image_t image, std::uint64_t off, std::uint64_t len) {
        ASSERT_EQ(rbd_read(image, off, len, p), static_cast<ssize_t>(len));
        p += len;
    });
    return out;
}

}  // namespace rbdtier::test
