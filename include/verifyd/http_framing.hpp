// What verifyd requires of a request's header block before Pistache's parser reads it
// (RFC 9112 message framing). Pistache 0.0.5 reads a Content-Length of "abc" as 0 and one
// of "-1" as 2^64 - 1, reads chunk sizes with strtol, takes folded lines and lines without
// a colon, and reads a request target across line ends, so that where one
// request ends would be a matter of interpretation: a proxy in front and verifyd could
// disagree, and bytes of a body be read as a request of their own. A request refused
// here is answered with its status and the connection ends. Not for: parsing (Pistache
// does it), or the API's own limits on what it reads (http.hpp, requests.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace verifyd {

struct FramingProblem {
    int status = 400;
    std::string problem;
};

// The number of CR and LF bytes `bytes` starts with: the empty lines a client may send
// before a request line, or after a body, which a server SHOULD ignore (RFC 9112 §2.2).
size_t empty_lines_length(std::string_view bytes);

// The length of the header block at the start of `bytes` (the request line, the header
// lines and the empty line after them), or std::string_view::npos while incomplete.
size_t header_block_length(std::string_view bytes);

// What the framing of a header block that may be parsed says of the body after it.
struct HeaderFraming {
    size_t content_length = 0;      // 0 also when there is none
    bool expects_continue = false;  // Expect: 100-continue from HTTP/1.1 (RFC 9110 §10.1.1)
};

// Checks a complete header block: the request line is a method, a target of visible
// characters and HTTP/1.1 or HTTP/1.0; every header line is a name of token characters,
// a colon and a value (no folded lines); Content-Length is digits only, given once, and
// at most `max_body` (413 past it); there is no Transfer-Encoding (411: a body comes with
// its length); Host is given at most once and is a host and port.
struct FramingVerdict {
    std::optional<FramingProblem> problem;  // nothing: the block may be parsed
    HeaderFraming framing;
};
FramingVerdict check_header_block(std::string_view block, size_t max_body);

}  // namespace verifyd
