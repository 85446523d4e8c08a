# Build stage: production dependencies only; better-sqlite3 compiles from source here (python3, make,
# g++ are in this image).
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --no-update-notifier

# Run stage: production dependencies and the sources (tsx runs the TypeScript as is).
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/paperboy.sqlite \
    OUTBOX_DIR=/data/outbox
# An operator's `npm run …` in the container should not go looking for a newer npm.
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY templates ./templates
COPY migrations ./migrations
# The operator commands (npm run send-now, …) start from JavaScript compiled ahead (scripts/run.mjs):
# compiled here, as root, since node cannot write node_modules/.cache at run time.
RUN node scripts/run.mjs migrate --help > /dev/null
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node itself is PID 1 (not npm), so SIGTERM reaches the graceful shutdown. tsx rather than Node 24's
# own type stripping: the same command as on Node 20 and 22, no source rewrite (README, Docker).
CMD ["node", "--import", "tsx", "src/main.ts"]
