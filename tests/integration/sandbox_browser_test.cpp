// The sandbox inbox page in a real browser (§13): tests/sandbox/browser_test.js drives
// Debian's chromium through puppeteer-core against a real verifyd, as a developer uses
// the page. Hidden from the test list ([.]): ctest runs it as "sandbox: …" after
// "sandbox: setup" has installed puppeteer-core (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include "support/verifyd_instance.hpp"

using namespace verifyd_test;

TEST_CASE("the sandbox page shows a test key's codes live in chromium", "[.][sandbox_browser]") {
    VerifydInstance v;
    TempDir work;
    const Environment env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"},
        {"HOME", work.path()},
        {"VERIFYD_URL", "http://127.0.0.1:" + std::to_string(v.port())},
        {"TEST_KEY", v.key(kTestA)},
        {"LIVE_KEY", v.key(kLiveA)},
        {"CHROMIUM", "/usr/bin/chromium"},
        {"SCREENSHOT", SANDBOX_SCREENSHOT},
    };
    RunResult run =
        run_process("/usr/bin/env", {"node", SANDBOX_BROWSER_TEST_DIR "/browser_test.js"}, env,
                    work.path() + "/browser.log", std::chrono::seconds(180));
    INFO(run.output);
    REQUIRE_FALSE(run.timed_out);
    CHECK(run.status.exited);
    CHECK(run.status.code == 0);
}
