// Catch2's implementation, for every program that uses the test support library: each
// test executable, whose main is catch_main.cpp, and the fraud guard simulation, which
// has a main of its own. Apart from main, so that a program with its own main links it
// without a second one.
#define CATCH_CONFIG_RUNNER
#include "support/catch_runner.hpp"

#include <catch2/catch.hpp>

int run_catch_session(int argc, char* argv[]) {
    return Catch::Session().run(argc, argv);
}
