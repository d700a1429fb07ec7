// Every SCSI command shape the handler receives, at its boundaries, through the tcmu-runner
// 1.5.4 harness (tests/harness): one table of commands, each with the SAM status and sense
// SBC-4 and tcmu-runner give, run on a plain and on a tiered rbdtier LUN, and compared with
// Debian's stock handler_rbd.so where that one is installed.
//
// The table covers zero and maximum transfer lengths of READ/WRITE 10/12/16 and WRITE AND
// VERIFY 10/16, the last LBA, ranges ending exactly at the end of the LUN and one block past
// it, LBA + length overflowing 64 bits; UNMAP with zero, one and the maximum number of
// descriptors and more, descriptors past the end or longer than the Block Limits maximum, and
// malformed parameter lists; WRITE SAME 10/16 with and without UNMAP and ANCHOR, of zero blocks
// (WSNZ is 1: refused), to the end and past it; COMPARE AND WRITE of one block (the maximum
// tcmu-runner advertises) and more. Some rows also check the data afterwards (a WRITE SAME with
// UNMAP of a non-zero block reads that block back). The table runs on plain and tiered LUNs of
// whole extents and of a partial last extent; after it the LUN still serves I/O and has nothing
// in flight. Nothing may abort the process. The VPD limits and medium the handler gives the
// runner are checked against librbd's discard granularity and the pools' device classes.
//
// handler_rbd takes the whole process down on a zero-length READ or WRITE AND VERIFY in one
// empty iovec (a zero-length rbd_aio_readv fails an assertion in librbd). So its rows run
// in a child process (this executable, re-run as UpstreamChild.Run) that logs each row before
// and after sending it; a row whose child died is reported as "aborts", and the remaining rows
// go on in a new child.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "so_gateway.h"
#include "tests/harness/harness.h"
#include "tests/harness/rbd_client.h"
#include "tests/support/self_child.h"

