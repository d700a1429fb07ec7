// InitiatorNames: the name behind each id, kept once, bounded; id 0 (unknown) has none.
#include "handler/initiator_names.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace rbdtier {
namespace {

TEST(InitiatorNames, NamesTheIdsSeen) {
    InitiatorNames names;
    const char* a = "iqn.2026-01.org.example:a";
    const char* b = "iqn.2026-01.org.example:b";
    names.note(name_id(a), a);
    names.note(name_id(b), b);
    names.note(name_id(a), a);
    names.note(0, nullptr);
    EXPECT_EQ(names.name_of(name_id(a)), a);
    EXPECT_EQ(names.name_of(name_id(b)), b);
    EXPECT_EQ(names.name_of(0), std::nullopt);
    EXPECT_EQ(names.name_of(12345), std::nullopt);
}

TEST(InitiatorNames, KeepsAtMostItsBoundFromManyThreads) {
    InitiatorNames names;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&names, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::string n = "iqn.x:" + std::to_string((i * 7 + t) % 1500);
                names.note(name_id(n.c_str()), n.c_str());
            }
        });
    for (auto& th : threads) th.join();
    std::size_t named = 0;
    for (int i = 0; i < 1500; ++i) {
        const std::string n = "iqn.x:" + std::to_string(i);
        if (auto got = names.name_of(name_id(n.c_str()))) {
            EXPECT_EQ(*got, n);
            ++named;
        }
    }
    EXPECT_EQ(named, InitiatorNames::kMaxNames);
}

}  // namespace
}  // namespace rbdtier
