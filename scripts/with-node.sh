#!/usr/bin/env bash
# Runs a command on a supported Node.js with the dependencies installed: `npm test` and the other
# npm scripts that start node go through here (see scripts/node-runtime.sh for how the runtime is chosen).
set -euo pipefail
# shellcheck source=scripts/node-runtime.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-runtime.sh"
kp_use_node
kp_ensure_dependencies
exec "$@"
