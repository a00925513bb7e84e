# syntax=docker/dockerfile:1
# dipwatch: multi-stage build, slim non-root runtime.
#   docker build -t dipwatch .
#   docker run -d --name dipwatch -v dipwatch-data:/data \
#     -e APCA_API_KEY_ID=... -e APCA_API_SECRET_KEY=... dipwatch
# Secrets may also come as files (Docker/Compose secrets):
#   -e APCA_API_KEY_ID_FILE=/run/secrets/apca_key_id -e APCA_API_SECRET_KEY_FILE=... -e TELOXIDE_TOKEN_FILE=...
# Try it on simulated prices, in a volume of its own (never the production
# one: simulated and real data must not share a store):
#   docker run --rm -v dipwatch-demo:/data dipwatch collect --config config/demo.toml
#   docker run --rm -v dipwatch-demo:/data dipwatch screen --config config/demo.toml

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependency layer: rebuilt only when the manifest or lock file changes.
COPY Cargo.toml Cargo.lock ./
# Every [[bench]] of Cargo.toml needs a file for the manifest to load (benches
# are not built here, only the binary).
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
 && for b in screen collect alerts alert_delivery bot; do echo 'fn main() {}' > "benches/$b.rs"; done \
 && cargo build --release --locked \
 && rm -rf src benches
COPY src src
COPY benches benches
COPY config config
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
# ca-certificates is left unpinned on purpose: it must follow Debian's updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin dipwatch \
 && mkdir -p /data && chown dipwatch /data
WORKDIR /app
COPY --from=build /src/target/release/dipwatch /usr/local/bin/dipwatch
COPY config config
ENV DIPWATCH__STORAGE__URL=/data \
    DIPWATCH__HTTP__LISTEN=0.0.0.0:9184 \
    DIPWATCH__LOG__FORMAT=json
VOLUME ["/data"]
EXPOSE 9184
# Numeric, so the host (and Kubernetes' runAsNonRoot) can resolve it.
USER 10001
# No curl in the slim image: bash's /dev/tcp asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9184 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dipwatch"]
CMD ["run"]
