// Starts and drives a verifyd process against its own redis-server.
#include "support/verifyd_instance.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"

namespace verifyd_test {

namespace {

constexpr auto kVerifydStartTimeout = std::chrono::seconds(10);

// Whether this JSON holds, at any depth, an object whose "message_id" is `id`.
bool mentions_message(const nlohmann::json& value, const std::string& id) {
    if (value.is_object()) {
        auto found = value.find("message_id");
        if (found != value.end() && found->is_string() && *found == id) {
            return true;
        }
    }
    if (value.is_structured()) {
        for (const auto& element : value) {
            if (mentions_message(element, id)) {
                return true;
            }
        }
    }
    return false;
}

// The string at "variables" → "code", at any depth.
std::optional<std::string> find_code(const nlohmann::json& value) {
    if (value.is_object()) {
        auto variables = value.find("variables");
        if (variables != value.end() && variables->is_object()) {
            auto code = variables->find("code");
            if (code != variables->end() && code->is_string()) {
                return code->get<std::string>();
            }
        }
    }
    if (value.is_structured()) {
        for (const auto& element : value) {
            if (auto code = find_code(element)) {
                return code;
            }
        }
    }
    return std::nullopt;
}

std::string describe(const HttpResponse& response) {
    return std::to_string(response.status) + " " + response.body;
}

}  // namespace

Environment base_environment(int listen_port, const std::string& redis_url,
                             const std::string& keys_file_path) {
    Environment env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"},
        {"VERIFYD_LISTEN", "127.0.0.1:" + std::to_string(listen_port)},
        {"VERIFYD_REDIS_URL", redis_url},
        {"VERIFYD_HASH_KEY", random_hex(32)},
        {"VERIFYD_API_KEYS_FILE", keys_file_path},
        {"VERIFYD_PROVIDER", "log"},
        {"VERIFYD_THREADS", "2"},
        // Redis on a test machine running several tests at once may take longer than the
        // default 250 ms to answer now and then; the tests of what a silent Redis does
        // set the timeout they mean.
        {"VERIFYD_REDIS_TIMEOUT_MS", "1000"},
        // The fraud guard judges every send, as it does by default, but its thresholds
        // are out of reach of tests that send many codes to one prefix and check none;
        // the guard's own tests set theirs.
        {"VERIFYD_FRAUD_MIN_SENDS", "1000000000"},
        {"VERIFYD_FRAUD_MAX_PENDING", "1000000000"},
    };
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* value = std::getenv(name)) {
            env[name] = value;
        }
    }
    return env;
}

std::optional<std::string> sanitizer_report(const std::string& log) {
    size_t found = std::string::npos;
    for (const char* marker : {"ERROR: AddressSanitizer", "LeakSanitizer", "runtime error:"}) {
        found = std::min(found, log.find(marker));
    }
    if (found == std::string::npos) {
        return std::nullopt;
    }
    const size_t line = log.rfind('\n', found);
    return log.substr(line == std::string::npos ? 0 : line + 1, 8000);
}

Environment apply_settings(Environment base, const Settings& overrides) {
    for (const auto& [name, value] : overrides) {
        if (value) {
            base[name] = *value;
        } else {
            base.erase(name);
        }
    }
    return base;
}

Headers bearer(const std::string& api_key) {
    if (api_key.empty()) {
        return {};
    }
    return {{"Authorization", "Bearer " + api_key}};
}

HttpResponse post_json(HttpClient& client, const std::string& path, const std::string& api_key,
                       const nlohmann::json& body) {
    Headers headers = bearer(api_key);
    headers.emplace_back("Content-Type", "application/json");
    return client.post(path, headers, body.dump());
}

VerifydInstance::VerifydInstance(Settings settings)
    : VerifydInstance(InstanceOptions{std::move(settings), {}, 0}) {}

VerifydInstance::VerifydInstance(InstanceOptions options)
    : dir_("verifyd-it"), redis_(std::make_unique<RedisServer>()), client_(0) {
    const std::string keys_path = dir_.file("keys.json");
    write_file(keys_path, keys_.keys_file(options.extra_key_entries));
    env_ = apply_settings(base_environment(0, redis_->url(options.redis_db), keys_path),
                          options.settings);
    auto [process, port] = launch("verifyd.log");
    process_ = std::move(process);
    port_ = port;
    client_ = HttpClient(port_);
}

