// The result of one HTTP provider call, from the answer the transport brought back.
// Not for: the rules of classify_answer (delivery.hpp), which this only applies.
#pragma once

#include "service/delivery/transport.hpp"
#include "verifyd/delivery.hpp"

namespace verifyd {

// classify_answer on the answer, with the message's code masked and libcurl's reason
// added when there was no answer.
DeliveryResult result_of(const HttpAnswer& answer, const OutgoingMessage& message);

}  // namespace verifyd
