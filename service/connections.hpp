// What the HTTP server does to a connection beside Pistache: counts it against the
// listener's cap (ConnectionGate), and writes its answers and ends it through a
// descriptor of its own (ConnectionSocket), never through the fd number Pistache may
// already have closed and the kernel handed to a newer connection. Not for: reading
// requests or making answers (http_server.cpp).
#pragma once

#include <pistache/peer.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

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

// One connection's socket, through a descriptor of its own: a duplicate of the peer's,
// taken on the peer's I/O thread when the connection opens, so that it names this
// connection's socket for as long as it lives, whatever Pistache has done with its own
// descriptor meanwhile (once the client closes, Pistache closes its fd and the kernel
// hands the number to the next accepted connection).
// Answers are written at once, from whichever thread has them: not through Pistache's
// queue, which wakes the I/O thread and rearms its polling for each answer, and which
// writes by fd number. What the socket cannot take at once is handed to Pistache to
// write when it can, and so is every later answer of the connection, to keep their order;
// as raw bytes, whose promise Pistache 0.0.5 settles under its lock (the promise of its
// ResponseWriter's send is settled without, so an end attached to it from another thread
// could be lost).
// A connection that ends after an answer ends once the answer is written. One whose
// client may still be sending (a refused request, a pipelined one) ends lingering
// (RFC 9112 §9.6): only the sending side is shut, and what still comes is read and
// dropped until the client closes, because a socket closed with unread bytes answers
// with a reset that can reach the client before the answer does.
// The socket is released when both this and Pistache's descriptor are closed.
class ConnectionSocket {
  public:
    enum class End { Keep, Close, Linger };

    // Without a descriptor (out of descriptors) answers go through Pistache, and a
    // connection is never ended here: the answer's "Connection: close" tells the client.
    explicit ConnectionSocket(const Pistache::Tcp::Peer& peer);
    ~ConnectionSocket();
    ConnectionSocket(const ConnectionSocket&) = delete;
    ConnectionSocket& operator=(const ConnectionSocket&) = delete;

    // Writes `bytes` to the connection of `peer`, then ends it as `end` says. `socket`
    // is kept until Pistache has written what it was handed.
    static void write(const std::shared_ptr<ConnectionSocket>& socket, Pistache::Tcp::Peer& peer,
                      std::string bytes, End end);

  private:
    void end(End end) const;

    const int fd_;
    std::mutex mutex_;
    bool handed_over_;  // Pistache writes this connection's answers from now on
};

}  // namespace verifyd
