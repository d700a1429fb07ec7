// Malformed, truncated, empty and unknown traces give a TraceError naming the line or record,
// never a crash. Includes a small deterministic fuzz over corrupted lines and records.
#include "engine/trace/trace_error.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "engine/trace/trace_reader.h"
#include "tests/support/temp_dir.h"

namespace rbdtier {
namespace {

using rbdtier::testing::TempDir;

// Reads the whole trace; returns the TraceError that stopped it, if any (any other exception
// goes through).
std::optional<TraceError> read_error(const std::string& path, const TraceReaderOptions& opt) {
    try {
        auto reader = TraceReader::open(path, opt);
        IoEvent e;
        while (reader->next(e)) {
        }
    } catch (const TraceError& err) {
        return err;
    }
    return std::nullopt;
}

// Reads the whole trace; returns the error message ("" if none) and its location.
std::string error_of(const std::string& path, TraceReaderOptions opt = {},
                     std::uint64_t* location = nullptr) {
    const auto err = read_error(path, opt);
    if (!err) return "";
    if (location) *location = err->location();
    return err->what();
}

TEST(TraceErrors, BadNumberNamesLineAndField) {
    TempDir dir;
    const auto path = dir.file("msr.csv",
                               "128166372003061629,hm,1,Read,3154152960,32768,1255\n"
                               "128166372003061630,hm,1,Read,3154152960,32768,1255\n"
                               "128166372003061631,hm,1,Read,31x4152960,32768,1255\n");
    std::uint64_t at = 0;
    const auto msg = error_of(path, {}, &at);
    EXPECT_EQ(at, 3u);
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("field 5 (Offset)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("31x4152960"), std::string::npos) << msg;
}

TEST(TraceErrors, MissingColumns) {
    TempDir dir;
    const auto path = dir.file("spc.csv", "0,303567,3584,w,0.0\n0,303567,3584\n");
    std::uint64_t at = 0;
    const auto msg = error_of(path, {}, &at);
    EXPECT_EQ(at, 2u);
    EXPECT_NE(msg.find("expected 5 fields"), std::string::npos) << msg;
    EXPECT_NE(msg.find("found 3"), std::string::npos) << msg;
}

TEST(TraceErrors, UnknownOp) {
    TempDir dir;
    const auto path = dir.file("ali.csv", "1,R,0,4096,1\n1,X,0,4096,2\n");
    const auto msg = error_of(path);
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("opcode"), std::string::npos) << msg;
}

TEST(TraceErrors, EmptyFileAndHeaderOnly) {
    TempDir dir;
    EXPECT_NE(error_of(dir.file("empty.csv", "")).find("empty trace"), std::string::npos);
    TraceReaderOptions msr;
    msr.format = TraceFormat::kMsr;
    EXPECT_NE(error_of(dir.file("header.csv",
                                "Timestamp,Hostname,DiskNumber,Type,Offset,Size,"
                                "ResponseTime\n"),
                       msr)
                  .find("empty trace"),
              std::string::npos);
}

TEST(TraceErrors, UnknownFormat) {
    TempDir dir;
    const auto msg = error_of(dir.file("what.txt", "hello world, this is not a trace\n"));
    EXPECT_NE(msg.find("unknown trace format"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--format"), std::string::npos) << msg;
    const auto bin = error_of(dir.file("what.bin", std::string("\x01\x02\x03\0\0\0", 6)));
    EXPECT_NE(bin.find("unknown trace format"), std::string::npos) << bin;
}

TEST(TraceErrors, MissingFile) {
    const auto msg = error_of("/nonexistent/rbdtier/trace.csv");
    EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
}

TEST(TraceErrors, ForcedFormatThatDoesNotFit) {
    TempDir dir;
    TraceReaderOptions opt;
    opt.format = TraceFormat::kTencent;
    const auto msg = error_of(dir.file("msr.csv", "1,hm,1,Read,0,4096,1\n"), opt);
    EXPECT_NE(msg.find("line 1"), std::string::npos) << msg;
}

std::string record(std::uint16_t cmd, std::uint16_t ver) {
    std::string r(32, '\0');
    r[4] = 0x10;  // len 4096
    r[12] = static_cast<char>(cmd & 0xff);
    r[14] = static_cast<char>(ver & 0xff);
    r[15] = static_cast<char>(ver >> 8);
    return r;
}

TEST(TraceErrors, TruncatedBinaryRecord) {
    TempDir dir;
    const std::string good = record(0x28, 0x0100);
    const auto path = dir.file("t.vscsi", good + good + good.substr(0, 17));
    TraceReaderOptions opt;
    opt.format = TraceFormat::kVscsi;
    std::uint64_t at = 0;
    const auto msg = error_of(path, opt, &at);
    EXPECT_EQ(at, 3u);
    EXPECT_NE(msg.find("record 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated (17 of 32 bytes)"), std::string::npos) << msg;
}

TEST(TraceErrors, BinaryRecordWithWrongVersion) {
    TempDir dir;
    const std::string good = record(0x28, 0x0100);
    const auto path = dir.file("v.vscsi", good + good + record(0x28, 0x0200));
    TraceReaderOptions opt;
    opt.format = TraceFormat::kVscsi;
    const auto msg = error_of(path, opt);
    EXPECT_NE(msg.find("record 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not vscsi v1"), std::string::npos) << msg;
}

TEST(TraceErrors, VeryLongLineIsRefusedNotSwallowed) {
    TempDir dir;
    const auto path = dir.file("long.csv", "1,R,0,4096,1\n" + std::string(3 << 20, '7') + "\n");
    TraceReaderOptions opt;
    opt.format = TraceFormat::kAlibaba;
    const auto msg = error_of(path, opt);
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

TEST(TraceErrors, OutOfRangeValues) {
    TempDir dir;
    TraceReaderOptions opt;
    opt.format = TraceFormat::kAlibaba;
    EXPECT_NE(error_of(dir.file("big.csv", "1,R,0,99999999999999999999999,1\n"), opt)
                  .find("out of range"),
              std::string::npos);
    EXPECT_NE(error_of(dir.file("huge.csv", "1,R,0,8589934592,1\n"), opt).find("too large"),
              std::string::npos);
    opt.format = TraceFormat::kTencent;
    EXPECT_NE(error_of(dir.file("neg.csv", "-5,0,8,0,1\n"), opt).find("field 1"),
              std::string::npos);
}

// Microsecond times are signed 64-bit inside: a time beyond 2^63 - 1 is refused with its line,
// never wrapped to a negative time (whose distance to the next one overflows).
TEST(TraceErrors, TimesBeyondTheSignedRangeAreRefused) {
    TempDir dir;
    TraceReaderOptions opt;
    opt.format = TraceFormat::kAlibaba;
    std::uint64_t at = 0;
    std::string msg = error_of(
        dir.file("ali.csv", "1,R,0,4096,9223372036854775809\n1,R,0,4096,9223372036854775807\n"),
        opt, &at);
    EXPECT_EQ(at, 1u);
    EXPECT_NE(msg.find("field 5 (timestamp): out of range"), std::string::npos) << msg;
    opt.format = TraceFormat::kCloudPhysicsCsv;
    msg = error_of(
        dir.file("cp.csv", "1,9223372036854775809,28,4096,0\n1,9223372036854775807,28,4096,0\n"),
        opt, &at);
    EXPECT_EQ(at, 1u);
    EXPECT_NE(msg.find("field 2 (time): out of range"), std::string::npos) << msg;
}

// An offset + length past 2^62 bytes (4 EiB: where the engine's extent keys end, far past any
// RBD image), or one whose sum wraps 2^64, is refused with its line, never wrapped or aliased.
TEST(TraceErrors, RangesPastAnyLunAreRefusedWithTheirLine) {
    TempDir dir;
    const struct {
        const char* what;
        TraceFormat format;
        std::string second_line;  // the first line is a valid record of the format
        const char* first_line;
    } cases[] = {
        {"msr wraps", TraceFormat::kMsr, "128166372003061630,hm,1,Read,18446744073709551615,4096,1",
         "128166372003061629,hm,1,Read,0,4096,1"},
        {"alibaba wraps", TraceFormat::kAlibaba, "1,R,18446744073709547520,8192,2", "1,R,0,4096,1"},
        {"alibaba ends past 4 EiB", TraceFormat::kAlibaba, "1,R,4611686018427383808,8192,2",
         "1,R,0,4096,1"},
        {"alibaba starts at 4 EiB", TraceFormat::kAlibaba, "1,W,4611686018427387904,0,2",
         "1,R,0,4096,1"},
        {"spc sectors past 4 EiB", TraceFormat::kSpc, "0,9007199254740992,4096,r,0.1",
         "0,0,4096,r,0.0"},
        {"disksim sectors wrap", TraceFormat::kDiskSim, "1.0 0 36028797018963967 8 1",
         "0.5 0 0 8 1"},
        {"replayer wraps", TraceFormat::kReplayer, "2 0 18446744073709551615 4096 1",
         "1 0 0 4096 1"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        TraceReaderOptions opt;
        opt.format = c.format;
        std::uint64_t at = 0;
        const std::string msg = error_of(
            dir.file("t.trace", std::string(c.first_line) + "\n" + c.second_line + "\n"), opt, &at);
        EXPECT_EQ(at, 2u) << msg;
        EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
        EXPECT_NE(msg.find("is not within the first 2^62 bytes"), std::string::npos) << msg;
    }
    // The last bytes below 4 EiB are read.
    TraceReaderOptions opt;
    opt.format = TraceFormat::kAlibaba;
    EXPECT_EQ(error_of(dir.file("edge.csv", "1,R,4611686018427383808,4096,1\n"), opt), "");

    // A binary record: block 2^55 - 1 (byte 2^64 - 512), far past 2^62 but below 2^64 / 512.
    std::string rec = record(0x28, 0x0100);
    for (int i = 0; i < 6; ++i) rec[16 + i] = static_cast<char>(0xff);
    rec[22] = 0x7f;
    opt.format = TraceFormat::kVscsi;
    std::uint64_t at = 0;
    const std::string msg = error_of(dir.file("v.vscsi", record(0x28, 0x0100) + rec), opt, &at);
    EXPECT_EQ(at, 2u) << msg;
    EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is not within the first 2^62 bytes"), std::string::npos) << msg;
}

// Deterministic fuzz: corrupt bytes of valid traces; every outcome must be a clean read or a
// TraceError with a location inside the file, never a crash or another exception.
TEST(TraceErrors, CorruptedTracesNeverCrash) {
    TempDir dir;
    const std::string texts[] = {
        "128166372003061629,hm,1,Read,3154152960,32768,1255\n128166372003061639,hm,0,Write,0,"
        "512,1\n",
        "0,303567,3584,w,0.000000\n1,55590,3072,R,0.000454\n",
        "419,W,8532952064,4096,1577808000000162\n419,R,0,8192,1577808000000200\n",
        "1538323199,105352008,584,1,1576\n1538323200,40,8,0,1577\n",
        "938513000 4 264719034 16 0\n938828000 3 197570570 16 1\n",
        "1,1000,28,4096,2048\n1,2000,2a,8192,4096\n",
    };
    std::uint64_t state = 12345;
    auto rnd = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return state >> 33;
    };
    const char noise[] = ",,\n\r -x9Z\0\xff.e";
    int errors = 0, clean = 0;
    for (int round = 0; round < 600; ++round) {
        std::string t = texts[round % std::size(texts)];
        const int flips = 1 + static_cast<int>(rnd() % 3);
        for (int k = 0; k < flips; ++k) {
            const auto at = rnd() % t.size();
            if (rnd() % 4 == 0)
                t.erase(at, 1 + rnd() % 5);
            else
                t[at] = noise[rnd() % (sizeof noise - 1)];
            if (t.empty()) t = "x";
        }
        const auto path = dir.file("fuzz" + std::to_string(round), t);
        TraceReaderOptions opt;
        if (round % 2) opt.format = static_cast<TraceFormat>(1 + round / 2 % 6);
        if (const auto err = read_error(path, opt)) {
            ++errors;
            EXPECT_LE(err->location(), 4u) << err->what();
        } else {
            ++clean;
        }
    }
    // vscsi corruption: random records, truncated at random lengths.
    for (int round = 0; round < 200; ++round) {
        std::string b;
        const int n = 1 + static_cast<int>(rnd() % 4);
        for (int i = 0; i < n; ++i) b += record(static_cast<std::uint16_t>(rnd() & 0xff), 0x0100);
        for (auto& c : b)
            if (rnd() % 16 == 0) c = static_cast<char>(rnd());
        b.resize(rnd() % (b.size() + 1));
        const auto path = dir.file("vfuzz" + std::to_string(round), b);
        TraceReaderOptions opt;
        opt.format = TraceFormat::kVscsi;
        if (const auto err = read_error(path, opt)) {
            ++errors;
            EXPECT_LE(err->location(), 5u) << err->what();
        } else {
            ++clean;
        }
    }
    EXPECT_GT(errors, 100);
    EXPECT_GT(clean, 10);
}

}  // namespace
}  // namespace rbdtier
