// run_shell: runs one command line with /bin/sh (popen) and waits for it; returns its exit code
// (-1 when it could not be started or did not exit normally) and everything it wrote to stdout.
// Stderr is the caller's to redirect in the command line. run_split: the same with stderr kept
// apart (through a temporary file in `scratch_dir`), for checking a refusal's exit code and
// message. read_file: a file's whole content ("" when it cannot be read). Header-only, for tests
// that drive the `rbdtier` CLI.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
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

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct SplitRun {
    int code = -1;
    std::string out;
    std::string err;
};

inline SplitRun run_split(const std::string& command, const std::string& scratch_dir) {
    std::string err_path = scratch_dir + "/stderr.XXXXXX";
    const int fd = ::mkstemp(err_path.data());
    if (fd < 0) return {};
    ::close(fd);
    const ShellRun run = run_shell(command + " 2>" + err_path);
    SplitRun r{run.code, run.out, read_file(err_path)};
    std::remove(err_path.c_str());
    return r;
}

}  // namespace rbdtier::test_support
