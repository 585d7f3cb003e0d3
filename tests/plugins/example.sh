#!/bin/sh
# The minimal plugin of docs/plugins.md, built as its reader would: against
# the header and pkg-config file that `cmake --install` puts in a prefix,
# and nothing of the source tree. Usage: example.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(dirname "$(find "$tmp/prefix" -name vigil-plugin.pc)")
# The first C block of the guide is the example.
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on {print}' "$src/docs/plugins.md" >"$tmp/high_alerts.c"
grep -q VIGIL_PLUGIN_DEFINE "$tmp/high_alerts.c"
cflags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags vigil-plugin)
case "$cflags" in *"$src"*) echo "cflags point into the source tree: $cflags" >&2; exit 1 ;; esac
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden $cflags "$tmp/high_alerts.c" -o "$tmp/high_alerts.so"
# One exported symbol: the entry.
exported=$(nm -D --defined-only "$tmp/high_alerts.so" | awk '$2 ~ /^[A-Z]$/ {print $3}')
[ "$exported" = vigil_plugin_entry ] || { echo "exports: $exported" >&2; exit 1; }
plugindir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=plugindir vigil-plugin)
[ -n "$plugindir" ]
echo "example plugin built against $cflags"
