// Covers errors.hpp: the error catalog of §2 and the constructors of ApiError.
#include "verifyd/errors.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <set>
#include <string>
#include <vector>

using verifyd::ApiError;
using verifyd::ErrorCode;

namespace {

struct Row {
    int code;
    int http_status;
    const char* type;
};

// The table of §2, with each code's usual status.
const std::vector<Row> kContract = {
    {4000, 400, "invalid_request"},      {4001, 400, "invalid_phone"},
    {4009, 409, "idempotency_conflict"}, {4010, 401, "missing_api_key"},
    {4011, 401, "invalid_api_key"},      {4012, 401, "revoked_api_key"},
    {4013, 401, "expired_api_key"},      {4029, 429, "rate_limit_exceeded"},
    {4030, 403, "insufficient_scope"},   {4031, 403, "destination_blocked"},
    {4032, 403, "destination_paused"},   {4040, 404, "verification_not_found"},
    {4041, 410, "verification_expired"}, {4042, 429, "max_attempts_exceeded"},
    {4043, 429, "otp_rate_limit"},       {4044, 404, "message_not_found"},
    {4045, 429, "client_rate_limit"},    {5000, 500, "internal_error"},
    {5001, 502, "provider_error"},
};

// §2 gives 5001 "502 or 503"; every other code has one usual status.
bool usual_status(const Row& row, int status) {
    if (row.code == 5001) return status == 502 || status == 503;
    return status == row.http_status;
}

}  // namespace

TEST_CASE("the catalog has the codes of the contract built so far, in code order") {
    const auto& catalog = verifyd::error_catalog();
    REQUIRE(catalog.size() == kContract.size());
    for (size_t i = 0; i < catalog.size(); ++i) {
        INFO("row " << i);
        CHECK(static_cast<int>(catalog[i].code) == kContract[i].code);
    }
}

TEST_CASE("every code maps to the HTTP status and type of the contract's table") {
    const auto& catalog = verifyd::error_catalog();
    REQUIRE(catalog.size() == kContract.size());
    for (size_t i = 0; i < catalog.size(); ++i) {
        const Row& row = kContract[i];
        INFO("code " << row.code);
        REQUIRE(catalog[i].type != nullptr);
        CHECK(std::string(catalog[i].type) == row.type);
        CHECK(usual_status(row, catalog[i].http_status));
        REQUIRE(catalog[i].message != nullptr);
        CHECK(std::strlen(catalog[i].message) > 0);
    }
}

TEST_CASE("error_info answers each code's own row") {
    for (const Row& row : kContract) {
        INFO("code " << row.code);
        const auto& info = verifyd::error_info(static_cast<ErrorCode>(row.code));
        CHECK(static_cast<int>(info.code) == row.code);
        CHECK(std::string(info.type) == row.type);
        CHECK(usual_status(row, info.http_status));
    }
}

TEST_CASE("every catalog code is found by its integer, and no other integer is") {
    for (const Row& row : kContract) {
        INFO("code " << row.code);
        const auto code = verifyd::error_code_from_int(row.code);
        REQUIRE(code);
        CHECK(static_cast<int>(*code) == row.code);
    }
    for (int unknown : {0, -4000, 200, 400, 404, 3999, 4002, 4014, 4033, 4046, 4999, 5002, 9999}) {
        INFO(unknown);
        CHECK_FALSE(verifyd::error_code_from_int(unknown));
    }
}

TEST_CASE("no two error codes share a type") {
    std::set<std::string> types;
    for (const auto& info : verifyd::error_catalog()) types.insert(info.type);
    CHECK(types.size() == verifyd::error_catalog().size());
}

TEST_CASE("make_error takes the catalog's status and message unless given a message") {
    for (const Row& row : kContract) {
        INFO("code " << row.code);
        const ErrorCode code = static_cast<ErrorCode>(row.code);
        const ApiError error = verifyd::make_error(code);
        CHECK(error.code == code);
        CHECK(error.http_status == verifyd::error_info(code).http_status);
        CHECK(error.message == verifyd::error_info(code).message);
        CHECK(std::string(error.type()) == row.type);
        CHECK(error.retry_after == 0);
        CHECK(error.details.empty());
    }
    const ApiError custom = verifyd::make_error(ErrorCode::InvalidRequest, "bad limit");
    CHECK(custom.message == "bad limit");
    CHECK(custom.http_status == 400);
}

TEST_CASE("make_field_error blames one field with one problem") {
    const ApiError error = verifyd::make_field_error(ErrorCode::InvalidPhone, "to", "not E.164");
    CHECK(error.code == ErrorCode::InvalidPhone);
    CHECK(error.http_status == 400);
    REQUIRE(error.details.size() == 1);
    REQUIRE(error.details.count("to") == 1);
    CHECK(error.details.at("to") == std::vector<std::string>{"not E.164"});
    CHECK_FALSE(error.message.empty());
}

TEST_CASE("with_status overrides the status and keeps the code") {
    const ApiError error =
        verifyd::with_status(verifyd::make_error(ErrorCode::InvalidRequest), 413);
    CHECK(error.http_status == 413);
    CHECK(error.code == ErrorCode::InvalidRequest);
    CHECK(std::string(error.type()) == "invalid_request");
}

TEST_CASE("with_retry_after sets the seconds and keeps the rest") {
    const ApiError error =
        verifyd::with_retry_after(verifyd::make_error(ErrorCode::OtpRateLimit, "slow down"), 42);
    CHECK(error.retry_after == 42);
    CHECK(error.code == ErrorCode::OtpRateLimit);
    CHECK(error.http_status == 429);
    CHECK(error.message == "slow down");
}

TEST_CASE("a retry_after below one second is raised to one, as the envelope needs >= 1") {
    CHECK(verifyd::with_retry_after(verifyd::make_error(ErrorCode::OtpRateLimit), 0).retry_after ==
          1);
    CHECK(verifyd::with_retry_after(verifyd::make_error(ErrorCode::RateLimitExceeded), -3)
              .retry_after == 1);
}

TEST_CASE("an unreachable store is a 503 internal_error with a retry_after of at least 1") {
    const ApiError error = verifyd::store_unavailable();
    CHECK(error.code == ErrorCode::InternalError);
    CHECK(error.http_status == 503);
    CHECK(error.retry_after >= 1);
    CHECK(std::string(error.type()) == "internal_error");
    CHECK_FALSE(error.message.empty());
}
