// The header block's framing rules (http_framing.hpp), after RFC 9110 §5 and RFC 9112 §5–6.
#include "verifyd/http_framing.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

// strchr finds a string's terminating NUL too: a NUL is never one of these characters.
bool is_token_char(unsigned char c) {
    return c != 0 && (std::isalnum(c) != 0 || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// A field value may hold visible characters, spaces and tabs, and obs-text (bytes of 0x80
// and above); no other control character.
bool is_value_char(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// Host is uri-host [":" port]: a registered name (unreserved, sub-delims, percent
// escapes), an IPv4 address, or an IP literal in brackets.
bool is_host_char(unsigned char c) {
    return c != 0 && (std::isalnum(c) != 0 || std::strchr("-._~!$&'()*+,;=%:[]", c) != nullptr);
}

template <typename Predicate>
bool all_chars(std::string_view text, Predicate holds) {
    return std::all_of(text.begin(), text.end(),
                       [&](char c) { return holds(static_cast<unsigned char>(c)); });
}

// method SP request-target SP HTTP-version (RFC 9112 §3), the target visible ASCII:
// Pistache reads a target up to a space or '?' across line ends, so a line that is not
// this would let it read header lines that were not checked here.
bool is_request_line(std::string_view line, bool& http10) {
    const size_t first = line.find(' ');
    const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || first == 0) return false;
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    const std::string_view version = line.substr(second + 1);
    http10 = version == "HTTP/1.0";
    return all_chars(method, is_token_char) && !target.empty() &&
           all_chars(target, [](unsigned char c) { return c > 0x20 && c < 0x7f; }) &&
           (http10 || version == "HTTP/1.1");
}

bool same_name(std::string_view a, const char* b) {
    const size_t length = std::strlen(b);
    if (a.size() != length) return false;
    for (size_t i = 0; i < length; ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
}

FramingVerdict bad(std::string problem) {
    return {FramingProblem{400, std::move(problem)}, {}};
}

}  // namespace

size_t empty_lines_length(std::string_view bytes) {
    const size_t end = bytes.find_first_not_of("\r\n");
    return end == std::string_view::npos ? bytes.size() : end;
}

size_t header_block_length(std::string_view bytes) {
    const size_t end = bytes.find("\r\n\r\n");
    return end == std::string_view::npos ? end : end + 4;
}

FramingVerdict check_header_block(std::string_view block, size_t max_body) {
    std::optional<std::string_view> content_length;
    bool expects_continue = false;
    bool http10 = false;
    int hosts = 0;
    size_t at = block.find("\r\n");
    if (at == std::string_view::npos || !is_request_line(block.substr(0, at), http10))
        return bad("The request line must be a method, a target and HTTP/1.1 or HTTP/1.0.");
    while (at != std::string_view::npos && at + 2 < block.size()) {
        const size_t start = at + 2;
        const size_t end = block.find("\r\n", start);
        if (end == std::string_view::npos || end == start) break;
        const std::string_view line = block.substr(start, end - start);
        at = end;
        if (line[0] == ' ' || line[0] == '\t')
            return bad("A header line continues the one before it (obsolete line folding).");
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return bad("A header line has no field name and colon.");
        const std::string_view name = line.substr(0, colon);
        if (!all_chars(name, is_token_char))
            return bad("A header field name holds a character a name may not have.");
        const std::string_view value = trim_view(line.substr(colon + 1));
        if (!all_chars(value, is_value_char))
            return bad("A header field value holds a control character.");
        if (same_name(name, "content-length")) {
            const bool digits = !value.empty() && value.size() <= 18 &&
                                std::all_of(value.begin(), value.end(), [](char c) {
                                    return std::isdigit(static_cast<unsigned char>(c)) != 0;
                                });
            if (!digits) return bad("Content-Length must be a number of bytes.");
            if (content_length && *content_length != value)
                return bad("Content-Length is given twice with different values.");
            content_length = value;
        } else if (same_name(name, "transfer-encoding")) {
            // Chunk sizes are read leniently by Pistache (strtol), and a chunked body's end
            // is not where its bytes end: only Content-Length frames a body here.
            return {FramingProblem{411,
                                   "A body must come with Content-Length, not "
                                   "Transfer-Encoding."},
                    {}};
        } else if (same_name(name, "expect")) {
            expects_continue = same_name(value, "100-continue");
        } else if (same_name(name, "host")) {
            if (++hosts > 1) return bad("Host is given more than once.");
            if (!all_chars(value, is_host_char))
                return bad("Host must be a host name or address and a port.");
        }
    }
    FramingVerdict verdict;
    // An HTTP/1.0 client does not wait for 100 Continue (RFC 9110 §10.1.1).
    verdict.framing.expects_continue = expects_continue && !http10;
    if (content_length) verdict.framing.content_length = std::stoull(std::string(*content_length));
    if (verdict.framing.content_length > max_body)
        verdict.problem = FramingProblem{413, "The request is larger than verifyd reads."};
    return verdict;
}

}  // namespace verifyd
