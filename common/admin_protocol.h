// The gateway's admin-socket protocol, shared by the `rbdtier` CLI (cli/admin_client.h) and the
// gateway (handler/admin_socket.h, handler/admin_commands.h): the command names, the request's
// framing, the reply's framing and its two shapes. It is the admin socket protocol of the Ceph
// daemons, so `ceph daemon PATH CMD` speaks it too.
//
// One exchange per connection:
//   request  a JSON object whose "prefix" names the command (kCommand* below), the command's
//            arguments beside it ("lun", "range", ...), ended by a NUL byte (a newline also ends
//            it). "format":"json" asks for a compact reply; without it the result is
//            pretty-printed.
//   reply    a 4-byte big-endian length, then that many bytes: the command's result as JSON, or
//            "ERROR: (<errno>) <strerror>\n<message>\n" when the gateway refuses or fails it.
// Pure functions on bytes and JSON: no sockets, no Ceph; nothing here throws but where said.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace rbdtier {

// The request's keys the protocol itself reads; commands read their own arguments.
inline constexpr const char* kAdminPrefixKey = "prefix";
inline constexpr const char* kAdminFormatKey = "format";
inline constexpr const char* kAdminLunKey = "lun";

// The commands, by the "prefix" that names them (descriptions in handler/admin_commands.h).
inline constexpr const char* kCommandStatus = "status";
inline constexpr const char* kCommandHealth = "health";
inline constexpr const char* kCommandLunList = "lun list";
inline constexpr const char* kCommandLunShow = "lun show";
inline constexpr const char* kCommandLunEvacuate = "lun evacuate";
inline constexpr const char* kCommandTierList = "tier list";
inline constexpr const char* kCommandMigrations = "migrations";
inline constexpr const char* kCommandMap = "map";
inline constexpr const char* kCommandHeat = "heat";
inline constexpr const char* kCommandForecastAccuracy = "forecast accuracy";
inline constexpr const char* kCommandAlerts = "alerts";
inline constexpr const char* kCommandPin = "pin";
inline constexpr const char* kCommandUnpin = "unpin";
inline constexpr const char* kCommandPause = "pause";
inline constexpr const char* kCommandResume = "resume";
inline constexpr const char* kCommandScrub = "scrub";
inline constexpr const char* kCommandScrubStatus = "scrub status";
inline constexpr const char* kCommandReload = "reload";
inline constexpr const char* kCommandVersion = "version";
inline constexpr const char* kCommandHelp = "help";
inline constexpr const char* kCommandDescriptions = "get_command_descriptions";

// The bytes a reply's length takes, and the largest reply a client accepts.
inline constexpr std::size_t kAdminLengthBytes = 4;
inline constexpr std::uint32_t kAdminMaxReplyBytes = 256u << 20;

// What a command answers: its result, or an errno and a message.
struct AdminReply {
    int error = 0;  // 0: success; else a positive errno (EINVAL, ENOENT, ...)
    std::string message;
    nlohmann::json result;

    static AdminReply ok(nlohmann::json result) { return {0, {}, std::move(result)}; }
    static AdminReply failure(int error, std::string message) {
        return {error, std::move(message), nullptr};
    }
};

// A request on the wire: `request` with "format":"json", then the NUL that ends it.
std::string encode_admin_request(const nlohmann::json& request);

// Where the request in `bytes` ends (its NUL or newline), searching from `from`; npos when it
// has not ended yet.
std::size_t admin_request_end(std::string_view bytes, std::size_t from = 0);

// Why `request` is not a request (not a JSON object, or no string "prefix"); nullopt when it is.
std::optional<std::string> admin_request_problem(const nlohmann::json& request);

// The reply's bytes after the length: the result as JSON (pretty unless the request asked for
// "format":"json"), or Ceph's "ERROR: ..." text.
std::string admin_reply_body(const AdminReply& reply, bool pretty);

// The reply on the wire: its length (4 bytes, big-endian), then `body`.
std::string frame_admin_reply(std::string_view body);

// The length a reply announces in its first kAdminLengthBytes bytes (`prefix` holds at least
// that many).
std::uint32_t admin_reply_length(std::string_view prefix);

// The reply `body` (after its length) as an AdminReply: an "ERROR: (<errno>) ..." body gives
// that errno and the message, anything else is parsed as the JSON result. nullopt when the body
// is neither.
std::optional<AdminReply> parse_admin_reply_body(std::string_view body);

}  // namespace rbdtier
