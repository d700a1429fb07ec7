// A tiered LUN's data is its own: tier images and map are named from the home image's identity
// (pool id, namespace, image id), never its name, and a tier image tagged for another LUN is
// never used. Deterministic regressions, each for a way data was lost or crossed between LUNs
// when tier images were named `<image>.rbdtier`.
#include "ceph/lun_identity.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ceph/tiered_lun_store.h"
#include "lun_fixture.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 4 * kExtent;

int write(Lun& lun, std::uint64_t off, const std::vector<char>& data) {
    TestCommand c;
    iovec v{const_cast<char*>(data.data()), data.size()};
    return run([&](tcmur_cmd* cmd) { return lun.write(nullptr, cmd, &v, 1, data.size(), off); }, c);
}

std::vector<char> read(Lun& lun, std::uint64_t off, std::size_t len) {
    std::vector<char> out(len);
    iovec v{out.data(), len};
    TestCommand c;
    EXPECT_EQ(run([&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, len, off); }, c),
              TCMU_STS_OK);
    return out;
}

std::unique_ptr<Lun> open_lun(const LunConfig& config) {
    auto lun = build_lun(config, LunGeometry{kSize, 512}, fake_host());
    EXPECT_TRUE(lun.is_ok()) << lun.status().message();
    return lun ? std::move(lun).value() : nullptr;
}

// Why opening a LUN with `config` is refused (a test failure when it opens).
ceph::Status refusal(const LunConfig& config) {
    auto lun = build_lun(config, LunGeometry{kSize, 512}, fake_host());
    EXPECT_FALSE(lun) << "opened";
    return lun ? ceph::Status::ok() : lun.status();
}

// A scratch home image in hdd-a tiered over nvme-a, opened once as a LUN (every extent at home)
// and closed: its identity, so its tier image's name, is known. The tiered store (tier image,
// map) is removed with it, however the test ends.
class OpenedOnce {
public:
    explicit OpenedOnce(const std::string& stem) : image_("hdd-a", kSize, stem) {
        if (!image_.ok()) return;
        auto lun = open_lun(config());
        if (!lun) return;
        EXPECT_FALSE(
            lun->tiered_lun()->images().is_open(1));  // idle: checked at open, not kept open
        identity_ = lun->tiered_lun()->images().lun();
    }
    ~OpenedOnce() {
        if (image_.ok())
            (void)ceph::remove_tiered_lun_store(image_.cluster(), "hdd-a", "", image_.name(),
                                                {"nvme-a"});
    }
    OpenedOnce(const OpenedOnce&) = delete;
    OpenedOnce& operator=(const OpenedOnce&) = delete;

    bool ok() const { return !identity_.image_id.empty(); }
    ScratchImage& image() { return image_; }
    LunConfig config() const { return image_.config("tiers=hdd-a+nvme-a"); }
    const ceph::LunIdentity& identity() const { return identity_; }
    std::string tier_name() const { return identity_.tier_image_name(); }

private:
    ScratchImage image_;
    ceph::LunIdentity identity_;
};

void move(Lun& lun, std::uint64_t extent, const std::string& pool) {
    MigrationRecord record;
    auto to = lun.tiered_lun()->images().index_of(pool);
    ASSERT_TRUE(to);
    ASSERT_TRUE(lun.tiered_lun()->migrator().migrate(extent, *to, record).is_ok())
        << record.outcome;
}

// Two LUNs `hdd-a/N` and `hdd-b/N` that may both use nvme-a each have their own tier image there
// (sharing one, `N.rbdtier`, the second LUN's lock takeover would blocklist the first gateway,
// and every extent moved to nvme-a would read back the other LUN's data).
TEST(LunIdentity, SameImageNameInTwoPoolsKeepsDataApart) {
    ScratchImage a_image("hdd-a", kSize, "samename");
    ASSERT_TRUE(a_image.ok());
    auto b_io = ceph::IoContext::open(a_image.cluster(), "hdd-b");
    ASSERT_TRUE(b_io);
    ASSERT_TRUE(ceph::create_image(*b_io, a_image.name(), kSize).is_ok());
    LunConfig b_config = a_image.config("tiers=hdd-b+nvme-a");
    b_config.pool = "hdd-b";
    {
        auto a = open_lun(a_image.config("tiers=hdd-a+nvme-a"));
        auto b = open_lun(b_config);
        ASSERT_TRUE(a && b);
        ASSERT_TRUE(a->tiered_lun()->images().ensure_open(1).is_ok());
        ASSERT_TRUE(b->tiered_lun()->images().ensure_open(1).is_ok());
        EXPECT_NE(a->tiered_lun()->images().opened(1)->spec(),
                  b->tiered_lun()->images().opened(1)->spec());
        const auto a_data = pattern(kSize, 71), b_data = pattern(kSize, 72);
        ASSERT_EQ(a->exclusive_lock().lock(1), TCMU_STS_OK);
        ASSERT_EQ(write(*a, 0, a_data), TCMU_STS_OK);
        ASSERT_EQ(b->exclusive_lock().lock(2), TCMU_STS_OK);
        ASSERT_EQ(write(*b, 0, b_data), TCMU_STS_OK);
        for (std::uint64_t e = 0; e < kSize / kExtent; ++e) {
            move(*a, e, "nvme-a");
            move(*b, e, "nvme-a");
        }
        EXPECT_EQ(read(*a, 0, kSize), a_data);
        EXPECT_EQ(read(*b, 0, kSize), b_data);
    }
    (void)ceph::remove_tiered_lun_store(a_image.cluster(), "hdd-a", "", a_image.name(), {"nvme-a"});
    (void)ceph::remove_tiered_lun_store(a_image.cluster(), "hdd-b", "", a_image.name(), {"nvme-a"});
    (void)ceph::remove_image(*b_io, a_image.name());
}

