#include "lun_fixture.h"

#include <rados/librados.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "handler/lun_config.h"
#include "tests/support/mon_command.h"

namespace rbdtier::testing {

std::string ceph_conf() {
    const char* conf = std::getenv("RBDTIER_CEPH_CONF");
    return conf != nullptr ? conf : "";
}

HostCounters& host_counters() {
    static HostCounters counters;
    return counters;
}

namespace {

TestCommand* test_command_of(void* cmd) {
    auto* c = static_cast<tcmur_cmd*>(cmd);
    return static_cast<TestCommand*>(c->lib_cmd->hm_private);
}

void fake_complete(tcmu_device*, void* cmd, int status) {
    host_counters().completions++;
    test_command_of(cmd)->complete(status);
}

void fake_sense_info(std::uint8_t* sense, std::uint32_t info) {
    std::memset(sense, 0, 18);
    sense[0] = 0x80 | 0x70;  // VALID, fixed format
    sense[3] = static_cast<std::uint8_t>(info >> 24);
    sense[4] = static_cast<std::uint8_t>(info >> 16);
    sense[5] = static_cast<std::uint8_t>(info >> 8);
    sense[6] = static_cast<std::uint8_t>(info);
}

void fake_timed_out(tcmu_device*) {
    host_counters().timed_out++;
}
void fake_lock_lost(tcmu_device*) {
    host_counters().lock_lost++;
}

const char* fake_initiator(tcmu_device*, tcmur_cmd* cmd) {
    return static_cast<TestCommand*>(cmd->lib_cmd->hm_private)->initiator();
}

}  // namespace

TcmuHost fake_host() {
    TcmuHost host;
    host.complete = fake_complete;
    host.set_sense_info = fake_sense_info;
    host.notify_cmd_timed_out = fake_timed_out;
    host.notify_lock_lost = fake_lock_lost;
    host.initiator = fake_initiator;
    return host;
}

TestCommand::TestCommand(std::string initiator) : initiator_(std::move(initiator)) {
    cmd_.lib_cmd = &lib_;
    lib_.hm_private = this;
}

void TestCommand::complete(int status) {
    completions_++;
    std::lock_guard lock(mutex_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
}

int TestCommand::wait(std::chrono::seconds deadline) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, deadline, [&] { return done_; })) return -1000;
    return status_;
}

std::uint32_t TestCommand::sense_info() const {
    return (std::uint32_t{lib_.sense_buf[3]} << 24) | (std::uint32_t{lib_.sense_buf[4]} << 16) |
           (std::uint32_t{lib_.sense_buf[5]} << 8) | std::uint32_t{lib_.sense_buf[6]};
}

int write_lun(Lun& lun, std::uint64_t off, const std::vector<char>& data) {
    TestCommand c;
    iovec v{const_cast<char*>(data.data()), data.size()};
    return run([&](tcmur_cmd* cmd) { return lun.write(nullptr, cmd, &v, 1, data.size(), off); }, c);
}

int read_lun(Lun& lun, std::uint64_t off, std::vector<char>& data) {
    TestCommand c;
    iovec v{data.data(), data.size()};
    return run([&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, data.size(), off); }, c);
}

ScratchImage::ScratchImage(const std::string& pool, std::uint64_t size, const std::string& stem,
                           const std::string& data_pool)
    : pool_(pool), name_(unique_name(stem)) {
    ceph::ClusterOptions options;
    options.conf_path = ceph_conf();
    auto cluster = ceph::Cluster::connect(options);
    if (!cluster) {
        ADD_FAILURE() << cluster.status().message();
        return;
    }
    cluster_ = std::make_unique<ceph::Cluster>(std::move(cluster).value());
    auto io = ceph::IoContext::open(*cluster_, pool);
    if (!io) {
        ADD_FAILURE() << io.status().message();
        return;
    }
    io_ = std::make_unique<ceph::IoContext>(std::move(io).value());
    ceph::ImageCreateOptions create;
    create.data_pool = data_pool;
    ceph::Status st = ceph::create_image(*io_, name_, size, create);
    if (!st) {
        ADD_FAILURE() << st.message();
        return;
    }
    ok_ = true;
}

ScratchImage::~ScratchImage() {
    if (ok_) {
        ceph::Status st = ceph::remove_image(*io_, name_);
        EXPECT_TRUE(st.is_ok()) << st.message();
    }
}

std::string ScratchImage::cfgstring(const std::string& extra) const {
    std::string s = pool_ + "/" + name_ + ";conf=" + ceph_conf();
    if (!extra.empty()) s += ";" + extra;
    return s;
}

LunConfig ScratchImage::config(const std::string& extra) const {
    LunConfigParse parsed = parse_lun_config(cfgstring(extra));
    EXPECT_TRUE(parsed.config.has_value()) << parsed.error;
    return parsed.config.value_or(LunConfig{});
}

}  // namespace rbdtier::testing

namespace rbdtier::testing {

void expect_zero_length_commands_complete(Lun& lun, std::uint64_t size, std::uint32_t block) {
    std::vector<char> buf(2 * block, 'x');
    iovec one{buf.data(), buf.size()};
    iovec none{buf.data(), 0};
    for (const std::uint64_t off : {std::uint64_t{0}, size - block}) {
        struct Case {
            const char* what;
            std::function<int(tcmur_cmd*)> submit;
        };
        const Case cases[] = {
            {"READ, no iovec",
             [&](tcmur_cmd* c) { return lun.read(nullptr, c, nullptr, 0, 0, off); }},
            {"READ, empty iovec",
             [&](tcmur_cmd* c) { return lun.read(nullptr, c, &none, 1, 0, off); }},
            {"READ, a buffer", [&](tcmur_cmd* c) { return lun.read(nullptr, c, &one, 1, 0, off); }},
            {"WRITE, no iovec",
             [&](tcmur_cmd* c) { return lun.write(nullptr, c, nullptr, 0, 0, off); }},
            {"WRITE, a buffer",
             [&](tcmur_cmd* c) { return lun.write(nullptr, c, &one, 1, 0, off); }},
            {"UNMAP", [&](tcmur_cmd* c) { return lun.unmap(nullptr, c, off, 0); }},
            {"WRITE SAME",
             [&](tcmur_cmd* c) { return lun.write_same(nullptr, c, off, 0, &one, 1); }},
            {"COMPARE AND WRITE",
             [&](tcmur_cmd* c) { return lun.compare_and_write(nullptr, c, off, 0, &one, 1); }},
        };
        for (const Case& k : cases) {
            TestCommand c;
            EXPECT_EQ(run(k.submit, c), TCMU_STS_OK) << k.what << " of 0 blocks at " << off;
        }
    }
}

int mon_command(ceph::Cluster& cluster, const std::string& json, std::string* out) {
    return test_support::mon_command(cluster.handle(), json, out);
}

int cluster_sh(const std::string& verb, int osd, const std::string& flag) {
    std::string cmd = std::string("'") + std::getenv("RBDTIER_CLUSTER_SH") + "' " + verb + " '" +
                      std::getenv("RBDTIER_CLUSTER_DIR") + "' " + std::to_string(osd) + " " + flag;
    return std::system(cmd.c_str());
}

}  // namespace rbdtier::testing
