// Each reader on small generated fixtures and on the real DiskSim sample; detection; MSR
// round trip of a synthetic workload; chunk boundaries of a file larger than the read buffer.
#include "engine/trace/trace_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/replay/workload_generator.h"
#include "engine/trace/msr_writer.h"
#include "engine/trace/trace_error.h"
#include "tests/support/temp_dir.h"

namespace rbdtier {
namespace {

using rbdtier::testing::TempDir;

std::vector<IoEvent> read_all(const std::string& path, TraceReaderOptions opt = {},
                              TraceFormat* format = nullptr, VolumeTable* volumes = nullptr,
                              std::uint64_t* skipped = nullptr) {
    auto reader = TraceReader::open(path, opt);
    std::vector<IoEvent> out;
    IoEvent e;
    while (reader->next(e)) out.push_back(e);
    if (format) *format = reader->format();
    if (volumes) *volumes = reader->volumes();
    if (skipped) *skipped = reader->skipped();
    return out;
}

// The events of a trace file `name` holding `text`, read with the format detected; expects the
// detection to find `format`.
std::vector<IoEvent> read_detected(const std::string& name, const std::string& text,
                                   TraceFormat format, VolumeTable* volumes = nullptr,
                                   std::uint64_t* skipped = nullptr) {
    TempDir dir;
    TraceFormat detected = TraceFormat::kAuto;
    auto ev = read_all(dir.file(name, text), {}, &detected, volumes, skipped);
    EXPECT_EQ(detected, format) << name;
    return ev;
}

TEST(TraceReader, Msr) {
    VolumeTable v;
    const auto ev = read_detected("msr.csv",
                                  "128166372003061629,hm,1,Read,3154152960,32768,1255\n"
                                  "128166372016382155,prxy,0,Write,1235955712,4096,2082\r\n"
                                  "128166372026382245,hm,1,write,3154185728,65536,0\n",
                                  TraceFormat::kMsr, &v);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].time_us, 0u);
    EXPECT_EQ(ev[1].time_us, 128166372016382155ull / 10 - 128166372003061629ull / 10);
    EXPECT_EQ(ev[0].offset, 3154152960u);
    EXPECT_EQ(ev[0].length, 32768u);
    EXPECT_EQ(ev[0].latency_us, 125u);
    EXPECT_EQ(ev[0].op, IoOp::kRead);
    EXPECT_EQ(ev[1].op, IoOp::kWrite);
    EXPECT_EQ(ev[2].op, IoOp::kWrite);
    EXPECT_EQ(ev[0].lun, ev[2].lun);
    EXPECT_NE(ev[0].lun, ev[1].lun);
    EXPECT_EQ(v.luns.names()[ev[0].lun], "hm/1");
    EXPECT_EQ(v.initiators.names()[ev[1].initiator], "prxy");
}

TEST(TraceReader, Spc) {
    const auto ev = read_detected("spc.csv",
                                  "0,303567,3584,w,0.000000\n"
                                  "1,55590,3072,R,0.000454\n"
                                  "0,10,512,r,1.5\n",
                                  TraceFormat::kSpc);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].offset, 303567u * 512);
    EXPECT_EQ(ev[0].length, 3584u);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_EQ(ev[1].time_us, 454u);
    EXPECT_EQ(ev[2].time_us, 1'500'000u);
    EXPECT_EQ(ev[0].lun, ev[2].lun);
    EXPECT_NE(ev[0].lun, ev[1].lun);
}

TEST(TraceReader, AlibabaWithHeader) {
    const auto ev = read_detected("ali.csv",
                                  "device_id,opcode,offset,length,timestamp\n"
                                  "419,W,8532952064,4096,1577808000000162\n"
                                  "419,R,8532956160,8192,1577808000000200\n"
                                  "7,W,0,4096,1577808000001162\n",
                                  TraceFormat::kAlibaba);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[1].time_us, 38u);
    EXPECT_EQ(ev[2].time_us, 1000u);
    EXPECT_EQ(ev[1].offset, 8532956160u);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_NE(ev[0].lun, ev[2].lun);
}

TEST(TraceReader, Tencent) {
    const auto ev = read_detected("tencent.csv",
                                  "1538323199,105352008,584,1,1576\n"
                                  "1538323200,40,8,0,1577\n",
                                  TraceFormat::kTencent);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].offset, 105352008ull * 512);
    EXPECT_EQ(ev[0].length, 584u * 512);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_EQ(ev[1].time_us, 1'000'000u);
    EXPECT_NE(ev[0].lun, ev[1].lun);
}

TEST(TraceReader, CloudPhysicsCsvSkipsOtherCommands) {
    std::uint64_t skipped = 0;
    const auto ev = read_detected("cp.csv",
                                  "1,1000,28,4096,2048\n"
                                  "1,1500,35,0,0\n"
                                  "1,2000,2a,8192,4096\n",
                                  TraceFormat::kCloudPhysicsCsv, nullptr, &skipped);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(skipped, 1u);
    EXPECT_EQ(ev[0].op, IoOp::kRead);
    EXPECT_EQ(ev[1].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].time_us, 1000u);
    EXPECT_EQ(ev[1].offset, 4096u * 512);
}

