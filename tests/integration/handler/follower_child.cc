// follower_child: a second gateway of a tiered LUN in a process of its own, so that a test can
// freeze it (SIGSTOP) while the cluster and the LUN's owner go on, as a host that hangs does.
//
//   follower_child CFGSTRING SIZE
// opens the LUN (build_lun, a fake tcmu host) without its lock, prints "ready" and then answers
// one line on stdout for each line on stdin:
//   read OFF LEN PATH   -> "ok" once the READ's data is written to PATH, else "status N"
//   routing             -> the placement watch's routing ("valid", "suspended", ...)
// It exits at the end of its input, closing the LUN.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ceph/placement_watch.h"
#include "handler/lun_config.h"
#include "handler/tiered_lun.h"
#include "lun_fixture.h"

int main(int argc, char** argv) {
    using namespace rbdtier;
    if (argc != 3) {
        std::cerr << "usage: follower_child CFGSTRING SIZE\n";
        return 2;
    }
    const LunConfigParse parsed = parse_lun_config(argv[1]);
    if (!parsed.config) {
        std::cerr << "follower_child: " << parsed.error << "\n";
        return 2;
    }
    const std::uint64_t size = std::stoull(argv[2]);
    auto lun = build_lun(*parsed.config, LunGeometry{size, 512}, rbdtier::testing::fake_host());
    if (!lun || (*lun)->tiered_lun() == nullptr) {
        std::cerr << "follower_child: " << (lun ? "not tiered" : lun.status().message()) << "\n";
        return 1;
    }
    std::cout << "ready" << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
        std::istringstream words(line);
        std::string verb;
        words >> verb;
        if (verb == "read") {
            std::uint64_t off = 0, len = 0;
            std::string path;
            words >> off >> len >> path;
            std::vector<char> data(len);
            const int status = rbdtier::testing::read_lun(**lun, off, data);
            if (status == TCMU_STS_OK) {
                std::ofstream(path, std::ios::binary)
                    .write(data.data(), static_cast<std::streamsize>(len));
                std::cout << "ok" << std::endl;
            } else {
                std::cout << "status " << status << std::endl;
            }
        } else if (verb == "routing") {
            std::cout << (*lun)->tiered_lun()->placement_watch()->routing() << std::endl;
        } else {
            std::cout << "unknown " << verb << std::endl;
        }
    }
    return 0;
}
