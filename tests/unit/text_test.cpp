// The small text rules every parser shares (verifyd/text.hpp).
#include "verifyd/text.hpp"

#include <catch2/catch.hpp>

using namespace verifyd;

TEST_CASE("well-formed UTF-8 is told from bytes JSON cannot carry") {
    CHECK(is_utf8(""));
    CHECK(is_utf8("plain ASCII"));
    CHECK(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(is_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
    for (const char* bad : {"\xff", "a\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "\x80", "\xc3\x28", "\xf8\x88\x80\x80\x80"}) {
        INFO(bad);
        CHECK_FALSE(is_utf8(bad));
    }
}

TEST_CASE("a UTF-8 text's length counts characters, not bytes") {
    CHECK(utf8_length("") == 0);
    CHECK(utf8_length("abc") == 3);
    CHECK(utf8_length("caf\xc3\xa9") == 4);
    CHECK(utf8_length("\xe2\x82\xac\xf0\x9f\x98\x80") == 2);
}

TEST_CASE("trimming drops spaces, tabs, CRs and LFs at both ends only") {
    CHECK(trim(" \t a b \r\n") == "a b");
    CHECK(trim_view("\t\t") == "");
    CHECK(trim_view("x") == "x");
}

TEST_CASE("a Content-Type's media type is lower case, without parameters or spaces") {
    CHECK(media_type("application/json") == "application/json");
    CHECK(media_type("Application/JSON; charset=utf-8") == "application/json");
    CHECK(media_type(" text/plain ;charset=x") == "text/plain");
    CHECK(media_type("application/x-www-form-urlencodedX") == "application/x-www-form-urlencodedx");
    CHECK(media_type("").empty());
}
