# The verifyd container image: built with the same scripts CI runs, shipped on a slim
# Debian with only the shared libraries the binary links, as a non-root user.
# tests/chart/check-dockerfile.sh (ctest "docker: …") keeps this file honest.

FROM debian:bookworm-slim AS build
WORKDIR /src
# Dependencies first, in a layer of their own, so that a source change reuses it.
COPY scripts/install-deps.sh scripts/
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# Configure without tests first; build.sh then reuses that cache and builds the binary only.
RUN cmake -S . -B build -DBUILD_TESTING=OFF \
    && BUILD_TYPE=Release ./scripts/build.sh

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpistache0 libhiredis0.14 libsodium23 libphonenumber8 libcurl4 libjemalloc2 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 verifyd \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin verifyd
COPY --from=build /src/build/verifyd /usr/local/bin/verifyd
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/verifyd"]
