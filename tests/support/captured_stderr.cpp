// The stderr capture of captured_stderr.hpp.
#include "support/captured_stderr.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "verifyd/log.hpp"

namespace verifyd_test {

CapturedStderr::CapturedStderr() {
    char name[] = "/tmp/verifyd_stderr_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    path_ = name;
    verifyd::flush_log();
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

CapturedStderr::~CapturedStderr() {
    restore();
    std::remove(path_.c_str());
}

std::string CapturedStderr::text() {
    restore();
    std::ifstream in(path_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void CapturedStderr::restore() {
    if (saved_ < 0) return;
    verifyd::flush_log();
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
}

}  // namespace verifyd_test