std::string vscsi_record(std::uint32_t sn, std::uint32_t len, std::uint16_t cmd, std::uint64_t lbn,
                         std::uint64_t ts, std::uint16_t ver = 0x0100) {
    std::string r(32, '\0');
    auto put = [&](std::size_t at, std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) r[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put(0, sn, 4);
    put(4, len, 4);
    put(8, 1, 4);
    put(12, cmd, 2);
    put(14, ver, 2);
    put(16, lbn, 8);
    put(24, ts, 8);
    return r;
}

TEST(TraceReader, VscsiBinary) {
    std::uint64_t skipped = 0;
    const auto ev = read_detected(
        "trace.vscsi",
        vscsi_record(1, 4096, 0x28, 100, 5000) + vscsi_record(2, 0, 0x00, 0, 5100) +
            vscsi_record(3, 65536, 0x2a, 200, 7000) + vscsi_record(4, 512, 0x88, 1, 9000),
        TraceFormat::kVscsi, nullptr, &skipped);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(skipped, 1u);
    EXPECT_EQ(ev[0].offset, 100u * 512);
    EXPECT_EQ(ev[1].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].length, 65536u);
    EXPECT_EQ(ev[1].time_us, 2000u);
    EXPECT_EQ(ev[2].op, IoOp::kRead);
}

void check_disksim_sample(const std::vector<IoEvent>& ev, const VolumeTable& v) {
    ASSERT_GT(ev.size(), 100u);
    EXPECT_EQ(ev[0].time_us, 0u);
    EXPECT_EQ(ev[1].time_us, 315u);  // 938828000 - 938513000 ns
    EXPECT_EQ(ev[0].offset, 264719034ull * 512);
    EXPECT_EQ(ev[0].length, 16u * 512);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);  // flags 0
    EXPECT_EQ(v.luns.names()[ev[0].lun], "dev4");
    EXPECT_EQ(v.luns.names()[ev[2].lun], "dev13");
}

TEST(TraceReader, DiskSimInNanoseconds) {
    TempDir dir;
    TraceReaderOptions opt;
    opt.disksim_time_unit = TimeUnit::kNanoseconds;
    TraceFormat f;
    const auto ev =
        read_all(dir.file("ns.trace", "1000000 4 100 16 0\n1315000 3 7 8 1\n"), opt, &f);
    EXPECT_EQ(f, TraceFormat::kDiskSim);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[1].time_us, 315u);
    EXPECT_EQ(ev[0].offset, 100u * 512);
    EXPECT_EQ(ev[0].length, 16u * 512);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
}

TEST(TraceReader, ReplayerLayoutIsBytesNotSectors) {
    VolumeTable v;
    const auto ev = read_detected("flashnet.trace",
                                  "0.000 0 200626176 4096 0\n"
                                  "223.412 0 3159347200 36864 1\n"
                                  "223.5 2 512 512 1\n",
                                  TraceFormat::kReplayer, &v);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].offset, 200626176u);
    EXPECT_EQ(ev[0].length, 4096u);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_EQ(ev[1].time_us, 223412u);
    EXPECT_EQ(ev[1].length, 36864u);
    EXPECT_EQ(v.luns.names()[ev[2].lun], "dev2");
    EXPECT_NE(ev[0].lun, ev[2].lun);
}

const char* const kBlkReplay =
    "Copyright someone\n"
    "\n"
    "free text; with a semicolon\n"
    "#####\n"
    "start ; sector; length ; op ;  replay_delay=0 ; replay_duration=0\n"
    "      0.000000000 ;     49339162 ;    3 ; W ; 0.0 ; 0.0\n"
    "      0.300422537 ;     13108142 ;    8 ; R ; 0.0 ; 0.0\n"
    "start ; sector; length ; op ;  replay_delay=0 ; replay_duration=0\n"
    "   3057.138185628 ;     12889353 ;    8 ; w ; 0.0 ; 0.0\n";

void check_blkreplay(const std::vector<IoEvent>& ev) {
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].offset, 49339162ull * 512);
    EXPECT_EQ(ev[0].length, 3u * 512);
    EXPECT_EQ(ev[0].op, IoOp::kWrite);
    EXPECT_EQ(ev[1].op, IoOp::kRead);
    EXPECT_EQ(ev[1].time_us, 300423u);
    EXPECT_EQ(ev[2].time_us, 3057138186u);
    EXPECT_EQ(ev[2].op, IoOp::kWrite);
    EXPECT_EQ(ev[0].lun, ev[2].lun);
}

TEST(TraceReader, BlkReplaySkipsFreeTextAndRepeatedHeaders) {
    check_blkreplay(read_detected("x.load", kBlkReplay, TraceFormat::kBlkReplay));
}