std::pair<std::unique_ptr<Process>, int> VerifydInstance::launch(const std::string& log_name,
                                                                 int port) {
    std::unique_ptr<Process> process;
    // A port taken between choosing and binding makes verifyd exit; try a few ports. A
    // fixed port (a restart) may still be held briefly by the process that just ended.
    const int attempts = port == 0 ? 3 : 10;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        const int listen_port = port == 0 ? free_loopback_port() : port;
        Environment env = env_;
        if (env.count("VERIFYD_LISTEN")) {
            env["VERIFYD_LISTEN"] = "127.0.0.1:" + std::to_string(listen_port);
        }
        process = std::make_unique<Process>(VERIFYD_BINARY, std::vector<std::string>{}, env,
                                            dir_.file(log_name));
        const auto deadline = std::chrono::steady_clock::now() + kVerifydStartTimeout;
        while (std::chrono::steady_clock::now() < deadline && process->running()) {
            try {
                HttpClient probe(listen_port, std::chrono::seconds(2));
                if (probe.get("/healthz").status == 200) {
                    return {std::move(process), listen_port};
                }
            } catch (const HttpError&) {
                // Not listening yet.
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (process->running()) {
            process->stop(std::chrono::seconds(3));
            break;
        }
        if (process->log().find("already in use") == std::string::npos) {
            break;
        }
        if (port != 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
    throw std::runtime_error("verifyd did not answer GET /healthz with 200 within 10 s (" +
                             process->exit_status().value_or(ExitStatus{}).describe() +
                             "); its log:\n" + process->log());
}

VerifydInstance::~VerifydInstance() {
    client_.close();
    for (auto& replica : replicas_) {
        replica->stop(std::chrono::seconds(5));
    }
    if (process_) {
        process_->stop(std::chrono::seconds(5));
    }
    // Leaks are reported only as a process exits, so the logs are read after the stops.
    std::vector<Process*> processes;
    if (process_) {
        processes.push_back(process_.get());
    }
    for (auto& replica : replicas_) {
        processes.push_back(replica.get());
    }
    for (Process* process : processes) {
        if (auto report = sanitizer_report(process->log())) {
            FAIL_CHECK("verifyd (pid " << process->pid() << ") logged a sanitizer report:\n"
                                       << *report);
        }
    }
}

int VerifydInstance::start_replica() {
    auto [process, port] = launch("replica-" + std::to_string(replicas_.size() + 1) + ".log");
    replicas_.push_back(std::move(process));
    return port;
}

HttpClient VerifydInstance::client(std::chrono::milliseconds timeout) const {
    return HttpClient(port_, timeout);
}

HttpResponse VerifydInstance::get(const std::string& path, const std::string& api_key,
                                  const Headers& extra) {
    Headers headers = bearer(api_key);
    headers.insert(headers.end(), extra.begin(), extra.end());
    return client_.get(path, headers);
}

HttpResponse VerifydInstance::post(const std::string& path, const std::string& api_key,
                                   const nlohmann::json& body, const Headers& extra) {
    return post_raw(path, api_key, body.dump(), extra);
}

HttpResponse VerifydInstance::post_raw(const std::string& path, const std::string& api_key,
                                       const std::string& body, const Headers& extra) {
    Headers headers = bearer(api_key);
    headers.emplace_back("Content-Type", "application/json");
    headers.insert(headers.end(), extra.begin(), extra.end());
    return client_.post(path, headers, body);
}

HttpResponse VerifydInstance::send(const std::string& api_key, const nlohmann::json& body) {
    return post("/verify/send", api_key, body);
}

HttpResponse VerifydInstance::check(const std::string& api_key, const nlohmann::json& body) {
    return post("/verify/check", api_key, body);
}

HttpResponse VerifydInstance::check(const std::string& api_key, const std::string& verification_id,
                                    const std::string& code) {
    return check(api_key, nlohmann::json{{"id", verification_id}, {"code", code}});
}

HttpResponse VerifydInstance::get_verification(const std::string& api_key, const std::string& id) {
    return get("/verify/" + id, api_key);
}

HttpResponse VerifydInstance::cancel(const std::string& api_key, const std::string& id) {
    return post("/verify/" + id + "/cancel", api_key, nlohmann::json::object());
}

nlohmann::json VerifydInstance::send_ok(const std::string& api_key, const std::string& to,
                                        const nlohmann::json& extra) {
    nlohmann::json body = extra;
    body["to"] = to;
    HttpResponse response = send(api_key, body);
    nlohmann::json json = response.json();
    if (response.status != 201 || !json.is_object() || !json.contains("data")) {
        throw std::runtime_error("POST /verify/send " + body.dump() +
                                 " was expected to answer 201, got " + describe(response));
    }
    return json["data"];
}

std::string VerifydInstance::sandbox_code(const std::string& api_key,
                                          const std::string& verification_id) {
    HttpResponse response = get_verification(api_key, verification_id);
    const nlohmann::json json = response.json();
    const nlohmann::json::json_pointer code("/data/template_variables/code");
    if (response.status == 200 && json.is_object() && json.contains(code) &&
        json[code].is_string()) {
        return json[code].get<std::string>();
    }
    throw std::runtime_error("GET /verify/" + verification_id +
                             " has no data.template_variables.code: " + describe(response));
}

std::string VerifydInstance::live_code_from_log(const std::string& message_id,
                                                std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        std::istringstream lines(log());
        std::string line;
        while (std::getline(lines, line)) {
            size_t brace = line.find('{');
            if (brace == std::string::npos || line.find(message_id) == std::string::npos) {
                continue;
            }
            // A line may carry a plain-text prefix (a timestamp) before its JSON.
            nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
            if (json.is_discarded()) {
                json = nlohmann::json::parse(line.substr(brace), nullptr, false);
            }
            if (json.is_discarded() || !mentions_message(json, message_id)) {
                continue;
            }
            if (auto code = find_code(json)) {
                return *code;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("no log line with \"message_id\":\"" + message_id +
                             "\" and variables.code within " + std::to_string(wait.count()) +
                             " ms; the log:\n" + log());
}

nlohmann::json VerifydInstance::wait_for_delivery(const std::string& api_key, const std::string& id,
                                                  const std::string& status,
                                                  std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    nlohmann::json delivery;
    for (;;) {
        HttpResponse response = get_verification(api_key, id);
        nlohmann::json json = response.json();
        if (response.status == 200 && json.is_object() && json.contains("data") &&
            json["data"].contains("delivery")) {
            delivery = json["data"]["delivery"];
            if (delivery.is_object() && delivery.value("status", "") == status) {
                return delivery;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return delivery;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

size_t count_log_lines(const std::string& log, const std::string& level, const std::string& words) {
    size_t count = 0;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
        if (parsed.is_object() && parsed.value("level", "") == level &&
            parsed.value("msg", "").find(words) != std::string::npos)
            ++count;
    }
    return count;
}

bool wait_for_log_lines(const Process& process, const std::string& level, const std::string& words,
                        size_t count, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count_log_lines(process.log(), level, words) < count) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

ExitStatus VerifydInstance::stop() {
    client_.close();
    return process_->stop(std::chrono::seconds(5));
}

ExitStatus VerifydInstance::kill() {
    client_.close();
    return process_->kill();
}

void VerifydInstance::restart() {
    client_.close();
    if (process_->running()) {
        process_->stop(std::chrono::seconds(5));
    }
    std::pair<std::unique_ptr<Process>, int> launched;
    try {
        launched = launch("verifyd.log", port_);
    } catch (const std::runtime_error&) {
        // Another test's process took the port meanwhile: a new port, and with it a new
        // default consumer name (the old one's jobs are then claimed after the idle time).
        launched = launch("verifyd.log");
    }
    process_ = std::move(launched.first);
    port_ = launched.second;
    client_ = HttpClient(port_);
}

}  // namespace verifyd_test
