# kdns container image. Build: docker build -t kdns .   Run: docker run -p 53:53/udp -p 53:53/tcp kdns
# Stage 1 installs the production dependencies; stage 2 is Node 24 with only those and the sources.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The npm `node` package is how developers get Node 24 on older machines; the image has it already.
RUN npm ci --omit=dev --omit=optional --ignore-scripts && rm -rf node_modules/node node_modules/.bin/node

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
# Non-root; binding port 53 needs the capability, given to the node binary once here.
RUN apt-get update && apt-get install -y --no-install-recommends libcap2-bin \
    && setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")" \
    && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
USER node
EXPOSE 53/udp 53/tcp 9153/tcp
ENTRYPOINT ["node", "/app/bin/kdns.js"]
CMD ["-conf", "/etc/coredns/Corefile"]