TEST(TraceReader, GzipIsReadTransparently) {
    TempDir dir;
    const std::string path = dir.file("x.load.gz", "");
    gzFile gz = gzopen(path.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, kBlkReplay, static_cast<unsigned>(std::strlen(kBlkReplay))),
              static_cast<int>(std::strlen(kBlkReplay)));
    ASSERT_EQ(gzclose(gz), Z_OK);
    TraceFormat f = TraceFormat::kAuto;
    check_blkreplay(read_all(path, {}, &f));
    EXPECT_EQ(f, TraceFormat::kBlkReplay);
}

TEST(TraceReader, DamagedGzipIsAnError) {
    TempDir dir;
    std::string bytes("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate", 30);
    const std::string path = dir.file("bad.gz", bytes);
    EXPECT_THROW(read_all(path, {.format = TraceFormat::kBlkReplay}), TraceError);
}

TEST(TraceReader, DiskSimFullRealSample) {
    const std::string path = RBDTIER_DISKSIM_SAMPLE;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
    TraceReaderOptions opt;
    opt.disksim_time_unit = TimeUnit::kNanoseconds;
    VolumeTable v;
    const auto ev = read_all(path, opt, nullptr, &v);
    EXPECT_EQ(ev.size(), 6999u);
    EXPECT_EQ(v.luns.names().size(), 16u);
    check_disksim_sample(ev, v);
    std::uint64_t reads = 0;
    for (const auto& e : ev) reads += e.op == IoOp::kRead;
    EXPECT_EQ(reads, 4381u);
    EXPECT_EQ(ev.back().time_us, (1075002000ull - 938513000ull) / 1000);
}

TEST(TraceReader, DiskSimDefaultUnitIsMilliseconds) {
    TempDir dir;
    const auto path = dir.file("d.trace", "0.5 0 100 8 1\n2.25 1 200 8 0\n");
    const auto ev = read_all(path);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[1].time_us, 1750u);
    EXPECT_EQ(ev[0].op, IoOp::kRead);
}

TEST(TraceReader, MsrRoundTripOfASyntheticWorkload) {
    WorkloadParams p;
    p.duration_s = 120;
    p.iops = 300;
    const auto original = generate_workload(WorkloadKind::kDiurnal, p);
    TempDir dir;
    const auto path = dir.path("diurnal.csv");
    write_msr_csv(path, original);
    VolumeTable v;
    TraceFormat f;
    const auto back = read_all(path, {}, &f, &v);
    EXPECT_EQ(f, TraceFormat::kMsr);
    ASSERT_EQ(back.size(), original.size());
    const std::uint64_t t0 = original.front().time_us;
    for (std::size_t i = 0; i < back.size(); ++i) {
        ASSERT_EQ(back[i].time_us, original[i].time_us - t0) << i;
        ASSERT_EQ(back[i].offset, original[i].offset) << i;
        ASSERT_EQ(back[i].length, original[i].length) << i;
        ASSERT_EQ(back[i].op, original[i].op) << i;
        ASSERT_EQ(v.luns.names()[back[i].lun], "host" + std::to_string(original[i].initiator) +
                                                   "/" + std::to_string(original[i].lun));
    }
}

TEST(TraceReader, LargerThanTheReadBufferStreamsAcrossChunks) {
    TempDir dir;
    const auto path = dir.path("big.csv");
    {
        std::ofstream out(path);
        for (int i = 0; i < 120000; ++i)
            out << i * 7 << ",R," << i * 4096ull << ",4096," << 1000000 + i << "\n";
    }
    ASSERT_GT(std::filesystem::file_size(path), 2u << 20);
    const auto ev = read_all(path);
    ASSERT_EQ(ev.size(), 120000u);
    for (std::size_t i = 0; i < ev.size(); ++i) {
        ASSERT_EQ(ev[i].offset, i * 4096ull);
        ASSERT_EQ(ev[i].time_us, i);
    }
}

TEST(TraceReader, LoadTraceSortsAndLimits) {
    TempDir dir;
    const auto path = dir.file("ali.csv",
                               "1,R,0,4096,100\n1,R,4096,4096,300\n1,R,8192,4096,200\n"
                               "1,R,0,4096,400\n");
    const auto all = load_trace(path, {});
    ASSERT_EQ(all.events.size(), 4u);
    EXPECT_EQ(all.events[1].offset, 8192u);
    EXPECT_EQ(all.events[2].offset, 4096u);
    const auto two = load_trace(path, {}, 2);
    EXPECT_EQ(two.events.size(), 2u);
}

TEST(TraceFormatNames, RoundTrip) {
    for (auto f : all_trace_formats()) EXPECT_EQ(parse_trace_format(trace_format_name(f)), f);
    EXPECT_EQ(parse_trace_format("auto"), TraceFormat::kAuto);
    EXPECT_FALSE(parse_trace_format("csv").has_value());
    EXPECT_EQ(parse_time_unit("ns"), TimeUnit::kNanoseconds);
    EXPECT_FALSE(parse_time_unit("h").has_value());
}

}  // namespace
}  // namespace rbdtier
