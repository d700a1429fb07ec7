// TempDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed with its files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rbdtier::testing {

class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/rbdtier-test-XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        path_ = templ;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(std::string_view name, std::string_view content) const {
        const auto p = (path_ / name).string();
        std::ofstream out(p, std::ios::binary);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        return p;
    }
    std::string path(std::string_view name) const { return (path_ / name).string(); }
    const std::filesystem::path& root() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace rbdtier::testing
