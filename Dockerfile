# Build stage: every dependency (the build tools, esbuild and MJML, are development dependencies),
# then `npm run build` (dist/: the compiled code and the compiled templates), then the development
# dependencies pruned away. better-sqlite3 compiles from source here (python3, make, g++ are in
# this image).
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --no-update-notifier
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY templates ./templates
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --no-update-notifier

# Run stage: production dependencies and dist/ only, no sources: templates change by building a
# new image. The npm scripts start through scripts/launch.mjs, which finds no sources here to
# compare dist/ with and runs it as it is.
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
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY scripts/launch.mjs scripts/build-inputs.mjs ./scripts/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node itself is PID 1 (not npm), so SIGTERM reaches the graceful shutdown.
CMD ["node", "dist/src/main.js"]
