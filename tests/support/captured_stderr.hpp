// Standard error of this process, redirected to a file while an object lives, for unit
// tests of what verifyd logs. The log's queued lines are written before the capture
// starts and before it ends. Not for: a verifyd process's log (VerifydInstance::log).
#pragma once

#include <string>

namespace verifyd_test {

class CapturedStderr {
  public:
    CapturedStderr();
    ~CapturedStderr();
    CapturedStderr(const CapturedStderr&) = delete;
    CapturedStderr& operator=(const CapturedStderr&) = delete;
    // Ends the capture and returns what was written.
    std::string text();

  private:
    void restore();
    std::string path_;
    int saved_ = -1;
};

}  // namespace verifyd_test
