// What the HTTP server does to a connection beside Pistache: counts it against the
// listener's cap (ConnectionGate) and ends it through a descriptor of its own
// (ConnectionEnd), never through the fd number Pistache may already have closed and the
// kernel handed to a newer connection. Not for: reading or answering requests
// (http_server.cpp).
#pragma once

#include <pistache/peer.h>

#include <atomic>
#include <memory>

#include "verifyd/metrics.hpp"

namespace verifyd {

// A listener's open connections, across its I/O threads. Each connection holds a
// ticket for as long as Pistache keeps its peer, however the connection ends (by the
// client, by a timeout, at shutdown): the ticket's end gives its place back.
class ConnectionGate : public std::enable_shared_from_this<ConnectionGate> {
  public:
    ConnectionGate(int max_connections, Metrics& metrics)
        : max_connections_(max_connections), metrics_(metrics) {}

    class Ticket {
      public:
        explicit Ticket(std::shared_ptr<ConnectionGate> gate) : gate(std::move(gate)) {}
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket();
        const std::shared_ptr<ConnectionGate> gate;
        bool refused = false;
    };

    // A connection's place; refused when the cap is reached, and the caller ends it.
    std::shared_ptr<Ticket> admit();

  private:
    const int max_connections_;
    Metrics& metrics_;
    std::atomic<int> open_{0};
};

// The means to end one connection once its last response is written: a duplicate of the
// peer's descriptor, taken on the peer's I/O thread while the request is being served,
// so that it names this connection's socket for as long as it lives, whatever Pistache
// has done with its own descriptor meanwhile. shutdown() acts on the socket; Pistache
// still closes its descriptor when it sees the end of the stream, and the socket is
// released when both are closed.
// A connection whose client may still be sending when it ends (a refused request, a
// pipelined one) ends lingering (RFC 9112 §9.6): only the sending side is shut, and what
// still comes is read and dropped until the client closes, because a socket closed with
// unread bytes answers with a reset that can reach the client before the answer does.
class ConnectionEnd {
  public:
    enum class Mode { Close, Linger };
    // Null when the descriptor cannot be duplicated (out of descriptors): the response
    // still says "Connection: close", and the client ends the connection.
    static std::shared_ptr<ConnectionEnd> of(const Pistache::Tcp::Peer& peer,
                                             Mode mode = Mode::Close);
    ~ConnectionEnd();
    ConnectionEnd(const ConnectionEnd&) = delete;
    ConnectionEnd& operator=(const ConnectionEnd&) = delete;

    void end() const;

  private:
    ConnectionEnd(int fd, Mode mode) : fd_(fd), mode_(mode) {}
    const int fd_;
    const Mode mode_;
};

}  // namespace verifyd
