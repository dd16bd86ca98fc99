# syntax=docker/dockerfile:1
# Build: the same steps as `make build` (cargo-leptos, pinned tools, npm-installed
# Tailwind and binaryen). Run: the binary and the site folder, as a non-root user.

FROM node:20-bookworm AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin /usr/local/bin
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN apt-get update \
 && apt-get install -y --no-install-recommends mold \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --locked --version 0.3.10 \
 && cargo install wasm-bindgen-cli --version 0.2.130
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV PATH=/src/node_modules/.bin:$PATH
RUN make site CARGO_TARGET_DIR=/src/target

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin payquest \
 && mkdir -p /app /data \
 && chown payquest /data
COPY --from=build /src/target/release/payquest /usr/local/bin/payquest
COPY --from=build /src/target/site /app/site
ENV LEPTOS_SITE_ROOT=/app/site \
    PAYQUEST_LISTEN=0.0.0.0:3000 \
    PAYQUEST_METRICS_LISTEN=0.0.0.0:9100 \
    PAYQUEST_DATABASE_URL=sqlite:///data/payquest.db \
    PAYQUEST_BOOTSTRAP_PASSWORD_FILE=/data/first-admin-password \
    PAYQUEST_SECRETS_KEY_FILE=/data/secrets.key \
    PAYQUEST_LOG_FORMAT=json
WORKDIR /app
USER 10001
# 9100 is for the cluster's Prometheus only: don't publish it.
EXPOSE 3000 9100
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000"]
ENTRYPOINT ["payquest"]
CMD ["serve"]
