# labguard container image: a release build, then a slim runtime that runs as an
# unprivileged user with the data dir as its only writable path (run with --read-only).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p labguard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 labguard \
 && useradd --system --uid 10001 --gid labguard --home-dir /var/lib/labguard --shell /usr/sbin/nologin labguard \
 && install -d -m 0700 -o labguard -g labguard /var/lib/labguard
COPY --from=build /src/target/release/labguard /usr/bin/labguard
COPY packaging/labguard.toml /etc/labguard/labguard.toml
USER labguard
ENV LABGUARD_CONFIG=/etc/labguard/labguard.toml
VOLUME /var/lib/labguard
EXPOSE 8443 2575 2576
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsk https://127.0.0.1:8443/healthz || exit 1
# Listen on every interface inside the container; the host decides what is published.
ENTRYPOINT ["/bin/sh", "-c", "labguard init --admin none --if-absent && exec labguard serve --listen 0.0.0.0:8443 --mllp-tls-listen 0.0.0.0:2575 --mllp-tcp-listen 0.0.0.0:2576"]
