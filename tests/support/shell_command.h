// run_shell: runs one command line with /bin/sh (popen) and waits for it; returns its exit code
// (-1 when it could not be started or did not exit normally) and everything it wrote to stdout.
// Stderr is the caller's to redirect in the command line. Header-only, for tests that drive the
// `rbdtier` CLI.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace rbdtier::test_support {

struct ShellRun {
    int code = -1;
    std::string out;
};

inline ShellRun run_shell(const std::string& command) {
    ShellRun r;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace rbdtier::test_support
