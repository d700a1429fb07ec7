// mon_command: one JSON command to the monitors through a connected librados client, for tests
// that change the cluster (blocklist an address, make a pool or a CRUSH rule). Returns 0 or the
// negative errno; `out` gets the reply, `status` the monitor's text (its reason on failure).
// Header-only; synchronous.
#pragma once

#include <rados/librados.h>

#include <cstddef>
#include <string>

namespace rbdtier::test_support {

inline int mon_command(rados_t cluster, const std::string& json, std::string* out = nullptr,
                       std::string* status = nullptr) {
    const char* cmds[] = {json.c_str()};
    char* buf = nullptr;
    std::size_t buf_len = 0;
    char* status_buf = nullptr;
    std::size_t status_len = 0;
    const int rc =
        rados_mon_command(cluster, cmds, 1, "", 0, &buf, &buf_len, &status_buf, &status_len);
    if (out != nullptr) out->assign(buf != nullptr ? buf : "", buf_len);
    if (status != nullptr) status->assign(status_buf != nullptr ? status_buf : "", status_len);
    rados_buffer_free(buf);
    rados_buffer_free(status_buf);
    return rc;
}

}  // namespace rbdtier::test_support
