// A private directory or file under $TMPDIR (or /tmp) for one fixture, removed with
// everything in it when the object goes, and whole-file reads and writes. Not for: files
// that must outlive a test.
#pragma once

#include <string>

namespace verifyd_test {

class TempDir {
  public:
    // Throws std::runtime_error when the directory cannot be made.
    explicit TempDir(const std::string& prefix = "verifyd-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

// A file under $TMPDIR (or /tmp) holding `content`, removed when the TempFile goes.
class TempFile {
  public:
    // Throws std::runtime_error when the file cannot be made.
    explicit TempFile(const std::string& content);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Writes `text` to `path`, replacing it; throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& text);
// Replaces `path` whole by renaming a new file over it, as a Kubernetes Secret or
// ConfigMap update does: a reader sees the old file or the new one, never half of one.
void replace_file(const std::string& path, const std::string& text);
// The whole file, or an empty string when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace verifyd_test
