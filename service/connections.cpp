// ConnectionGate and ConnectionSocket (connections.hpp).
#include "service/connections.hpp"

#include <fcntl.h>
#include <pistache/stream.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace verifyd {

ConnectionGate::Ticket::~Ticket() {
    gate->open_.fetch_sub(1, std::memory_order_relaxed);
    gate->metrics_.connection_closed();
}

std::shared_ptr<ConnectionGate::Ticket> ConnectionGate::admit() {
    const int open = open_.fetch_add(1, std::memory_order_relaxed) + 1;
    metrics_.connection_opened();
    auto ticket = std::make_shared<Ticket>(shared_from_this());
    if (open > max_connections_) {
        ticket->refused = true;
        metrics_.count_connection_refused();
    }
    return ticket;
}

ConnectionSocket::ConnectionSocket(const Pistache::Tcp::Peer& peer)
    : fd_(::fcntl(peer.fd(), F_DUPFD_CLOEXEC, 0)), handed_over_(fd_ < 0) {}

ConnectionSocket::~ConnectionSocket() {
    if (fd_ >= 0) ::close(fd_);
}

void ConnectionSocket::write(const std::shared_ptr<ConnectionSocket>& socket,
                             Pistache::Tcp::Peer& peer, std::string bytes, End end) {
    std::lock_guard<std::mutex> lock(socket->mutex_);
    if (!socket->handed_over_) {
        ssize_t sent;
        do {
            sent = ::send(socket->fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (sent < 0 && errno == EINTR);
        // Reset or closed by the client: nobody is left to tell.
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;
        const size_t written = sent < 0 ? 0 : static_cast<size_t>(sent);
        if (written == bytes.size()) return socket->end(end);
        bytes.erase(0, written);
        socket->handed_over_ = true;
    }
    const size_t length = bytes.size();
    try {
        auto sent = peer.send(Pistache::RawBuffer(std::move(bytes), length));
        if (end != End::Keep)
            sent.then([socket, end](ssize_t) { socket->end(end); },
                      [socket, end](std::exception_ptr) { socket->end(end); });
    } catch (const std::exception&) {
        // Pistache has let the connection go: nobody is left to tell.
    }
}

void ConnectionSocket::end(End end) const {
    if (fd_ < 0 || end == End::Keep) return;
    ::shutdown(fd_, end == End::Linger ? SHUT_WR : SHUT_RDWR);
}

}  // namespace verifyd
