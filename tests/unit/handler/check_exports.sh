#!/bin/sh
# The plugin must export exactly one symbol of its own: handler_init.
# usage: check_exports.sh path/to/handler_rbdtier.so
set -eu
so=$1
defined=$(nm -D --defined-only "$so" | awk '{print $3}' | sort -u)
echo "defined dynamic symbols: $defined"
[ "$defined" = "handler_init" ] || { echo "FAIL: expected only handler_init" >&2; exit 1; }
nm -D --defined-only "$so" | grep -q ' T handler_init$' || { echo "FAIL: handler_init not text" >&2; exit 1; }
# It must not link a tcmu library: tcmu symbols stay undefined, resolved by the host.
if ldd "$so" | grep -qi tcmu; then echo "FAIL: links a tcmu library" >&2; exit 1; fi
nm -D --undefined-only "$so" | grep -q ' tcmur_register_handler$' || { echo "FAIL: tcmur_register_handler not undefined" >&2; exit 1; }

# Every tcmu symbol it needs must be provided by the real tcmu-runner (and its libtcmu), when
# installed, or the runner's dlopen(RTLD_NOW) would refuse the plugin.
runner=/usr/bin/tcmu-runner
if [ -x "$runner" ]; then
    provided=$( { nm -D --defined-only "$runner"
                  for lib in $(ldd "$runner" | awk '/tcmu/ {print $3}'); do nm -D --defined-only "$lib"; done
                } | awk '{print $3}' | sort -u)
    missing=$(nm -D --undefined-only "$so" | awk '{print $2}' | grep -E '^tcmur?_' | sort -u |
              while read -r sym; do echo "$provided" | grep -qx "$sym" || echo "$sym"; done)
    [ -z "$missing" ] || { echo "FAIL: not provided by $runner: $missing" >&2; exit 1; }
    echo "tcmu symbols all provided by $runner"
fi
echo OK
