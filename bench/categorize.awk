# bench/categorize.awk: sorts verifyd's perf samples (the output of `perf script -F
# comm,tid,ip,sym,dso`, call stacks leaf first, one blank line between samples) into
# where the time goes: ours, the framework's, the Redis client's, libraries. A sample
# goes to the first category, in the order below, that one of its frames names.
function category(stack) {
    if (stack ~ /redis(BufferRead|BufferWrite|GetReply|CommandArgv|vFormat|Format|Reader|AppendCommand)|libhiredis/)
        return "Redis client: hiredis and its socket calls (the lane, redis_lane.cpp)"
    if (stack ~ /ResponseWriter::send|putOnWire|asyncWriteImpl|sendRawBuffer|handleWriteQueue/)
        return "HTTP response write (Pistache, kernel TCP)"
    if (stack ~ /ParserBase::parse|HeadersStep|RequestLineStep|BodyStep/)
        return "HTTP request parsing (Pistache)"
    if (stack ~ /phonenumbers|icu_[0-9]+::/)
        return "phone validation (libphonenumber, ICU regex)"
    if (stack ~ /libsodium|randombytes|getrandom/)
        return "hashing and random (libsodium, getrandom)"
    if (stack ~ /nlohmann/)
        return "JSON parse and dump (nlohmann) in verifyd's handler"
    if (stack ~ /verifyd::|Handler::onRequest/)
        return "verifyd's own code (routing, auth, headers, metrics, strings, malloc)"
    if (stack ~ /Pistache|epoll|onReady|handleIncoming/)
        return "Pistache event loop, socket reads, epoll"
    return "other (kernel scheduling and wake-ups, unresolved stacks)"
}
/^[^ \t]/ { if (stack != "") { counts[category(stack)]++; total++ }; stack = " "; next }
/^[ \t]/ { stack = stack $0 " " }
END {
    if (stack != " " && stack != "") { counts[category(stack)]++; total++ }
    for (c in counts) printf "%6.1f%%  %s\n", 100 * counts[c] / total, c | "sort -rn"
    close("sort -rn")
    printf "%6d   samples\n", total
}
