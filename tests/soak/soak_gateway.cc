// soak_gateway: one gateway of the fault soak — a process that loads handler_rbdtier.so through
// the harness, as tcmu-runner does, and serves its LUNs with ALUA implicit failover (a command
// takes the LUN's lock over from the other gateway). The soak driver sends it commands on stdin
// and reads the outcomes on stdout, one line each.
//
// Usage: soak_gateway --handler SO --lun CFG@BYTES [--lun CFG@BYTES ...]
// Requests "<id> <op> <lun index> ..." with op:
//   w LBA BLOCKS SEED         WRITE of block_pattern(SEED)
//   r LBA BLOCKS              READ; the payload is one fingerprint per block, hex, comma-separated
//   u LBA BLOCKS              UNMAP of one range
//   s LBA BLOCKS SEED UNMAP   WRITE SAME of one block of block_pattern(SEED), UNMAP bit 0|1
//   c LBA BLOCKS HEX SEED     COMPARE AND WRITE: compare HEX, write block_pattern(SEED)
//   f                         SYNCHRONIZE CACHE
// Replies "<id> ok [payload]", "<id> miscompare OFFSET" or "<id> err WHAT". "ready" is printed
// once every LUN is open. Each request runs on a thread of its own (the driver chooses the
// queue depth); BUSY answers are retried as an initiator does. End of input: the LUNs are closed
// and the process exits 0.
#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "soak_data.h"
#include "tests/harness/harness.h"

namespace rbdtier::soak {
namespace {

constexpr std::uint32_t kBlock = 512;

std::mutex out_mutex;

void reply(const std::string& line) {
    std::lock_guard lock(out_mutex);
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string outcome(const std::string& id, const harness::Result& r) {
    if (r.tcmu_status == TCMU_STS_MISCOMPARE) {
        return id + " miscompare " + std::to_string(r.sense_view().info());
    }
    if (!r.ok()) return id + " err " + r.describe();
    return id + " ok";
}

std::string serve(harness::Device& dev, std::istringstream& in, const std::string& id,
                  const std::string& op) {
    std::uint64_t lba = 0, blocks = 0, seed = 0;
    if (op == "f") return outcome(id, dev.sync(true));
    in >> lba >> blocks;
    const std::size_t bytes = blocks * kBlock;
    if (op == "w") {
        in >> seed;
        const auto data = block_pattern(seed, bytes);
        return outcome(id, dev.write(lba, data.data(), bytes));
    }
    if (op == "r") {
        std::vector<char> data(bytes);
        const harness::Result r = dev.read(lba, data.data(), bytes);
        if (!r.ok()) return outcome(id, r);
        std::string prints;
        for (std::uint64_t b = 0; b < blocks; ++b) {
            char hex[24];
            std::snprintf(
                hex, sizeof hex, "%s%016llx", b ? "," : "",
                static_cast<unsigned long long>(fingerprint(data.data() + b * kBlock, kBlock)));
            prints += hex;
        }
        return id + " ok " + prints;
    }
    if (op == "u") {
        const harness::LbaRange range{lba, static_cast<std::uint32_t>(blocks)};
        return outcome(id, dev.unmap({&range, 1}));
    }
    if (op == "s") {
        int unmap = 0;
        in >> seed >> unmap;
        // Seed 0: a block of zeros (with UNMAP, the usual way to deallocate).
        const auto block = seed == 0 ? std::vector<char>(kBlock, 0) : block_pattern(seed, kBlock);
        return outcome(
            id, dev.write_same(lba, static_cast<std::uint32_t>(blocks), block.data(), unmap != 0));
    }
    if (op == "c") {
        std::string hex;
        in >> hex >> seed;
        const auto compare = from_hex(hex);
        const auto data = block_pattern(seed, bytes);
        if (compare.size() != bytes) return id + " err compare data of the wrong size";
        return outcome(id, dev.compare_and_write(lba, compare.data(), data.data(),
                                                 static_cast<std::uint8_t>(blocks)));
    }
    return id + " err unknown op " + op;
}

int run(const std::string& handler, const std::vector<std::string>& luns) {
    harness::Harness h(handler);
    std::vector<std::unique_ptr<harness::Device>> devices;
    for (const auto& spec : luns) {
        const auto at = spec.rfind('@');
        harness::DeviceConfig config;
        config.cfg = spec.substr(0, at);
        config.size_bytes = std::stoull(spec.substr(at + 1));
        config.implicit_failover = true;
        config.busy_retry = std::chrono::milliseconds(60000);
        devices.push_back(h.open(config));
    }
    reply("ready");
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t active = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
        {
            std::lock_guard lock(mutex);
            ++active;
        }
        std::thread([&, line] {
            const auto done = [&] {
                std::lock_guard lock(mutex);
                if (--active == 0) idle.notify_all();
            };
            std::istringstream in(line);
            std::string id, op;
            std::size_t lun = 0;
            in >> id >> op >> lun;
            if (lun >= devices.size()) {
                reply(id + " err no LUN " + std::to_string(lun));
            } else {
                reply(serve(*devices[lun], in, id, op));
            }
            done();
        }).detach();
    }
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return active == 0; });
    devices.clear();
    return 0;
}

}  // namespace
}  // namespace rbdtier::soak

int main(int argc, char** argv) {
    CLI::App app{"one gateway of the rbdtier fault soak"};
    std::string handler;
    std::vector<std::string> luns;
    app.add_option("--handler", handler, "handler .so")->required();
    app.add_option("--lun", luns, "CFG@BYTES")->required();
    CLI11_PARSE(app, argc, argv);
    try {
        return rbdtier::soak::run(handler, luns);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "soak_gateway: %s\n", e.what());
        return 1;
    }
}