namespace rbdtier {
namespace {

using harness::Cdb;
using harness::LbaRange;
using harness::Request;

constexpr std::uint64_t kLunBytes = 64ull << 20;  // 16 extents of 4 MiB
constexpr std::uint32_t kBlock = 512;
constexpr const char* kStockHandlerRbd = "/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so";

// What a command must answer: GOOD, or CHECK CONDITION with this sense key and ASC/ASCQ.
struct Answer {
    std::uint8_t status = harness::kGood;
    std::uint8_t key = 0;
    std::uint8_t asc = 0;
    std::uint8_t ascq = 0;
    bool operator==(const Answer&) const = default;
};
constexpr Answer kGood{};
constexpr Answer kLbaOutOfRange{harness::kCheckCondition, harness::kIllegalRequest, 0x21, 0x00};
constexpr Answer kInvalidFieldInCdb{harness::kCheckCondition, harness::kIllegalRequest, 0x24, 0x00};
constexpr Answer kInvalidFieldInParamList{harness::kCheckCondition, harness::kIllegalRequest, 0x26,
                                          0x00};
constexpr Answer kParamListLengthError{harness::kCheckCondition, harness::kIllegalRequest, 0x1a,
                                       0x00};
constexpr Answer kTaskSetFull{harness::kTaskSetFull};
// Not an answer: the stock handler took the process down on the command.
constexpr Answer kAborts{0xff};

std::string describe(const Answer& a) {
    char buf[64];
    if (a.status == harness::kGood) return "GOOD";
    if (a == kAborts) return "abort of the process";
    std::snprintf(buf, sizeof buf, "status 0x%02x key 0x%x asc/ascq 0x%02x/0x%02x", a.status, a.key,
                  a.asc, a.ascq);
    return buf;
}

Answer answer_of(const harness::Result& r) {
    if (r.scsi_status != harness::kCheckCondition) return Answer{r.scsi_status};
    const harness::SenseView s = r.sense_view();
    return Answer{r.scsi_status, s.key(), s.asc(), s.ascq()};
}

// The LUN as the table sees it: its blocks and the limits the handler set at open.
struct Geometry {
    std::uint64_t lbas = 0;           // N: the last LBA is N - 1
    std::uint32_t max_unmap_len = 0;  // blocks per UNMAP descriptor (Block Limits VPD)
    std::uint32_t unmap_gran = 0;     // optimal unmap granularity (blocks)
};

// Buffers of one command, alive until it completed.
class Buffers {
public:
    // A Data-Out or Data-In buffer of `bytes`, filled with `fill`.
    iovec make(std::size_t bytes, std::uint8_t fill = 0) {
        bufs_.emplace_back(bytes, fill);
        return iovec{bufs_.back().data(), bytes};
    }
    iovec take(std::vector<std::uint8_t> data) {
        bufs_.push_back(std::move(data));
        return iovec{bufs_.back().data(), bufs_.back().size()};
    }

private:
    std::vector<std::vector<std::uint8_t>> bufs_;
};

struct Case {
    std::string name;
    // Builds the command; `b` owns its buffers.
    std::function<Request(const Geometry& g, Buffers& b)> make;
    Answer expected;
    // Run before the command (e.g. to write what a COMPARE AND WRITE compares with).
    std::function<void(harness::Device& dev, const Geometry& g)> prepare = {};
    // What the stock handler_rbd gives where it differs from `expected` (rbdtier is better).
    std::optional<Answer> upstream = {};
    // Run after the command on rbdtier: what is wrong with the LUN's data ("" when right).
    std::function<std::string(harness::Device& dev, const Geometry& g)> check = {};
};

// Checks that `blocks` blocks from `lba` all hold `fill`.
std::string expect_blocks(harness::Device& dev, std::uint64_t lba, std::uint64_t blocks,
                          std::uint8_t fill) {
    std::vector<std::uint8_t> back(blocks * kBlock, static_cast<std::uint8_t>(~fill));
    const harness::Result r = dev.read(lba, back.data(), back.size());
    if (!r.ok()) return "read back: " + r.describe();
    for (std::size_t i = 0; i < back.size(); ++i) {
        if (back[i] != fill) {
            return "byte " + std::to_string(i) + " from LBA " + std::to_string(lba) + " reads " +
                   std::to_string(back[i]) + ", not " + std::to_string(fill);
        }
    }
    return "";
}

Request with_data(Cdb cdb, iovec data) {
    Request r;
    r.cdb = cdb;
    if (data.iov_len > 0) r.iov.push_back(data);
    return r;
}

// Data-Out (or Data-In) of `blocks` blocks.
Request transfer(Cdb cdb, std::uint64_t blocks, Buffers& b, std::uint8_t fill = 0x5a) {
    return with_data(cdb, b.make(blocks * kBlock, fill));
}

Request unmap_of(const std::vector<LbaRange>& ranges, Buffers& b) {
    std::vector<std::uint8_t> list = harness::make_unmap_param_list(ranges);
    const auto len = static_cast<std::uint16_t>(list.size());
    return with_data(harness::make_unmap(len), b.take(std::move(list)));
}

Request caw(std::uint64_t lba, std::uint8_t blocks, Buffers& b, std::uint8_t compare,
            std::uint8_t write) {
    std::vector<std::uint8_t> data(2ull * blocks * kBlock, compare);
    std::fill(data.begin() + static_cast<std::ptrdiff_t>(blocks) * kBlock, data.end(), write);
    return with_data(harness::make_compare_and_write(lba, blocks), b.take(std::move(data)));
}

// Writes `fill` to the block at `lba` (what a COMPARE AND WRITE then compares with).
auto fill_block(std::function<std::uint64_t(const Geometry&)> lba, std::uint8_t fill) {
    return [lba, fill](harness::Device& dev, const Geometry& g) {
        std::vector<std::uint8_t> block(kBlock, fill);
        const harness::Result r = dev.write(lba(g), block.data(), block.size());
        ASSERT_TRUE(r.ok()) << r.describe();
    };
}

constexpr std::uint64_t kMaxLba = ~std::uint64_t{0};

std::vector<Case> boundary_table() {
    using namespace harness;
    std::vector<Case> t;
    auto add = [&t](std::string name, std::function<Request(const Geometry&, Buffers&)> make,
                    Answer expected, std::optional<Answer> upstream = std::nullopt) {
        t.push_back({std::move(name), std::move(make), expected, {}, upstream});
    };

    // ---- READ / WRITE 10, 12, 16 and WRITE AND VERIFY 10, 16 ----
    // A transfer length of zero transfers nothing and is no error (SBC-4), at the first LBA
    // and at N (LBA + 0 does not pass the end); one block further it is out of range.
    struct Rw {
        const char* name;
        Cdb (*make)(std::uint64_t lba, std::uint32_t blocks);
        std::uint32_t max_blocks;  // the largest transfer length the CDB can carry, tried
                                   // up to 0xffff blocks (32 MiB)
        bool lba32;                // 10/12-byte CDB: 32-bit LBA
    };
    const Rw rws[] = {
        {"READ(10)",
         [](std::uint64_t l, std::uint32_t n) {
             return make_read10(static_cast<std::uint32_t>(l), static_cast<std::uint16_t>(n));
         },
         0xffff, true},
        {"WRITE(10)",
         [](std::uint64_t l, std::uint32_t n) {
             return make_write10(static_cast<std::uint32_t>(l), static_cast<std::uint16_t>(n));
         },
         0xffff, true},
        {"READ(12)",
         [](std::uint64_t l, std::uint32_t n) {
             return make_read12(static_cast<std::uint32_t>(l), n);
         },
         0xffff, true},
        {"WRITE(12)",
         [](std::uint64_t l, std::uint32_t n) {
             return make_write12(static_cast<std::uint32_t>(l), n);
         },
         0xffff, true},
        {"READ(16)", [](std::uint64_t l, std::uint32_t n) { return make_read16(l, n); }, 0xffff,
         false},
        {"WRITE(16)", [](std::uint64_t l, std::uint32_t n) { return make_write16(l, n); }, 0xffff,
         false},
        {"WRITE AND VERIFY(10)",
         [](std::uint64_t l, std::uint32_t n) {
             return make_write_verify10(static_cast<std::uint32_t>(l),
                                        static_cast<std::uint16_t>(n));
         },
         0xffff, true},
        {"WRITE AND VERIFY(16)",
         [](std::uint64_t l, std::uint32_t n) { return make_write_verify16(l, n); }, 0xffff, false},
    };
    for (const Rw& rw : rws) {
        const std::string n = rw.name;
        auto make = rw.make;
        const std::uint32_t max = rw.max_blocks;
        // handler_rbd reads with rbd_aio_readv, whose zero-length read into no buffer fails an
        // assertion in librbd and aborts the process (WRITE AND VERIFY reads back too).
        const bool reads = n.rfind("READ", 0) == 0 || n.rfind("WRITE AND VERIFY", 0) == 0;
        // handler_rbd passes no iovec to rbd_aio_readv/writev, which refuses it: TASK SET
        // FULL, which an initiator retries for ever.
        add(
            n + " of 0 blocks at LBA 0",
            [make](const Geometry&, Buffers&) { return with_data(make(0, 0), {}); }, kGood,
            kTaskSetFull);
        add(
            n + " of 0 blocks at the last LBA",
            [make](const Geometry& g, Buffers&) { return with_data(make(g.lbas - 1, 0), {}); },
            kGood, kTaskSetFull);
        add(
            n + " of 0 blocks at LBA N",
            [make](const Geometry& g, Buffers&) { return with_data(make(g.lbas, 0), {}); }, kGood,
            kTaskSetFull);
        // The same with one empty iovec (no buffer), as a runner may hand it over.
        add(
            n + " of 0 blocks at LBA 0 in one empty iovec",
            [make](const Geometry&, Buffers&) {
                Request r;
                r.cdb = make(0, 0);
                r.iov.push_back(iovec{nullptr, 0});
                return r;
            },
            kGood, reads ? std::optional<Answer>(kAborts) : std::nullopt);
        add(
            n + " of 0 blocks at LBA N+1",
            [make](const Geometry& g, Buffers&) { return with_data(make(g.lbas + 1, 0), {}); },
            kLbaOutOfRange);
        add(
            n + " of 1 block at the last LBA",
            [make](const Geometry& g, Buffers& b) { return transfer(make(g.lbas - 1, 1), 1, b); },
            kGood);
        add(
            n + " of 1 block at LBA N",
            [make](const Geometry& g, Buffers& b) { return transfer(make(g.lbas, 1), 1, b); },
            kLbaOutOfRange);
        add(
            n + " of 8 blocks ending exactly at the end",
            [make](const Geometry& g, Buffers& b) { return transfer(make(g.lbas - 8, 8), 8, b); },
            kGood);
        add(
            n + " of 8 blocks ending one block past the end",
            [make](const Geometry& g, Buffers& b) { return transfer(make(g.lbas - 7, 8), 8, b); },
            kLbaOutOfRange);
        add(
            n + " of the maximum blocks at LBA 0",
            [make, max](const Geometry&, Buffers& b) { return transfer(make(0, max), max, b); },
            kGood);
        add(
            n + " of the maximum blocks ending exactly at the end",
            [make, max](const Geometry& g, Buffers& b) {
                return transfer(make(g.lbas - max, max), max, b);
            },
            kGood);
        add(
            n + " of the maximum blocks ending one block past the end",
            [make, max](const Geometry& g, Buffers& b) {
                return transfer(make(g.lbas - max + 1, max), max, b);
            },
            kLbaOutOfRange);
        if (rw.lba32) {
            add(
                n + " of 1 block at LBA 0xffffffff",
                [make](const Geometry&, Buffers& b) {
                    return transfer(make(0xffffffffu, 1), 1, b);
                },
                kLbaOutOfRange);
        } else {
            add(
                n + " of 1 block at LBA 2^64-1",
                [make](const Geometry&, Buffers& b) { return transfer(make(kMaxLba, 1), 1, b); },
                kLbaOutOfRange);
            add(
                n + " of 16 blocks whose LBA + length wraps to 8",
                [make](const Geometry&, Buffers& b) {
                    return transfer(make(kMaxLba - 7, 16), 16, b);
                },
                kLbaOutOfRange);
            add(
                n + " of 0 blocks at LBA 2^64-1",
                [make](const Geometry&, Buffers&) { return with_data(make(kMaxLba, 0), {}); },
                kLbaOutOfRange);
        }
    }

    // ---- UNMAP ----
    add(
        "UNMAP with a parameter list length of 0",
        [](const Geometry&, Buffers&) { return with_data(make_unmap(0), {}); }, kGood);
    add(
        "UNMAP with the 8-byte header and no descriptor",
        [](const Geometry&, Buffers& b) { return unmap_of({}, b); }, kGood);
    add(
        "UNMAP of one descriptor of one granule",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{0, g.unmap_gran}}, b);
        },
        kGood);
    add(
        "UNMAP of one descriptor of 0 blocks",
        [](const Geometry&, Buffers& b) {
            return unmap_of({{8, 0}}, b);
        },
        kGood);
    add(
        "UNMAP of one unaligned descriptor of 1 block",
        [](const Geometry&, Buffers& b) {
            return unmap_of({{3, 1}}, b);
        },
        kGood);
    add(
        "UNMAP of the maximum descriptors (4)",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{0, 8}, {g.unmap_gran, g.unmap_gran}, {g.lbas - 8, 8}, {100, 3}}, b);
        },
        kGood);
    add(
        "UNMAP of more descriptors (5) than the maximum",
        [](const Geometry&, Buffers& b) {
            return unmap_of({{0, 8}, {16, 8}, {32, 8}, {48, 8}, {64, 8}}, b);
        },
        kInvalidFieldInParamList);
    add(
        "UNMAP of the maximum blocks in one descriptor",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{0, g.max_unmap_len}}, b);
        },
        kGood);
    add(
        "UNMAP of one block more than the maximum in one descriptor",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{0, g.max_unmap_len + 1}}, b);
        },
        kInvalidFieldInParamList);
    add(
        "UNMAP of a descriptor ending exactly at the end",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{g.lbas - g.unmap_gran, g.unmap_gran}}, b);
        },
        kGood);
    add(
        "UNMAP of a descriptor ending one block past the end",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{g.lbas - 7, 8}}, b);
        },
        kLbaOutOfRange);
    add(
        "UNMAP of a descriptor at LBA N",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{g.lbas, 1}}, b);
        },
        kLbaOutOfRange);
    add(
        "UNMAP of a descriptor whose LBA + length wraps",
        [](const Geometry&, Buffers& b) {
            return unmap_of({{kMaxLba - 3, 8}}, b);
        },
        kLbaOutOfRange);
    add(
        "UNMAP whose second descriptor is past the end",
        [](const Geometry& g, Buffers& b) {
            return unmap_of({{0, 8}, {g.lbas, 8}}, b);
        },
        kLbaOutOfRange);
    add(
        "UNMAP with a parameter list length of 7",
        [](const Geometry&, Buffers& b) { return with_data(make_unmap(7), b.make(7)); },
        kParamListLengthError);
    add(
        "UNMAP whose parameter list length is longer than the data sent",
        [](const Geometry&, Buffers& b) {
            std::vector<std::uint8_t> list = make_unmap_param_list(std::vector<LbaRange>{{0, 8}});
            const auto len = static_cast<std::uint16_t>(list.size() + 16);  // 16 bytes not sent
            return with_data(make_unmap(len), b.take(std::move(list)));
        },
        kParamListLengthError);
    add(
        "UNMAP whose block descriptor data length claims more than the list holds",
        [](const Geometry&, Buffers& b) {
            std::vector<std::uint8_t> list = make_unmap_param_list(std::vector<LbaRange>{{0, 8}});
            put_be16(&list[2], 3 * 16);  // 3 descriptors claimed, 1 sent: the truncated ignored
            const auto len = static_cast<std::uint16_t>(list.size());
            return with_data(make_unmap(len), b.take(std::move(list)));
        },
        kGood);
    add(
        "UNMAP with a trailing partial descriptor",
        [](const Geometry&, Buffers& b) {
            std::vector<std::uint8_t> list = make_unmap_param_list(std::vector<LbaRange>{{0, 8}});
            list.resize(list.size() + 10, 0xff);  // 10 bytes of a second descriptor: ignored
            put_be16(&list[2], 16 + 10);
            const auto len = static_cast<std::uint16_t>(list.size());
            return with_data(make_unmap(len), b.take(std::move(list)));
        },
        kGood);
    add(
        "UNMAP with ANCHOR (not supported)",
        [](const Geometry&, Buffers& b) {
            std::vector<std::uint8_t> list = make_unmap_param_list(std::vector<LbaRange>{{0, 8}});
            const auto len = static_cast<std::uint16_t>(list.size());
            return with_data(make_unmap(len, true), b.take(std::move(list)));
        },
        kInvalidFieldInCdb);

    // ---- WRITE SAME 10 / 16 ----
    for (bool sixteen : {false, true}) {
        const std::string n = sixteen ? "WRITE SAME(16)" : "WRITE SAME(10)";
        auto ws = [sixteen](std::uint64_t lba, std::uint32_t blocks, bool unmap, bool anchor) {
            return sixteen ? make_write_same16(lba, blocks, unmap, anchor)
                           : make_write_same10(static_cast<std::uint32_t>(lba),
                                               static_cast<std::uint16_t>(blocks), unmap, anchor);
        };
        for (bool unmap : {false, true}) {
            const std::string u = n + (unmap ? " UNMAP" : "");
            add(
                u + " of 1 block at LBA 0",
                [ws, unmap](const Geometry&, Buffers& b) {
                    return transfer(ws(0, 1, unmap, false), 1, b, 0);
                },
                kGood);
            add(
                u + " of 1 block at the last LBA",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(ws(g.lbas - 1, 1, unmap, false), 1, b, 0);
                },
                kGood);
            // WSNZ is 1 in the Block Limits VPD: a NUMBER OF LOGICAL BLOCKS of 0 is refused.
            add(
                u + " of 0 blocks",
                [ws, unmap](const Geometry&, Buffers& b) {
                    return transfer(ws(0, 0, unmap, false), 1, b, 0);
                },
                kInvalidFieldInCdb);
            add(
                u + " of one granule, aligned",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(ws(g.unmap_gran, g.unmap_gran, unmap, false), 1, b, 0);
                },
                kGood);
            add(
                u + " of 7 blocks, unaligned",
                [ws, unmap](const Geometry&, Buffers& b) {
                    return transfer(ws(1, 7, unmap, false), 1, b, 0);
                },
                kGood);
            add(
                u + " ending exactly at the end",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(
                        ws(g.lbas - 2 * g.unmap_gran - 3, 2 * g.unmap_gran + 3, unmap, false), 1, b,
                        0);
                },
                kGood);
            add(
                u + " ending one block past the end",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(ws(g.lbas - 7, 8, unmap, false), 1, b, 0);
                },
                kLbaOutOfRange);
            add(
                u + " at LBA N",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(ws(g.lbas, 1, unmap, false), 1, b, 0);
                },
                kLbaOutOfRange);
            // ANC_SUP is 0 in the Logical Block Provisioning VPD: ANCHOR is refused (SBC-4).
            // tcmu-runner 1.5.4 does not look at it; handler_rbd answers GOOD.
            add(
                u + " ANCHOR of one granule",
                [ws, unmap](const Geometry& g, Buffers& b) {
                    return transfer(ws(0, g.unmap_gran, unmap, true), 1, b, 0);
                },
                kInvalidFieldInCdb, kGood);
        }
        add(
            n + " of the maximum blocks the CDB or the LUN allows",
            [ws, sixteen](const Geometry& g, Buffers& b) {
                const std::uint64_t blocks = sixteen ? g.lbas : 0xffff;
                return transfer(ws(0, static_cast<std::uint32_t>(blocks), false, false), 1, b,
                                0x3c);
            },
            kGood);
        // UNMAP asks to unmap "if possible": blocks the device unmaps read zeros (LBPRZ), so a
        // block that is not all zeros must be written, never dropped; a zero block may unmap.
        for (std::uint8_t fill : {std::uint8_t{0x3c}, std::uint8_t{0}}) {
            t.push_back({n + " UNMAP of " + (fill ? "a non-zero" : "a zero") +
                             " block over aligned granules reads the block back",
                         [ws, fill](const Geometry& g, Buffers& b) {
                             return transfer(ws(2 * g.unmap_gran, 2 * g.unmap_gran, true, false), 1,
                                             b, fill);
                         },
                         kGood,
                         [](harness::Device& dev, const Geometry& g) {
                             std::vector<std::uint8_t> other(2 * g.unmap_gran * kBlock, 0xa5);
                             ASSERT_TRUE(
                                 dev.write(2 * g.unmap_gran, other.data(), other.size()).ok());
                         },
                         {},
                         [fill](harness::Device& dev, const Geometry& g) {
                             return expect_blocks(dev, 2 * g.unmap_gran, 2 * g.unmap_gran, fill);
                         }});
        }
        add(
            n + " of a non-zero block with UNMAP, the whole LUN or the CDB's maximum",
            [ws, sixteen](const Geometry& g, Buffers& b) {
                const std::uint64_t blocks = sixteen ? g.lbas : 0xffff;
                return transfer(ws(0, static_cast<std::uint32_t>(blocks), true, false), 1, b, 0x3c);
            },
            kGood);
        add(
            n + " with 2 blocks of Data-Out",
            [ws](const Geometry&, Buffers& b) { return transfer(ws(0, 4, false, false), 2, b, 0); },
            kInvalidFieldInCdb);
        if (sixteen) {
            add(
                n + " whose LBA + length wraps",
                [ws](const Geometry&, Buffers& b) {
                    return transfer(ws(kMaxLba - 3, 8, false, false), 1, b, 0);
                },
                kLbaOutOfRange);
            add(
                n + " of 0xffffffff blocks",
                [ws](const Geometry&, Buffers& b) {
                    return transfer(ws(0, 0xffffffffu, false, false), 1, b, 0);
                },
                kLbaOutOfRange);
        }
    }

    // ---- COMPARE AND WRITE (MAXIMUM COMPARE AND WRITE LENGTH: 1 block) ----
    add(
        "COMPARE AND WRITE of 0 blocks",
        [](const Geometry&, Buffers& b) {
            return with_data(make_compare_and_write(0, 0), b.make(0));
        },
        kGood);
    t.push_back({"COMPARE AND WRITE of 1 block at LBA 0",
                 [](const Geometry&, Buffers& b) { return caw(0, 1, b, 0x11, 0x22); }, kGood,
                 fill_block([](const Geometry&) { return 0; }, 0x11)});
    t.push_back({"COMPARE AND WRITE of 1 block at the last LBA",
                 [](const Geometry& g, Buffers& b) { return caw(g.lbas - 1, 1, b, 0x33, 0x44); },
                 kGood, fill_block([](const Geometry& g) { return g.lbas - 1; }, 0x33)});
    t.push_back(
        {"COMPARE AND WRITE of 1 block at the last LBA of an extent",
         [](const Geometry&, Buffers& b) { return caw((4 << 20) / kBlock - 1, 1, b, 0x55, 0x66); },
         kGood, fill_block([](const Geometry&) { return (4 << 20) / kBlock - 1; }, 0x55)});
    add(
        "COMPARE AND WRITE of 2 blocks (more than the maximum)",
        [](const Geometry&, Buffers& b) { return caw(0, 2, b, 0, 0); }, kInvalidFieldInCdb);
    add(
        "COMPARE AND WRITE of 255 blocks",
        [](const Geometry&, Buffers& b) { return caw(0, 255, b, 0, 0); }, kInvalidFieldInCdb);
    add(
        "COMPARE AND WRITE at LBA N",
        [](const Geometry& g, Buffers& b) { return caw(g.lbas, 1, b, 0, 0); }, kLbaOutOfRange);
    add(
        "COMPARE AND WRITE at LBA 2^64-1",
        [](const Geometry&, Buffers& b) { return caw(kMaxLba, 1, b, 0, 0); }, kLbaOutOfRange);
    return t;
}

