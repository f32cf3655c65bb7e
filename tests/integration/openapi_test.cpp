// The OpenAPI document (§13): GET /openapi.json serves docs/openapi.json as built into
// the binary, and a client generated from what it serves runs the login flow
// (tests/openapi/generate_client.mjs; hidden from the test list ([.]): ctest runs it as
// "openapi: …" after "openapi: setup" has installed the generator). That every answer
// matches the document is tests/openapi/answers.mjs's to prove.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "support/verifyd_instance.hpp"

using namespace verifyd_test;

TEST_CASE("GET /openapi.json serves the OpenAPI 3.1 document without authentication") {
    VerifydInstance v;
    std::ifstream file(OPENAPI_TEST_DIR "/../../docs/openapi.json");
    std::stringstream document;
    document << file.rdbuf();
    REQUIRE_FALSE(document.str().empty());

    HttpResponse response = v.get("/openapi.json");
    REQUIRE(response.status == 200);
    CHECK(response.header("Content-Type").value_or("").rfind("application/json", 0) == 0);
    CHECK(response.body == document.str());
    CHECK(response.json()["openapi"] == "3.1.0");
}

TEST_CASE("a client generated from GET /openapi.json sends, reads the code and checks it",
          "[.][openapi_client]") {
    VerifydInstance v;
    TempDir work;
    const Environment env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"},
        {"VERIFYD_URL", "http://127.0.0.1:" + std::to_string(v.port())},
        {"VERIFYD_KEY", v.key(kTestA)},
    };
    RunResult run =
        run_process("/usr/bin/env", {"node", OPENAPI_TEST_DIR "/generate_client.mjs", work.path()},
                    env, work.path() + "/client.log", std::chrono::seconds(180));
    INFO(run.output);
    REQUIRE_FALSE(run.timed_out);
    CHECK(run.status.exited);
    CHECK(run.status.code == 0);
}
