// crash_child POOL IMAGE SIZE EXTENT TO_POOL: opens a tiered LUN and migrates one extent, with
// RBDTIER_CRASH_AT (copy|verify|commit) set by the parent so that it dies by SIGKILL there.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tiered_storage_fixture.h"

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: crash_child POOL IMAGE SIZE EXTENT TO_POOL\n");
        return 2;
    }
    try {
        auto lun = rbdtier::test::TieredStorage::open(argv[1], argv[2], std::stoull(argv[3]));
        lun->remove_all_on_exit(false);
        auto to = lun->images().index_of(argv[5]);
        if (!to) throw std::runtime_error(std::string("unknown pool ") + argv[5]);
        rbdtier::MigrationRecord record;
        auto s = lun->migrator().migrate(std::stoull(argv[4]), *to, record);
        std::printf("%s\n", s.is_ok() ? "moved" : s.message().c_str());
        return s.is_ok() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crash_child: %s\n", e.what());
        return 1;
    }
}