// ---- running the table ----

std::string conf() {
    return so_test::ceph_conf();
}

Geometry geometry_of(harness::Device& dev) {
    Geometry g;
    g.lbas = dev.num_lbas();
    g.max_unmap_len = tcmu_dev_get_max_unmap_len(dev.raw());
    g.unmap_gran = tcmu_dev_get_opt_unmap_gran(dev.raw());
    return g;
}

// Runs row `c` on `dev`; its answer.
Answer run_row(harness::Device& dev, const Geometry& g, const Case& c) {
    if (c.prepare) c.prepare(dev, g);
    Buffers b;
    Request req = c.make(g, b);
    return answer_of(dev.execute(std::move(req)));
}

// After the table: the LUN serves a write and its read-back, and holds nothing in flight.
void expect_still_serving(harness::Device& dev) {
    std::vector<char> data(64 * 1024);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + 1);
    const std::uint64_t lba = dev.num_lbas() - data.size() / kBlock;
    harness::Result w = dev.write(lba, data.data(), data.size());
    ASSERT_TRUE(w.ok()) << w.describe();
    std::vector<char> back(data.size());
    harness::Result r = dev.read(lba, back.data(), back.size());
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(back, data);
    dev.drain();
    EXPECT_EQ(dev.in_flight(), 0u);
}

