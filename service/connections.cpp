// ConnectionGate and ConnectionEnd (connections.hpp).
#include "service/connections.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

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

std::shared_ptr<ConnectionEnd> ConnectionEnd::of(const Pistache::Tcp::Peer& peer, Mode mode) {
    const int own = ::fcntl(peer.fd(), F_DUPFD_CLOEXEC, 0);
    if (own < 0) return nullptr;
    return std::shared_ptr<ConnectionEnd>(new ConnectionEnd(own, mode));
}

ConnectionEnd::~ConnectionEnd() {
    ::close(fd_);
}

void ConnectionEnd::end() const {
    ::shutdown(fd_, mode_ == Mode::Linger ? SHUT_WR : SHUT_RDWR);
}

}  // namespace verifyd
