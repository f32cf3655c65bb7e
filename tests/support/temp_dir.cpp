// Temporary directories and whole-file reads and writes for the test fixtures.
#include "support/temp_dir.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace verifyd_test {

namespace {

std::string temporary_base() {
    const char* base = std::getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
    std::string pattern = temporary_base() + "/" + prefix + "-XXXXXX";
    if (!mkdtemp(pattern.data())) {
        throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

TempFile::TempFile(const std::string& content) {
    std::string pattern = temporary_base() + "/verifyd-test-XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd < 0) {
        throw std::runtime_error("mkstemp failed for " + pattern);
    }
    close(fd);
    path_ = pattern;
    write_file(path_, content);
}

TempFile::~TempFile() {
    std::remove(path_.c_str());
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

void replace_file(const std::string& path, const std::string& text) {
    const std::string staged = path + ".new";
    write_file(staged, text);
    if (std::rename(staged.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("cannot rename " + staged + " to " + path);
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace verifyd_test
