// Fuzz target: a request's first bytes through the framing check the HTTP server runs
// before Pistache's parser (http_framing.hpp). A header block ends at the first empty
// line; one that may be parsed has a request line of three parts, no folded or nameless
// line, no Transfer-Encoding and a body within the limit; a refusal is a 400, a 411 or a
// 413 that says why.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "verifyd/http_framing.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes = verifyd_fuzz::text_of(data, size);
    constexpr size_t kMaxBody = 4096;
    const size_t length = verifyd::header_block_length(bytes);
    if (length == std::string_view::npos) {
        require(bytes.find("\r\n\r\n") == std::string::npos, "a block ends at its empty line");
        return 0;
    }
    require(length >= 4 && length <= bytes.size() &&
                bytes.compare(length - 4, 4, "\r\n\r\n") == 0 &&
                bytes.find("\r\n\r\n") == length - 4,
            "a block ends at the first empty line");
    const std::string_view block(bytes.data(), length);
    const verifyd::FramingVerdict verdict = verifyd::check_header_block(block, kMaxBody);
    if (verdict.problem) {
        require(verdict.problem->status == 400 || verdict.problem->status == 411 ||
                    verdict.problem->status == 413,
                "a refusal is a 400, a 411 or a 413");
        require(!verdict.problem->problem.empty(), "a refusal says why");
        return 0;
    }
    require(verdict.framing.content_length <= kMaxBody, "a body within the limit");
    const std::string_view request_line = block.substr(0, block.find("\r\n"));
    require(request_line.find(' ') != std::string_view::npos &&
                request_line.find(' ') != request_line.rfind(' '),
            "a request line of a method, a target and a version");
    // The lines after the request line, up to the empty one.
    size_t at = block.find("\r\n");
    while (at + 2 < block.size()) {
        const size_t end = block.find("\r\n", at + 2);
        if (end == at + 2) break;
        const std::string_view line = block.substr(at + 2, end - at - 2);
        require(line[0] != ' ' && line[0] != '\t', "no folded line is taken");
        const size_t colon = line.find(':');
        require(colon != std::string_view::npos && colon > 0, "every line has a name and colon");
        require(line.substr(0, colon).find('\0') == std::string_view::npos, "no NUL in a name");
        std::string name(line.substr(0, colon));
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        require(name != "transfer-encoding", "no Transfer-Encoding is taken");
        at = end;
    }
    return 0;
}
