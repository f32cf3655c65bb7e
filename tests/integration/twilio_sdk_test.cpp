// The official twilio npm SDK, unmodified, against the /v2 face (§11): tests/twilio/
// sdk_test.js drives a real verifyd the way a user's application would. Hidden from the
// test list ([.]): ctest runs it as "twilio: …" after "twilio: setup" has installed the
// SDK (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include "support/verifyd_instance.hpp"

using namespace verifyd_test;

TEST_CASE("the official twilio npm SDK drives services and verifications through /v2",
          "[.][twilio_sdk]") {
    // Resends at once, and three sends per number in ten minutes (the limit step).
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}, {"VERIFYD_SEND_LIMITS", "3/600"}});
    TempDir work;
    const Environment env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"},
        {"VERIFYD_URL", "http://127.0.0.1:" + std::to_string(v.port())},
        {"ACCOUNT_SID", twilio_account_sid_of(kAccountA)},
        {"VERIFYD_KEY", v.key(kTestA)},
    };
    RunResult run = run_process("/usr/bin/env", {"node", TWILIO_SDK_TEST_DIR "/sdk_test.js"}, env,
                                work.path() + "/sdk.log", std::chrono::seconds(120));
    INFO(run.output);
    REQUIRE_FALSE(run.timed_out);
    CHECK(run.status.exited);
    CHECK(run.status.code == 0);
}
