#include "common/admin_protocol.h"

#include <arpa/inet.h>

#include <cstring>
#include <system_error>

namespace rbdtier {

std::string encode_admin_request(const nlohmann::json& request) {
    nlohmann::json command = request;
    command[kAdminFormatKey] = "json";
    std::string wire = command.dump();
    wire.push_back('\0');
    return wire;
}

std::size_t admin_request_end(std::string_view bytes, std::size_t from) {
    return bytes.find_first_of(std::string_view("\0\n", 2), from);
}

std::optional<std::string> admin_request_problem(const nlohmann::json& request) {
    if (request.is_discarded() || !request.is_object())
        return std::string("invalid request: not a JSON object");
    auto prefix = request.find(kAdminPrefixKey);
    if (prefix == request.end() || !prefix->is_string())
        return std::string("invalid request: no string \"prefix\"");
    return std::nullopt;
}

std::string admin_reply_body(const AdminReply& reply, bool pretty) {
    if (reply.error != 0) {  // "(22) Invalid argument": how Ceph's cpp_strerror() says an errno
        return "ERROR: (" + std::to_string(reply.error) + ") " +
               std::system_category().message(reply.error) + "\n" + reply.message + "\n";
    }
    std::string out =
        reply.result.dump(pretty ? 4 : -1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (pretty) out += '\n';
    return out;
}

std::string frame_admin_reply(std::string_view body) {
    const std::uint32_t length = htonl(static_cast<std::uint32_t>(body.size()));
    std::string wire(reinterpret_cast<const char*>(&length), sizeof(length));
    wire.append(body);
    return wire;
}

std::uint32_t admin_reply_length(std::string_view prefix) {
    std::uint32_t length = 0;
    std::memcpy(&length, prefix.data(), sizeof(length));
    return ntohl(length);
}

std::optional<AdminReply> parse_admin_reply_body(std::string_view body) {
    constexpr std::string_view kError = "ERROR: ";
    if (body.substr(0, kError.size()) == kError) {  // "ERROR: (22) Invalid argument\n<message>\n"
        AdminReply reply;
        reply.error = EIO;  // a gateway always names its errno; EIO if it did not
        const std::size_t open = body.find('(', kError.size());
        if (open == kError.size()) {
            int error = 0;
            std::size_t i = open + 1;
            while (i < body.size() && body[i] >= '0' && body[i] <= '9')
                error = error * 10 + (body[i++] - '0');
            if (i < body.size() && body[i] == ')' && error > 0) reply.error = error;
        }
        const std::size_t nl = body.find('\n');
        std::string_view message =
            nl == std::string_view::npos ? body.substr(kError.size()) : body.substr(nl + 1);
        while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
        if (message.empty())  // no message line: the errno's text stands for it
            message =
                body.substr(kError.size(), nl == std::string_view::npos ? std::string_view::npos
                                                                        : nl - kError.size());
        reply.message = std::string(message);
        return reply;
    }
    nlohmann::json result = nlohmann::json::parse(body, nullptr, false);
    if (result.is_discarded()) return std::nullopt;
    return AdminReply::ok(std::move(result));
}

}  // namespace rbdtier
