// answer_admin_input: what the admin socket fuzzers do with one input: split it into requests as
// clients write them (each ended by a NUL or a newline; the last may end with the input), answer
// each as a session answers it (answer_admin_request) and abort when a reply is empty (every
// request gets a body: a JSON result or Ceph's "ERROR: (errno) ..." text). `each(request)` runs
// after each answer, for a target's own checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "handler/admin_socket.h"

template <class Each>
void answer_admin_input(const std::uint8_t* data, std::size_t size,
                        const rbdtier::AdminSocket::Handler& handler, Each each) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    while (!input.empty()) {
        const std::size_t end = input.find_first_of(std::string_view("\0\n", 2));
        const std::string_view request = input.substr(0, end);
        input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
        if (rbdtier::answer_admin_request(request, handler).empty()) std::abort();
        each(request);
    }
}
