# The local mode (`npm start`: bot, SQLite queue, workers, agent in one
# process) as a container for self-hosting. See README "Self-hosting with
# Docker"; `compose.yaml` runs it with the data on a volume.
#
#   docker build -t telegram-claude-agent .
#   docker run --env-file .env -v agent-data:/data telegram-claude-agent

# Stage 1: compile TypeScript with the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Stage 2: production dependencies only (the Claude Code binary among them).
FROM node:22-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 compiles if no prebuilt addon matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Final image. bubblewrap sandboxes Claude Code (and socat its shell) when
# the container may create user namespaces (see README); util-linux's setpriv
# makes Claude Code die with the service where it may not.
FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap socat ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    AGENT_DIR=/app/agent \
    HEALTH_PORT=8081
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
# For `npm start` in the container: it runs dist/ as built (no compiler here).
COPY scripts ./scripts
COPY agent ./agent
# Not root: the service needs nothing but its data directory.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node, not npm: signals reach the service directly, so SIGTERM stops it cleanly.
CMD ["node", "dist/entrypoints/local-server.js"]
