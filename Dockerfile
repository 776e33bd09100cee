# Multi-stage build: compile in the Rust image, run from a slim Debian as a non-root user.
# The migrations are embedded in the binary (sqlx::migrate!), so the runtime image needs
# only the binary and the config directory.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY migrations ./migrations
COPY benches ./benches
COPY config ./config
RUN cargo build --release --locked --bin sluice

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /opt/sluice --shell /usr/sbin/nologin sluice
WORKDIR /opt/sluice
COPY --from=build /src/target/release/sluice /usr/local/bin/sluice
COPY --from=build /src/config ./config
USER sluice
ENV SLUICE_CONFIG_DIR=/opt/sluice/config
# Secrets come from the environment at run time (docker run -e / --env-file), never the image.
EXPOSE 7878
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["run"]
