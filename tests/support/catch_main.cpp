// The Catch2 main shared by every test executable (Catch2 itself: catch_runner.cpp).
#include "support/catch_runner.hpp"

int main(int argc, char* argv[]) {
    return run_catch_session(argc, argv);
}
