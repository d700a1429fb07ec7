// spawn_self: runs this test executable again, as the one test `test` (--gtest_filter), in a
// child process with this process's environment plus `extra_env` ("NAME=VALUE" each): for a
// test whose step may abort or hang the process it runs in. Returns the child's pid (the caller
// waits for it, or stops it by that pid), or -1 when it could not be started. Header-only.
#pragma once

#include <spawn.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace rbdtier::test_support {

inline pid_t spawn_self(const std::string& test, const std::vector<std::string>& extra_env) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string filter = "--gtest_filter=" + test;
    char* argv[] = {self.data(), filter.data(), nullptr};
    pid_t pid = -1;
    if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1;
    return pid;
}

}  // namespace rbdtier::test_support
