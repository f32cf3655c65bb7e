// A child process for the integration tests: started with fork/execve from an explicit
// argv and environment (nothing inherited), its stdout and stderr in one log file, and
// stopped with SIGTERM then SIGKILL. Every wait is bounded. Not for: shell command lines,
// pipes, or talking to the child over stdin (it reads /dev/null).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace verifyd_test {

using Environment = std::map<std::string, std::string>;

struct ExitStatus {
    bool exited = false;  // ended by exit(); `code` is valid
    int code = -1;
    int signal = 0;  // the signal that ended it, when not exited
    std::string describe() const;
};

class Process {
  public:
    // Starts `program` (an absolute path) with argv[1..] = `args` and exactly `env`.
    // Throws std::runtime_error when it cannot be started.
    Process(const std::string& program, const std::vector<std::string>& args,
            const Environment& env, const std::string& log_path);
    // Stops the child if it still runs.
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    // False once the child has ended (it is then reaped).
    bool running();
    // The exit status once the child has ended within `timeout`, else nothing.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL if it has not ended after `grace`; returns how it ended.
    ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // SIGKILL, then reap.
    ExitStatus kill();
    // Sends `signal` without waiting (e.g. SIGSTOP / SIGCONT); no-op once ended.
    void send_signal(int signal);
    std::optional<ExitStatus> exit_status() const { return status_; }

    // Everything the child wrote so far to stdout and stderr.
    std::string log() const;

  private:
    bool reap(int options);

    pid_t pid_ = -1;
    std::string log_path_;
    std::optional<ExitStatus> status_;
};

struct RunResult {
    ExitStatus status;
    bool timed_out = false;  // it was killed after `timeout`
    std::string output;      // stdout and stderr
};

// Runs a program to completion (killing it after `timeout`) and collects its output.
RunResult run_process(const std::string& program, const std::vector<std::string>& args,
                      const Environment& env, const std::string& log_path,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace verifyd_test
