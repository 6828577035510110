# Sourced by scripts/start.sh, scripts/with-node.sh and .ci/run (never run on its own).
#
# Keyplane supports the maintained Node.js lines: 22, 24 and 26 (20 reached end of life on
# 2026-04-30). The README's two commands must work on a machine whose own node is older, so:
#   - a supported system node is used as it is (the user chose it);
#   - otherwise the version in .nvmrc is installed from the npm registry (the `node-<os>-<arch>`
#     package, a plain Node.js binary) into a cache folder outside the checkout, and put first on
#     PATH for this script and every process it starts, npm's own included (so npm installs for a
#     supported engine and warns about none);
#   - KEYPLANE_NODE_VERSION=<x.y.z> forces that exact version (CI runs the suite on 24 and 26),
#     KEYPLANE_NODE_VERSION=system forces the system node, whatever it is.
# KEYPLANE_RUNTIME_DIR moves the cache (default: ${XDG_CACHE_HOME:-~/.cache}/keyplane/runtime).

KEYPLANE_SUPPORTED_NODE_MAJORS="22 24 26"

_kp_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

_kp_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null; }

kp_node_supported() {
  local major
  major=$(_kp_node_major) || return 1
  case " $KEYPLANE_SUPPORTED_NODE_MAJORS " in *" $major "*) return 0 ;; *) return 1 ;; esac
}

# Installs Node.js $1 (exact version) if needed and puts it first on PATH.
kp_install_node() {
  local version=$1 os arch pkg dir bin tmp
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
  pkg="node-$os-$arch"
  dir="${KEYPLANE_RUNTIME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keyplane/runtime}/node-$version-$os-$arch"
  bin="$dir/node_modules/$pkg/bin"
  if [ ! -x "$bin/node" ]; then
    printf 'keyplane: installing Node.js %s (%s from the npm registry) into %s\n' "$version" "$pkg" "$dir" >&2
    # Into a private folder first, then renamed: two starts at once never see half a runtime.
    mkdir -p "$(dirname "$dir")"
    tmp=$(mktemp -d "$dir.XXXXXX") || return 1
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$version" >&2; then
      rm -rf "$tmp"
      printf 'keyplane: could not install %s@%s. Install Node.js %s yourself (nvm, fnm, or your package manager) and run again.\n' \
        "$pkg" "$version" "${KEYPLANE_SUPPORTED_NODE_MAJORS// /, }" >&2
      return 1
    fi
    rm -rf "$dir" && mv "$tmp" "$dir" || return 1
  fi
  export PATH="$bin:$PATH"
  hash -r
}

# Makes `node` (and so npm, jest, tsc) a supported Node.js for the rest of the caller.
kp_use_node() {
  local want=${KEYPLANE_NODE_VERSION:-}
  if [ "$want" = system ]; then return 0; fi
  if [ -z "$want" ]; then
    kp_node_supported && return 0
    want=$(tr -d ' \r\n' < "$(_kp_root)/.nvmrc")
  fi
  [ "$(node -p 'process.versions.node' 2>/dev/null)" = "$want" ] && return 0
  kp_install_node "$want" || return 1
  if [ "$(node -p 'process.versions.node')" != "$want" ]; then
    printf 'keyplane: expected Node.js %s on PATH, found %s\n' "$want" "$(node --version)" >&2
    return 1
  fi
}

# Installs the project's dependencies when node_modules is missing or older than the manifests
# (npm rewrites node_modules/.package-lock.json on every install: it marks the last one). Native
# addons are built for one Node.js ABI: when the major differs from the one recorded in
# node_modules/.keyplane-node, they are rebuilt.
kp_ensure_dependencies() {
  local root stamp major
  root=$(_kp_root)
  stamp="$root/node_modules/.keyplane-node"
  major=$(_kp_node_major)
  if [ ! -f "$root/node_modules/.package-lock.json" ] ||
    [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ] ||
    [ "$root/package.json" -nt "$root/node_modules/.package-lock.json" ]; then
    printf '\n== installing dependencies (Node.js %s)\n' "$(node --version)" >&2
    (cd "$root" && npm install --no-audit --no-fund >&2) || return 1
  elif [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$major" ]; then
    printf '\n== rebuilding native dependencies for Node.js %s\n' "$(node --version)" >&2
    (cd "$root" && npm rebuild >&2) || return 1
  fi
  printf '%s\n' "$major" > "$stamp"
}
