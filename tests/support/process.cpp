// fork/execve of the programs under test, their logs and their bounded shutdown.
#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.hpp"

namespace verifyd_test {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (auto& s : strings) {
        pointers.push_back(s.data());
    }
    pointers.push_back(nullptr);
    return pointers;
}

}  // namespace

std::string ExitStatus::describe() const {
    if (exited) {
        return "exit status " + std::to_string(code);
    }
    if (signal != 0) {
        return std::string("killed by signal ") + std::to_string(signal) + " (" +
               strsignal(signal) + ")";
    }
    return "still running";
}

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 const Environment& env, const std::string& log_path)
    : log_path_(log_path) {
    // Everything the child needs is prepared before fork: between fork and execve a child
    // of a multi-threaded parent may only make async-signal-safe calls.
    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (const auto& [name, value] : env) {
        env_strings.push_back(name + "=" + value);
    }
    std::vector<char*> argv = c_strings(argv_strings);
    std::vector<char*> envp = c_strings(env_strings);

    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        throw std::runtime_error("cannot open log " + log_path + ": " + strerror(errno));
    }
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
        close(log_fd);
        throw std::runtime_error(std::string("cannot open /dev/null: ") + strerror(errno));
    }
    const pid_t parent = getpid();

    pid_t pid = fork();
    if (pid < 0) {
        close(log_fd);
        close(null_fd);
        throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
    }
    if (pid == 0) {
        // The child must not outlive a test run that crashes or is killed by a timeout.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(126);
        }
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        // Sockets of the test process (HTTP clients, hiredis) must not leak into children.
        close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(argv[0], argv.data(), envp.data());
        static const char message[] = "execve failed\n";
        ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
        (void)ignored;
        _exit(127);
    }
    close(log_fd);
    close(null_fd);
    pid_ = pid;
}

Process::~Process() {
    if (!status_) {
        stop(std::chrono::seconds(3));
    }
}

bool Process::reap(int options) {
    if (status_) {
        return true;
    }
    int raw = 0;
    pid_t r;
    do {
        r = waitpid(pid_, &raw, options);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        ExitStatus status;
        if (WIFEXITED(raw)) {
            status.exited = true;
            status.code = WEXITSTATUS(raw);
        } else if (WIFSIGNALED(raw)) {
            status.signal = WTERMSIG(raw);
        }
        status_ = status;
        return true;
    }
    if (r < 0) {
        // Not our child any more (ECHILD): treat it as gone rather than waiting forever.
        status_ = ExitStatus{};
        return true;
    }
    return false;
}

bool Process::running() {
    return !reap(WNOHANG);
}

std::optional<ExitStatus> Process::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return status_;
}

ExitStatus Process::stop(std::chrono::milliseconds grace) {
    if (!running()) {
        return *status_;
    }
    ::kill(pid_, SIGTERM);
    // A stopped child only acts on SIGTERM once continued.
    ::kill(pid_, SIGCONT);
    if (auto status = wait_for(grace)) {
        return *status;
    }
    return kill();
}

ExitStatus Process::kill() {
    if (!running()) {
        return *status_;
    }
    ::kill(pid_, SIGKILL);
    // SIGKILL cannot be caught, so this wait ends unless the kernel is wedged.
    if (auto status = wait_for(std::chrono::seconds(10))) {
        return *status;
    }
    throw std::runtime_error("process " + std::to_string(pid_) + " survived SIGKILL");
}

void Process::send_signal(int signal) {
    if (running()) {
        ::kill(pid_, signal);
    }
}

std::string Process::log() const {
    return read_file(log_path_);
}

RunResult run_process(const std::string& program, const std::vector<std::string>& args,
                      const Environment& env, const std::string& log_path,
                      std::chrono::milliseconds timeout) {
    Process process(program, args, env, log_path);
    RunResult result;
    if (auto status = process.wait_for(timeout)) {
        result.status = *status;
    } else {
        result.timed_out = true;
        result.status = process.kill();
    }
    result.output = process.log();
    return result;
}

}  // namespace verifyd_test
