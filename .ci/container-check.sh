#!/usr/bin/env bash
# The Docker image, proven rather than hoped. Builds ./Dockerfile with buildah (no Docker engine
# here) on local stand-ins for the node:MAJOR images its FROM lines name, starts the image the way
# `docker run` would (its user, entrypoint and cmd; a fresh folder on each declared volume; host
# network), and inside it proves: start-up (/healthz answers 200), the Node major the FROM lines
# promise, and one operator command (`npm run send-now -- --dry-run` for a day served from the
# recorded paper API fixtures, with one imported subscriber, so the digest is ranked and rendered).
# Adapted from ../shared/tools/container-check.sh, which only probes /healthz.
#   usage: .ci/container-check.sh [PORT]    (from anywhere; ../shared/tools beside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared && pwd)
PORT=${1:-3000}
API_PORT=$((PORT + 1))
DAY=2026-11-24
fixture=tests/fixtures/hf-daily-papers/$DAY.json
[ -f "$fixture" ] || { echo "paper API fixture $fixture not found in the repository" >&2; exit 1; }

mapfile -t majors < <(sed -nE 's/^FROM[[:space:]]+(docker\.io\/(library\/)?)?node:([0-9]+).*/\3/Ip' Dockerfile | sort -u)
[ ${#majors[@]} -eq 1 ] || { echo "the Dockerfile's FROM lines should name one node major, found: ${majors[*]:-none}" >&2; exit 1; }
major=${majors[0]}
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
# Listed first, then searched: `buildah images | grep -q` under pipefail fails now and then
# (SIGPIPE when grep stops reading early), which would rebuild the stand-ins for nothing.
have() { local names; names=$(buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null) && grep -qx "docker.io/library/node:$1" <<<"$names"; }
if have "$major-bookworm" && have "$major-bookworm-slim"; then
  echo "Dockerfile is on node:$major; its stand-in images are here"
else
  echo "Dockerfile is on node:$major; building its stand-in images (a few minutes, once per machine)…"
  LOCAL_NODE_IMAGE_DIR=${LOCAL_NODE_IMAGE_DIR:-/var/tmp/paperboy-node-image} "$shared/tools/local-node-image.sh" "$major" >/dev/null
fi
ca=$(npm config get cafile 2>/dev/null || true); vol=()
[ -n "$ca" ] && [ -f "$ca" ] && vol=(-v "$ca:/run/host-ca.pem:ro")
tag=localhost/paperboy-container-check
echo "building the Dockerfile…"
previous=$(buildah images -q --no-trunc "$tag" 2>/dev/null || true)
buildah bud -q --format docker "${vol[@]}" -t "$tag" . >/dev/null
# The last run's image, untagged now, would otherwise stay on disk (vfs keeps full copies).
if [ -n "$previous" ] && [ "$previous" != "$(buildah images -q --no-trunc "$tag")" ]; then buildah rmi "$previous" >/dev/null 2>&1 || true; fi
spec=$(buildah inspect --type image "$tag" | python3 -c '
import json, shlex, sys
c = json.load(sys.stdin)["Docker"]["config"]
print(c.get("User") or "root")
print(" ".join(sorted((c.get("Volumes") or {}).keys())))
print(shlex.join((c.get("Entrypoint") or []) + (c.get("Cmd") or [])))
print(json.dumps(c.get("Healthcheck")))')
user=$(sed -n 1p <<<"$spec"); volumes=$(sed -n 2p <<<"$spec"); cmd=$(sed -n 3p <<<"$spec"); hc=$(sed -n 4p <<<"$spec")
echo "image: user=$user volumes=[$volumes] cmd=[$cmd] healthcheck=$hc"

tmp=$(mktemp -d); chmod 755 "$tmp"; mounts=()
for v in $volumes; do d=$(mktemp -d -p "$tmp"); chmod 777 "$d"; mounts+=(-v "$d:$v"); done
mkdir "$tmp/in" && printf 'email,digest_size,keywords\nci@example.org,10,\n' >"$tmp/in/subscribers.csv" && chmod -R a+rX "$tmp/in"
c=$(buildah from "$tag")
# The server runs in a process group of its own: SIGTERM to `buildah run` alone leaves the
# container's node listening, so cleanup signals the whole group.
cleanup() {
  if [ -n "${pid:-}" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  [ -z "${api:-}" ] || kill "$api" 2>/dev/null || true
  buildah rm "$c" >/dev/null 2>&1; rm -rf "$tmp"
}
trap cleanup EXIT
inside() { buildah run --user "$user" "${mounts[@]}" -v "$tmp/in:/ci-in:ro" "$c" -- "$@"; }

version=$(buildah run "$c" -- node --version)
[[ $version == v$major.* ]] || { echo "the image runs Node $version, not $major" >&2; exit 1; }
echo "the image runs Node $version"

eval "set -- $cmd"
started=$(date +%s%N)
setsid buildah run --user "$user" "${mounts[@]}" --env PORT="$PORT" --env HOST=0.0.0.0 "$c" -- "$@" >"$tmp/run.log" 2>&1 &
pid=$!
healthy=
for _ in $(seq 600); do
  code=$(curl -s -o "$tmp/health" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)
  [ "$code" = 200 ] && { healthy=1; break; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$healthy" ]; then echo "container did not answer /healthz with 200; its output:"; tail -20 "$tmp/run.log"; exit 1; fi
echo "container answered /healthz 200 after $(( ($(date +%s%N) - started) / 1000000 )) ms: $(head -c 200 "$tmp/health")"

# The paper API for the dry run: the recorded day on page 0, an empty page after it (as the real API).
python3 - "$API_PORT" "$fixture" >"$tmp/api.log" 2>&1 <<'PY' &
import http.server, sys, urllib.parse
port, fixture = int(sys.argv[1]), sys.argv[2]
class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        body = open(fixture, 'rb').read() if q.get('p', ['0']) == ['0'] else b'[]'
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
http.server.ThreadingHTTPServer(('127.0.0.1', port), Api).serve_forever()
PY
api=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$API_PORT/?p=1" && break; sleep 0.1; done

echo "inside the image: npm run subscribers -- import, then npm run send-now -- --dry-run --date $DAY"
inside npm run --silent subscribers -- import /ci-in/subscribers.csv
out=$(inside env PAPERS_API_URL="http://127.0.0.1:$API_PORT/api/daily_papers" npm run --silent send-now -- --dry-run --date "$DAY" 2>&1) \
  || { echo "send-now --dry-run failed in the image:"; echo "$out"; exit 1; }
echo "$out" | grep -v '^npm warn' | sed 's/^/  /'
grep -q "dry run: 1 subscribers would get the digest" <<<"$out" || { echo "send-now --dry-run did not plan the digest for the imported subscriber" >&2; exit 1; }
kill -0 "$pid" 2>/dev/null || { echo "the server stopped while the operator commands ran:"; tail -20 "$tmp/run.log"; exit 1; }
echo "container check passed"
