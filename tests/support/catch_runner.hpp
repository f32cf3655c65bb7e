// Runs the Catch2 test cases linked into the program (support/catch_runner.cpp).
#pragma once

int run_catch_session(int argc, char* argv[]);
