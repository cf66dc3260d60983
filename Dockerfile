# device-code-server (README "Running in Docker"). CI has no Docker engine: `npm run lint` checks this file and
# test/docker/runtime.test.ts reproduces the runtime stage from it, so keep both in mind when
# changing it.

# Node 24 LTS, the same release as the devDependency node@24 (package-lock.json): the image runs
# what the tests ran.
FROM node:24.21.0-bookworm-slim AS base
WORKDIR /app

# Production dependencies only. better-sqlite3 13 ships prebuilt Node-API binaries, so no
# compiler is needed, and no production dependency has an install script: --ignore-scripts
# keeps it so whatever the image's npm makes of package.json's allowScripts.
FROM base AS deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# Only this platform's better-sqlite3 binary is ever loaded; the other seven and the SQLite
# sources are about 25 MB.
RUN target="$(node -p 'process.platform + "-" + process.arch')" \
 && test -f "node_modules/better-sqlite3/prebuilds/${target}.node" \
 && find node_modules/better-sqlite3/prebuilds -type f ! -name "${target}.node" -delete \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src
# The IP databases (README "Where a request came from"): src/geoip/open.ts reads one country .mmdb
# and two of the four network CSVs; the other copies of the same data are about 43 MB.
RUN rm node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv4.mmdb \
  node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country-ipv6.mmdb \
  node_modules/@ip-location-db/asn/asn-ipv4.csv node_modules/@ip-location-db/asn/asn-ipv6-num.csv

# src/ as plain JavaScript (lib/): Node's own type stripper, run once here instead of in the
# server, whose memory then holds no TypeScript parser (~30 MB less, bench/RESULTS.md). Lines and
# columns stay where they were in src/, so stack traces need no source map.
FROM base AS build
COPY scripts/build-server.ts ./scripts/
COPY src ./src
RUN ["node", "scripts/build-server.ts", "--out", "lib"]

FROM base AS runtime
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/data NODE_ENV=production
# The app's files stay root-owned (the server cannot rewrite itself); only /data is the user's.
# It is created before VOLUME because changes after VOLUME are discarded.
RUN mkdir -p /data && chown 10001:10001 /data && chmod 0700 /data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json openapi.yaml ./
COPY bin ./bin
COPY migrations ./migrations
COPY --from=build /app/lib ./lib
USER 10001:10001
VOLUME /data
EXPOSE 3000
# Slim images have no curl; node's fetch does. PORT follows `-e PORT=…`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (graceful shutdown), no shell in between.
# --max-semi-space-size=16: V8's young generation at most 16 MB a half, a fifth less resident memory
# at the same throughput (bench/RESULTS.md); `npm start` and the bench run the server with it too.
ENTRYPOINT ["node", "--max-semi-space-size=16", "bin/device-code-server.js"]
CMD ["serve"]