// Tags the LUN's tier image in nvme-a for another LUN.
void tag_for_another_lun(OpenedOnce& lun) {
    auto io = ceph::IoContext::open(lun.image().cluster(), "nvme-a");
    ASSERT_TRUE(io);
    auto tier = ceph::Image::open(*io, lun.tier_name());
    ASSERT_TRUE(tier);
    ASSERT_TRUE(tier->metadata_set(ceph::kTierImageTag, "999//other").is_ok());
}

// A tier image tagged for another LUN is refused at open, with the reason.
TEST(LunIdentity, TierImageOfAnotherLunIsRefused) {
    OpenedOnce lun("tagged");
    ASSERT_TRUE(lun.ok());
    ASSERT_NO_FATAL_FAILURE(tag_for_another_lun(lun));
    const ceph::Status refused = refusal(lun.config());
    EXPECT_NE(refused.message().find("tagged for LUN 999//other"), std::string::npos)
        << refused.message();
}

// Another client of the cluster, as the process keeps check_config's, to read tier headers.
std::shared_ptr<const ceph::Cluster> header_reader() {
    ceph::ClusterOptions options;
    options.conf_path = ceph_conf();
    auto cluster = ceph::Cluster::connect(options);
    EXPECT_TRUE(cluster) << cluster.status().message();
    return cluster ? std::make_shared<const ceph::Cluster>(std::move(cluster).value()) : nullptr;
}

ceph::Result<std::unique_ptr<Lun>> open_reading_headers_through(
    const LunConfig& config, std::shared_ptr<const ceph::Cluster> reader) {
    return build_lun(config, LunGeometry{kSize, 512}, fake_host(), {}, nullptr, nullptr,
                     std::move(reader));
}

// Read through another client, the header of a tier image tagged for another LUN refuses the
// LUN at open just the same.
TEST(LunIdentity, TierImageOfAnotherLunIsRefusedWhenAnotherClientReadsItsHeader) {
    OpenedOnce lun("tagged-probe");
    ASSERT_TRUE(lun.ok());
    ASSERT_NO_FATAL_FAILURE(tag_for_another_lun(lun));
    auto reader = header_reader();
    ASSERT_NE(reader, nullptr);
    auto opened = open_reading_headers_through(lun.config(), reader);
    ASSERT_FALSE(opened) << "opened";
    EXPECT_NE(opened.status().message().find("tagged for LUN 999//other"), std::string::npos)
        << opened.status().message();
}

// A tier image its header does not show ready (missing: removed behind the gateway) is made
// and tagged through the client that reads the headers, and the LUN serves from it (opened by
// its own client) once an extent moves there.
TEST(LunIdentity, AMissingTierImageIsMadeWhenAnotherClientReadsTheHeaders) {
    OpenedOnce once("missing-probe");
    ASSERT_TRUE(once.ok());
    {
        auto io = ceph::IoContext::open(once.image().cluster(), "nvme-a");
        ASSERT_TRUE(io);
        ASSERT_TRUE(ceph::remove_image(*io, once.tier_name()).is_ok());
    }
    auto reader = header_reader();
    ASSERT_NE(reader, nullptr);
    auto opened = open_reading_headers_through(once.config(), reader);
    ASSERT_TRUE(opened) << opened.status().message();
    Lun& lun = **opened;
    EXPECT_FALSE(lun.tiered_lun()->images().is_open(1));
    const auto data = pattern(kExtent, 76);
    ASSERT_EQ(lun.exclusive_lock().lock(1), TCMU_STS_OK);
    ASSERT_EQ(write(lun, 0, data), TCMU_STS_OK);
    move(lun, 0, "nvme-a");
    EXPECT_EQ(read(lun, 0, kExtent), data);
    auto io = ceph::IoContext::open(once.image().cluster(), "nvme-a");
    ASSERT_TRUE(io);
    auto seen = ceph::read_image_header(*io, once.tier_name(), ceph::kTierImageTag);
    ASSERT_TRUE(seen && *seen);
    EXPECT_EQ((*seen)->metadata, lun.tiered_lun()->images().lun().key());
}

