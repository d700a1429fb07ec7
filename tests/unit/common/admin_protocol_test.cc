// The admin-socket protocol's encoding and decoding (common/admin_protocol.h): what the CLI
// sends is what the gateway reads, what the gateway answers is what the CLI reads back, and
// bytes that are neither are recognised as such.
#include "common/admin_protocol.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace rbdtier {
namespace {

using nlohmann::json;

TEST(AdminProtocol, RequestIsCompactJsonEndedByNul) {
    const std::string wire =
        encode_admin_request({{kAdminPrefixKey, kCommandLunShow}, {"lun", "a"}});
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire.back(), '\0');
    EXPECT_EQ(admin_request_end(wire), wire.size() - 1);
    const json parsed = json::parse(wire.substr(0, wire.size() - 1));
    EXPECT_EQ(parsed[kAdminPrefixKey], "lun show");
    EXPECT_EQ(parsed[kAdminFormatKey], "json");
    EXPECT_EQ(parsed["lun"], "a");
    EXPECT_FALSE(admin_request_problem(parsed));
}

TEST(AdminProtocol, NewlineAlsoEndsARequest) {
    EXPECT_EQ(admin_request_end(std::string("{\"prefix\":\"status\"}\n")), 19u);
    EXPECT_EQ(admin_request_end(std::string("{\"prefix\":")), std::string::npos);
    EXPECT_EQ(admin_request_end(std::string("ab\ncd\n"), 3), 5u);
}

TEST(AdminProtocol, RequestProblemsAreNamed) {
    EXPECT_EQ(*admin_request_problem(json::parse("[1]")), "invalid request: not a JSON object");
    EXPECT_EQ(*admin_request_problem(json::parse("nope", nullptr, false)),
              "invalid request: not a JSON object");
    EXPECT_EQ(*admin_request_problem(json{{"prefix", 3}}), "invalid request: no string \"prefix\"");
    EXPECT_EQ(*admin_request_problem(json::object()), "invalid request: no string \"prefix\"");
}

TEST(AdminProtocol, ReplyFrameCarriesItsLength) {
    const std::string body(70000, 'x');
    const std::string wire = frame_admin_reply(body);
    ASSERT_EQ(wire.size(), kAdminLengthBytes + body.size());
    EXPECT_EQ(admin_reply_length(wire), body.size());
    EXPECT_EQ(wire.substr(kAdminLengthBytes), body);
    EXPECT_EQ(static_cast<unsigned char>(wire[1]), 0x01u);  // big-endian: 70000 = 0x00011170
}

TEST(AdminProtocol, ResultRoundTrips) {
    const json result = {{"luns", json::array({"a", "b"})}, {"paused", false}};
    for (bool pretty : {true, false}) {
        const auto back = parse_admin_reply_body(admin_reply_body(AdminReply::ok(result), pretty));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->error, 0);
        EXPECT_EQ(back->result, result);
    }
}

TEST(AdminProtocol, ErrorRoundTripsWithItsErrno) {
    const std::string body = admin_reply_body(AdminReply::failure(ENOENT, "unknown LUN 'x'"), true);
    EXPECT_EQ(body.rfind("ERROR: (2) ", 0), 0u) << body;
    const auto back = parse_admin_reply_body(body);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->error, ENOENT);
    EXPECT_EQ(back->message, "unknown LUN 'x'");
}

TEST(AdminProtocol, ErrorWithoutMessageKeepsItsErrnoText) {
    const auto back = parse_admin_reply_body("ERROR: (22) Invalid argument\n");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->error, EINVAL);
    EXPECT_EQ(back->message, "(22) Invalid argument");
    const auto bare = parse_admin_reply_body("ERROR: something broke");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->error, EIO);
    EXPECT_EQ(bare->message, "something broke");
}

TEST(AdminProtocol, MalformedReplyIsRecognised) {
    EXPECT_FALSE(parse_admin_reply_body("{\"half\": "));
    EXPECT_FALSE(parse_admin_reply_body(""));
}

}  // namespace
}  // namespace rbdtier
