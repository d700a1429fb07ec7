#include "so_gateway.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace rbdtier::so_test {

std::string ceph_conf() {
    const char* c = std::getenv("RBDTIER_CEPH_CONF");
    return c != nullptr ? c : "";
}

CliRun run_command(const std::string& command) {
    return test_support::run_shell(command + " 2>&1");
}

nlohmann::json cli_json(const std::string& args, const std::string& socket) {
    const CliRun r = run_command(std::string(RBDTIER_CLI_PATH) + " " + args +
                                 " --format json --socket " + socket);
    EXPECT_EQ(r.code, 0) << args << ": " << r.out;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args << ": " << r.out;
    return j;
}

GatewayConf::GatewayConf(const std::string& body_after_socket, bool with_socket) {
    char tmpl[] = "/tmp/rbdtier-so-gw.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    socket_ = dir_ + "/gw.asok";
    path_ = dir_ + "/rbdtier.conf";
    rewrite(body_after_socket, with_socket);
    ::setenv("RBDTIER_CONF", path_.c_str(), 1);
}

GatewayConf::~GatewayConf() {
    ::unsetenv("RBDTIER_CONF");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void GatewayConf::rewrite(const std::string& body_after_socket, bool with_socket) const {
    std::ofstream out(path_, std::ios::trunc);
    if (with_socket) out << "admin_socket = " << socket_ << "\n";
    out << body_after_socket;
}

IoLoop::IoLoop(harness::Device& dev, std::uint64_t size, std::string_view initiator,
               std::chrono::milliseconds pace)
    : dev_(dev), size_(size), initiator_(initiator), pace_(pace) {
    thread_ = std::thread([this] { run(); });
}

void IoLoop::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string IoLoop::first_failure() const {
    std::lock_guard lock(mutex_);
    return first_failure_;
}

void IoLoop::fail(const std::string& what) {
    failed_.fetch_add(1);
    std::lock_guard lock(mutex_);
    if (first_failure_.empty()) first_failure_ = what;
}

void IoLoop::run() {
    std::vector<char> data(64 * 1024);
    std::vector<char> back(data.size());
    auto next = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; !stop_; ++i) {
        if (pace_.count() > 0) {
            std::this_thread::sleep_until(next);  // pacing the workload, not a wait
            next = std::max(next + pace_, std::chrono::steady_clock::now());
        }
        const std::uint64_t off = (i * 5 * 1024 * 1024 + i * 4096) % (size_ - data.size());
        const std::uint64_t lba = off / 512;
        for (std::size_t k = 0; k < data.size(); ++k) data[k] = static_cast<char>(i + k * 13);
        harness::Result w = dev_.write(lba, data.data(), data.size(), initiator_);
        if (!w.ok()) {
            fail("write: " + w.describe());
            continue;
        }
        harness::Result r = dev_.read(lba, back.data(), back.size(), initiator_);
        if (!r.ok()) {
            fail("read: " + r.describe());
            continue;
        }
        if (back != data) {
            fail("data read back differs at lba " + std::to_string(lba));
            continue;
        }
        done_.fetch_add(1);
    }
}

const nlohmann::json* find_named(const nlohmann::json& array, const std::string& name) {
    for (const auto& e : array)
        if (e.value("name", "") == name) return &e;
    return nullptr;
}

}  // namespace rbdtier::so_test
