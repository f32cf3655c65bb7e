// A raw loopback connection that writes what it is told, when it is told: the client that
// HttpClient, which always finishes its requests, cannot be (slow clients, pipelining).
// Not for: reading responses as HTTP (http_client.hpp).
#pragma once

#include <chrono>
#include <string>

namespace verifyd_test {

class RawConnection {
  public:
    // `receive_buffer`: the socket's receive buffer in bytes (SO_RCVBUF), for a client that
    // takes an answer slower than the server writes it; 0 leaves the system's.
    explicit RawConnection(int port, int receive_buffer = 0);
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // False once the server has closed the connection.
    bool write(const std::string& bytes);
    // Reads what has arrived, without waiting; true once the server has closed (or reset)
    // the connection.
    bool closed_by_server();
    // Reads until the server closes the connection or `timeout` passes; whether it closed.
    bool read_until_closed(std::chrono::milliseconds timeout);
    // Reads until what was received holds `text`, or `timeout` passes; whether it does.
    bool read_until_received(const std::string& text, std::chrono::milliseconds timeout);
    const std::string& received() const { return received_; }

  private:
    int fd_;
    std::string received_;
};

}  // namespace verifyd_test