// The LUN's tier image in `pool`, replaced by a new one of `size` bytes and `order`, tagged
// `tag` (none when empty): what another tool or an earlier crash may have left there.
void replace_tier_image(ScratchImage& image, const std::string& pool, const std::string& name,
                        std::uint64_t size, int order, const std::string& tag) {
    auto io = ceph::IoContext::open(image.cluster(), pool);
    ASSERT_TRUE(io);
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
    ceph::ImageCreateOptions options;
    options.order = order;
    ASSERT_TRUE(ceph::create_image(*io, name, size, options).is_ok());
    if (!tag.empty()) {
        auto tier = ceph::Image::open(*io, name);
        ASSERT_TRUE(tier);
        ASSERT_TRUE(tier->metadata_set(ceph::kTierImageTag, tag).is_ok());
    }
}

struct TierImageSeen {
    std::optional<std::string> tag;
    std::uint64_t size = 0;
};

TierImageSeen tier_image_seen(ScratchImage& image, const std::string& pool,
                              const std::string& name) {
    auto io = ceph::IoContext::open(image.cluster(), pool);
    EXPECT_TRUE(io);
    if (!io) return {};
    auto tier = ceph::Image::open_read_only(*io, name);
    EXPECT_TRUE(tier) << tier.status().message();
    if (!tier) return {};
    auto tag = tier->metadata_get(ceph::kTierImageTag);
    auto size = tier->size();
    EXPECT_TRUE(tag && size);
    if (!tag || !size) return {};
    return {*tag, *size};
}

// A tier image of another object size than the home image is refused at open, with the reason,
// though the map puts no extent in it.
TEST(LunIdentity, TierImageOfAnotherObjectSizeIsRefused) {
    OpenedOnce lun("objsize");
    ASSERT_TRUE(lun.ok());
    replace_tier_image(lun.image(), "nvme-a", lun.tier_name(), kSize, 23, lun.identity().key());
    const ceph::Status refused = refusal(lun.config());
    EXPECT_NE(refused.message().find("nvme-a/" + lun.tier_name() + " has another object size"),
              std::string::npos)
        << refused.message();
}

// An untagged tier image of the LUN's name (left by a crash between creating and tagging) is
// tagged for the LUN at open and used.
TEST(LunIdentity, UntaggedTierImageIsTaggedAtOpen) {
    OpenedOnce once("untagged");
    ASSERT_TRUE(once.ok());
    const std::string name = once.tier_name();
    replace_tier_image(once.image(), "nvme-a", name, kSize, 22, "");
    ASSERT_FALSE(tier_image_seen(once.image(), "nvme-a", name).tag);
    auto lun = open_lun(once.config());
    ASSERT_TRUE(lun);
    EXPECT_EQ(tier_image_seen(once.image(), "nvme-a", name).tag,
              lun->tiered_lun()->images().lun().key());
    const auto data = pattern(kExtent, 75);
    ASSERT_EQ(lun->exclusive_lock().lock(1), TCMU_STS_OK);
    ASSERT_EQ(write(*lun, kExtent, data), TCMU_STS_OK);
    move(*lun, 1, "nvme-a");
    EXPECT_EQ(read(*lun, kExtent, kExtent), data);
}

// A tier image smaller than the home image (the home image grew while the LUN was closed) is
// grown to the home image's size at open.
TEST(LunIdentity, SmallerTierImageIsGrownAtOpen) {
    OpenedOnce once("smaller");
    ASSERT_TRUE(once.ok());
    replace_tier_image(once.image(), "nvme-a", once.tier_name(), kSize / 2, 22,
                       once.identity().key());
    auto lun = open_lun(once.config());
    ASSERT_TRUE(lun);
    EXPECT_EQ(tier_image_seen(once.image(), "nvme-a", once.tier_name()).size, kSize);
}

