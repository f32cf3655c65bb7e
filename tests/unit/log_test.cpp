// Covers log.hpp: levels, the masking of numbers, and the writer thread's promise that
// every queued line is written whole, in each thread's order.
#include "verifyd/log.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/captured_stderr.hpp"

namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(nlohmann::json::parse(line, nullptr, false));
    return lines;
}

}  // namespace

TEST_CASE(
    "lines logged from many threads at once are all written, whole, each thread's in "
    "order") {
    constexpr int kThreads = 8;
    constexpr int kLinesPerThread = 2000;
    verifyd_test::CapturedStderr captured;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < kLinesPerThread; ++i)
                verifyd::log_event(
                    verifyd::LogLevel::Warn, "line",
                    {{"thread", t}, {"index", i}, {"padding", std::string(64, 'x')}});
        });
    }
    for (auto& thread : threads) thread.join();
    const auto lines = json_lines(captured.text());

    REQUIRE(lines.size() == static_cast<size_t>(kThreads * kLinesPerThread));
    std::map<int, int> next_index;
    for (const auto& line : lines) {
        REQUIRE(line.is_object());
        CHECK(line["level"] == "warn");
        const int thread = line["thread"];
        CHECK(line["index"] == next_index[thread]);
        next_index[thread] = line["index"].get<int>() + 1;
    }
    CHECK(verifyd::log_lines_dropped() == 0);
}

TEST_CASE("a line below the log level is not written, one at or above it is") {
    verifyd_test::CapturedStderr captured;
    verifyd::set_log_level(verifyd::LogLevel::Warn);
    verifyd::log_event(verifyd::LogLevel::Info, "quiet");
    verifyd::log_event(verifyd::LogLevel::Error, "loud", {{"why", "test"}});
    verifyd::set_log_level(verifyd::LogLevel::Info);
    const auto lines = json_lines(captured.text());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["msg"] == "loud");
    CHECK(lines[0]["level"] == "error");
    CHECK(lines[0]["why"] == "test");
}

TEST_CASE("a number in the log keeps its country and first digits and its last two") {
    CHECK(verifyd::mask_phone("+447912345623") == "+4479******23");
    CHECK(verifyd::mask_phone("+14155552671") == "+1415*****71");
    CHECK(verifyd::mask_phone("123") == "***");
}
