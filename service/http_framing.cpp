// The header block's framing rules (http_framing.hpp), after RFC 9110 §5 and RFC 9112 §5–6.
#include "verifyd/http_framing.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

bool is_token_char(unsigned char c) {
    return std::isalnum(c) != 0 || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// A field value may hold visible characters, spaces and tabs, and obs-text (bytes of 0x80
// and above); no other control character.
bool is_value_char(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// Host is uri-host [":" port]: a registered name (unreserved, sub-delims, percent
// escapes), an IPv4 address, or an IP literal in brackets.
bool is_host_char(unsigned char c) {
    return std::isalnum(c) != 0 || std::strchr("-._~!$&'()*+,;=%:[]", c) != nullptr;
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

size_t header_block_length(std::string_view bytes) {
    const size_t end = bytes.find("\r\n\r\n");
    return end == std::string_view::npos ? end : end + 4;
}

FramingVerdict check_header_block(std::string_view block, size_t max_body) {
    std::optional<std::string_view> content_length;
    bool chunked = false;
    bool expects_continue = false;
    int hosts = 0;
    size_t at = block.find("\r\n");  // the request line is Pistache's to read
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
        if (!std::all_of(name.begin(), name.end(),
                         [](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
            return bad("A header field name holds a character a name may not have.");
        const std::string_view value = trim_view(line.substr(colon + 1));
        if (!std::all_of(value.begin(), value.end(),
                         [](char c) { return is_value_char(static_cast<unsigned char>(c)); }))
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
            if (!same_name(value, "chunked")) return bad("Transfer-Encoding may only be chunked.");
            chunked = true;
        } else if (same_name(name, "expect")) {
            expects_continue = same_name(value, "100-continue");
        } else if (same_name(name, "host")) {
            if (++hosts > 1) return bad("Host is given more than once.");
            if (!std::all_of(value.begin(), value.end(),
                             [](char c) { return is_host_char(static_cast<unsigned char>(c)); }))
                return bad("Host must be a host name or address and a port.");
        }
    }
    if (content_length && chunked)
        return bad("A request may not have both Content-Length and Transfer-Encoding.");
    FramingVerdict verdict;
    verdict.framing.expects_continue = expects_continue;
    if (content_length) verdict.framing.content_length = std::stoull(std::string(*content_length));
    if (verdict.framing.content_length > max_body)
        verdict.problem = FramingProblem{413, "The request is larger than verifyd reads."};
    return verdict;
}

}  // namespace verifyd
