// The commands the lanes write (redis_connection.hpp encode_command), against hiredis's
// own formatting of the same arguments.
#include "verifyd/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "verifyd/lua_scripts.hpp"

using namespace verifyd;

namespace {

std::string hiredis_formatted(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    char* formatted = nullptr;
    const long long length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()),
                                                    argv.data(), lengths.data());
    REQUIRE(length > 0);
    std::string out(formatted, static_cast<size_t>(length));
    redisFreeCommand(formatted);
    return out;
}

}  // namespace

TEST_CASE("a command is written as hiredis writes it, empty and binary arguments included") {
    const std::vector<std::vector<std::string>> commands = {
        {"PING"},
        {"HGET", "n:{p1}abc", "u"},
        {"HSET", "key", "", std::string("\0\r\n\xff", 4), std::string(300, 'x')},
    };
    for (const auto& args : commands) CHECK(encode_command(args) == hiredis_formatted(args));
}

TEST_CASE("FCALL names the script's function in this release's library") {
    const std::vector<std::string> args = {"FCALL", "check", "1", "n:{p1}abc", "acct"};
    std::vector<std::string> sent = args;
    sent[1] = lua_function("check");
    CHECK(encode_command(args) == hiredis_formatted(sent));
    CHECK(encode_command({"FCALL"}) == hiredis_formatted({"FCALL"}));
}
