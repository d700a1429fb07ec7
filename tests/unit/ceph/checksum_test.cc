#include "ceph/checksum.h"

#include <gtest/gtest.h>

#include <string>

namespace rbdtier::ceph {
namespace {

TEST(Crc32c, KnownVectors) {
    // RFC 3720 B.4 and the common check value.
    EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
    std::string zeros(32, '\0');
    EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
    std::string ones(32, '\xff');
    EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32c, ExtendEqualsWhole) {
    const std::string s = "rbdtier moves extents before they are read";
    const std::uint32_t whole = crc32c(s.data(), s.size());
    const std::uint32_t first = crc32c(s.data(), 10);
    EXPECT_EQ(crc32c_extend(first, s.data() + 10, s.size() - 10), whole);
}

}  // namespace
}  // namespace rbdtier::ceph