class ScsiBoundary : public ::testing::Test {
protected:
    void SetUp() override {
        if (conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    }

    // The table on a fresh image "<stem>-<pid>" of lun_bytes in hdd-a, opened with extra_cfg.
    void run_table(const std::string& stem, const std::string& extra_cfg,
                   std::uint64_t lun_bytes = kLunBytes) {
        so_test::TestImage image("hdd-a", stem, lun_bytes);
        {
            harness::Harness h(HANDLER_SO);
            auto dev = h.open(
                {"hdd-a/" + image.name() + ";conf=" + conf() + extra_cfg, lun_bytes, kBlock});
            const Geometry g = geometry_of(*dev);
            ASSERT_EQ(g.lbas, lun_bytes / kBlock);
            for (const Case& c : boundary_table()) {
                SCOPED_TRACE(c.name);
                const Answer got = run_row(*dev, g, c);
                EXPECT_EQ(got, c.expected)
                    << c.name << ": got " << describe(got) << ", expected " << describe(c.expected);
                if (c.check) {
                    EXPECT_EQ(c.check(*dev, g), "") << c.name;
                }
            }
            expect_still_serving(*dev);
        }
        (void)image.remove();
    }
};

TEST_F(ScsiBoundary, EveryCommandShapeOnAPlainLun) {
    run_table("scsi-plain", "");
}

TEST_F(ScsiBoundary, EveryCommandShapeOnATieredLun) {
    run_table("scsi-tiered", ";tiers=hdd-a+nvme-a");
}

// The last extent of the LUN only partly there: 7 blocks short of 16 extents.
TEST_F(ScsiBoundary, EveryCommandShapeOnLunsWithAPartialLastExtent) {
    run_table("scsi-plain-part", "", kLunBytes - 7 * kBlock);
    run_table("scsi-tiered-part", ";tiers=hdd-a+nvme-a", kLunBytes - 7 * kBlock);
}

// What the handler advertises in the Block Limits and Block Device Characteristics VPD pages
// (through the runner's tcmu_dev_set_*): librbd's discard granularity as the optimal unmap
// granularity and its alignment (64 KiB by default), 4 objects as the maximum unmap length,
// and non-rotating media only when every pool of the LUN's data takes solid-state OSDs
// (nvme-a and nvme-b are of class nvme on the test cluster, hdd-a of class hdd): for a home
// image with a data pool, that pool, not its header's.
TEST_F(ScsiBoundary, VpdLimitsAndMediumAreThoseOfLibrbdAndThePools) {
    struct Row {
        std::string pool, tiers;
        bool solid_state;
        std::string data_pool = {};
    };
    const Row rows[] = {
        {"hdd-a", "", false},
        {"nvme-a", "", true},
        {"hdd-a", "hdd-a+nvme-a", false},
        {"nvme-a", "nvme-a+nvme-b", true},
        {"nvme-a", "", false, "hdd-a"},
        {"nvme-a", "hdd-a+nvme-b", false, "hdd-a"},
        {"hdd-a", "nvme-b", true, "nvme-a"},
    };
    for (const Row& row : rows) {
        SCOPED_TRACE(row.pool + " data pool " + row.data_pool + " tiers=" + row.tiers);
        so_test::TestImage image(row.pool, "scsi-vpd", kLunBytes, row.data_pool);
        {
            harness::Harness h(HANDLER_SO);
            const std::string tiers = row.tiers.empty() ? "" : ";tiers=" + row.tiers;
            auto dev = h.open(
                {row.pool + "/" + image.name() + ";conf=" + conf() + tiers, kLunBytes, kBlock});
            EXPECT_EQ(tcmu_dev_get_opt_unmap_gran(dev->raw()), (64u << 10) / kBlock);
            EXPECT_EQ(tcmu_dev_get_unmap_gran_align(dev->raw()), (64u << 10) / kBlock);
            EXPECT_EQ(tcmu_dev_get_max_unmap_len(dev->raw()), 4 * (4u << 20) / kBlock);
            EXPECT_EQ(tcmu_dev_get_solid_state_media(dev->raw()), row.solid_state);
        }
        (void)image.remove();
    }
}

// ---- handler_rbd, row by row in child processes ----

// The child: opens the stock handler on the image named in the environment and runs the rows
// from SCSI_BOUNDARY_FIRST_ROW on, appending "begin <i>" before and "<i> <answer>" after each
// to SCSI_BOUNDARY_LOG (flushed, so that a row that aborts the process shows).
TEST(UpstreamChild, Run) {
    const char* first = std::getenv("SCSI_BOUNDARY_FIRST_ROW");
    const char* log_path = std::getenv("SCSI_BOUNDARY_LOG");
    const char* image = std::getenv("SCSI_BOUNDARY_IMAGE");
    if (first == nullptr || log_path == nullptr || image == nullptr || conf().empty())
        GTEST_SKIP() << "run by UpstreamHandlerRbd only";
    const rlimit no_core{0, 0};  // its aborts are expected: no core files
    (void)::setrlimit(RLIMIT_CORE, &no_core);
    FILE* log = std::fopen(log_path, "a");
    ASSERT_NE(log, nullptr);
    harness::Harness h(kStockHandlerRbd);
    auto dev = h.open({std::string("hdd-a/") + image + ";conf=" + conf(), kLunBytes, kBlock});
    const Geometry g = geometry_of(*dev);
    std::fprintf(log, "geometry %u %u %u %d\n", g.max_unmap_len, g.unmap_gran,
                 tcmu_dev_get_unmap_gran_align(dev->raw()),
                 tcmu_dev_get_solid_state_media(dev->raw()) ? 1 : 0);
    const std::vector<Case> table = boundary_table();
    for (std::size_t i = std::strtoul(first, nullptr, 10); i < table.size(); ++i) {
        std::fprintf(log, "begin %zu\n", i);
        std::fflush(log);
        const Answer a = run_row(*dev, g, table[i]);
        std::fprintf(log, "%zu %u %u %u %u\n", i, a.status, a.key, a.asc, a.ascq);
        if (table[i].check) {
            const std::string wrong = table[i].check(*dev, g);
            if (!wrong.empty()) std::fprintf(log, "check %zu %s\n", i, wrong.c_str());
        }
        std::fflush(log);
    }
    std::fclose(log);
}

// Runs this executable as UpstreamChild.Run from row `first`; true when it exited normally.
bool run_child(std::size_t first, const std::string& log, const std::string& image) {
    const pid_t pid = test_support::spawn_self(
        "UpstreamChild.Run", {"SCSI_BOUNDARY_FIRST_ROW=" + std::to_string(first),
                              "SCSI_BOUNDARY_LOG=" + log, "SCSI_BOUNDARY_IMAGE=" + image});
    if (pid < 0) return false;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Every row on Debian's handler_rbd.so, which must answer as the table says (`upstream`
// where it differs: rbdtier does better there), and the same Block Limits and medium as
// rbdtier on the same image. The rows where it aborts the process are printed.
TEST_F(ScsiBoundary, UpstreamHandlerRbdAnswersAsTheTableSays) {
    if (!std::filesystem::exists(kStockHandlerRbd)) GTEST_SKIP() << "no stock handler_rbd.so";
    so_test::TestImage image("hdd-a", "scsi-upstream", kLunBytes);
    const std::string log =
        std::filesystem::temp_directory_path() / ("scsi-boundary-" + image.name() + ".log");
    std::filesystem::remove(log);
    const std::vector<Case> table = boundary_table();
    std::map<std::size_t, Answer> answers;
    std::string upstream_geometry;
    std::map<std::size_t, std::string> data_wrong;  // rows whose data check fails on handler_rbd
    std::size_t next = 0;
    for (int children = 0; next < table.size() && children < 50; ++children) {
        const bool clean = run_child(next, log, image.name());
        std::ifstream in(log);
        std::size_t last_begun = table.size();
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream s(line);
            std::string word;
            s >> word;
            if (word == "geometry") {
                upstream_geometry = line.substr(word.size() + 1);
            } else if (word == "begin") {
                s >> last_begun;
            } else if (word == "check") {
                std::size_t row = 0;
                s >> row;
                std::string wrong;
                std::getline(s, wrong);
                data_wrong[row] = wrong;
            } else {
                unsigned st = 0, key = 0, asc = 0, ascq = 0;
                s >> st >> key >> asc >> ascq;
                answers[std::stoul(word)] =
                    Answer{static_cast<std::uint8_t>(st), static_cast<std::uint8_t>(key),
                           static_cast<std::uint8_t>(asc), static_cast<std::uint8_t>(ascq)};
            }
        }
        if (clean) break;
        ASSERT_LT(last_begun, table.size()) << "the child died before its first row";
        if (answers.count(last_begun) == 0) {
            answers[last_begun] = kAborts;
            std::printf("handler_rbd aborts the process on: %s\n", table[last_begun].name.c_str());
        }
        next = last_begun + 1;
    }
    ASSERT_EQ(answers.size(), table.size());
    for (const auto& [row, wrong] : data_wrong)
        std::printf("handler_rbd after %s:%s\n", table[row].name.c_str(), wrong.c_str());
    for (std::size_t i = 0; i < table.size(); ++i) {
        const Answer want = table[i].upstream.value_or(table[i].expected);
        EXPECT_EQ(answers[i], want) << "handler_rbd on " << table[i].name << ": "
                                    << describe(answers[i]) << ", expected " << describe(want);
    }
    std::filesystem::remove(log);
    {
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"hdd-a/" + image.name() + ";conf=" + conf(), kLunBytes, kBlock});
        const std::string ours = std::to_string(tcmu_dev_get_max_unmap_len(dev->raw())) + " " +
                                 std::to_string(tcmu_dev_get_opt_unmap_gran(dev->raw())) + " " +
                                 std::to_string(tcmu_dev_get_unmap_gran_align(dev->raw())) + " " +
                                 (tcmu_dev_get_solid_state_media(dev->raw()) ? "1" : "0");
        EXPECT_EQ(ours, upstream_geometry)
            << "max unmap, unmap granularity, alignment, solid state: rbdtier against handler_rbd";
    }
    (void)image.remove();
}

}  // namespace
}  // namespace rbdtier