// A missing tier image the map puts no extent in is made (and tagged) at open; one the map puts
// an extent in is refused at open, with the reason (nothing is re-created over lost data).
TEST(LunIdentity, MissingTierImageIsMadeWhenEmptyAndRefusedWhenItHoldsData) {
    OpenedOnce once("missing");
    ASSERT_TRUE(once.ok());
    const std::string name = once.tier_name();
    auto io = ceph::IoContext::open(once.image().cluster(), "nvme-a");
    ASSERT_TRUE(io);
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
    {
        auto lun = open_lun(once.config());
        ASSERT_TRUE(lun);
        const auto seen = tier_image_seen(once.image(), "nvme-a", name);
        EXPECT_EQ(seen.tag, lun->tiered_lun()->images().lun().key());
        EXPECT_EQ(seen.size, kSize);
        ASSERT_EQ(lun->exclusive_lock().lock(1), TCMU_STS_OK);
        ASSERT_EQ(write(*lun, 0, pattern(kExtent, 76)), TCMU_STS_OK);
        move(*lun, 0, "nvme-a");
    }
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
    const ceph::Status refused = refusal(once.config());
    EXPECT_NE(refused.message().find("open tier nvme-a of hdd-a/" + once.image().name()),
              std::string::npos)
        << refused.message();
    EXPECT_EQ(refused.code(), -ENOENT) << refused.message();
}

// `rbd rename` of the home image keeps the LUN's data (a LUN that looked its map up by the new
// name would find none, read every moved extent from home — zeros — and orphan the tier data).
TEST(LunIdentity, RenamedHomeImageKeepsItsData) {
    ScratchImage image("hdd-a", kSize, "rename");
    ASSERT_TRUE(image.ok());
    const auto data = pattern(kSize, 73);
    {
        auto lun = open_lun(image.config("tiers=hdd-a+nvme-b"));
        ASSERT_TRUE(lun);
        ASSERT_EQ(lun->exclusive_lock().lock(1), TCMU_STS_OK);
        ASSERT_EQ(write(*lun, 0, data), TCMU_STS_OK);
        move(*lun, 1, "nvme-b");
        move(*lun, 3, "nvme-b");
    }
    const std::string renamed = image.name() + "-renamed";
    ASSERT_EQ(rbd_rename(image.io().handle(), image.name().c_str(), renamed.c_str()), 0);
    LunConfig config = image.config("tiers=hdd-a+nvme-b");
    config.image = renamed;
    {
        auto lun = open_lun(config);
        ASSERT_TRUE(lun);
        EXPECT_EQ(read(*lun, 0, kSize), data);
    }
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", renamed, {"nvme-b"});
    ASSERT_EQ(rbd_rename(image.io().handle(), renamed.c_str(), image.name().c_str()), 0);
}

// A LUN in an RBD namespace (`pool/namespace/image`).
TEST(LunIdentity, LunInAnRbdNamespace) {
    ScratchImage scratch("hdd-a", 4096, "ns-anchor");  // a cluster connection, removed at the end
    ASSERT_TRUE(scratch.ok());
    const std::string ns = "ns" + std::to_string(::getpid());
    ASSERT_EQ(rbd_namespace_create(scratch.io().handle(), ns.c_str()), 0);
    auto ns_io = ceph::IoContext::open(scratch.cluster(), "hdd-a", ns);
    ASSERT_TRUE(ns_io);
    ASSERT_TRUE(ceph::create_image(*ns_io, "db", kSize).is_ok());
    LunConfig config = scratch.config("tiers=hdd-a+nvme-a");
    config.ns = ns;
    config.image = "db";
    const auto data = pattern(kSize, 74);
    {
        auto lun = open_lun(config);
        ASSERT_TRUE(lun);
        EXPECT_EQ(lun->tiered_lun()->images().lun().ns, ns);
        ASSERT_EQ(lun->exclusive_lock().lock(1), TCMU_STS_OK);
        ASSERT_EQ(write(*lun, 0, data), TCMU_STS_OK);
        move(*lun, 2, "nvme-a");
        EXPECT_EQ(read(*lun, 0, kSize), data);
    }
    {
        auto lun = open_lun(config);
        ASSERT_TRUE(lun);
        EXPECT_EQ(read(*lun, 0, kSize), data);
    }
    EXPECT_TRUE(
        ceph::remove_tiered_lun_store(scratch.cluster(), "hdd-a", ns, "db", {"nvme-a"}).is_ok());
    EXPECT_TRUE(ceph::remove_image(*ns_io, "db").is_ok());
    EXPECT_EQ(rbd_namespace_remove(scratch.io().handle(), ns.c_str()), 0);
}

// Tiering data in the format-1 layout (a map named after the image) is refused, never used.
TEST(LunIdentity, FormatOneDataIsRefused) {
    ScratchImage image("hdd-a", kSize, "format1");
    ASSERT_TRUE(image.ok());
    const std::string legacy = ceph::legacy_map_object_name(image.name());
    ASSERT_EQ(rados_write_full(image.io().handle(), legacy.c_str(), "", 0), 0);
    auto refused =
        build_lun(image.config("tiers=hdd-a+nvme-a"), LunGeometry{kSize, 512}, fake_host());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.status().message().find("format-1"), std::string::npos)
        << refused.status().message();
    EXPECT_EQ(rados_remove(image.io().handle(), legacy.c_str()), 0);
}

}  // namespace
}  // namespace rbdtier::testing
