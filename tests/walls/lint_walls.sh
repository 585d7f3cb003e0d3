#!/bin/sh
# The walls `make lint` keeps (scripts/include-walls, scripts/include-circles),
# tried on small trees made here: each breach must be refused, naming its file
# and line, and a tree without one must pass.
# Usage: lint_walls.sh SCRIPTS_DIR
set -u
scripts=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# tree NAME: a small tree of rooms and a plugin that keep the walls.
tree() {
  t="$tmp/$1"
  mkdir -p "$t/include/vigil" "$t/core/engine/include/engine" "$t/core/base/include/base" \
    "$t/server/api" "$t/plugins/foo/codec" "$t/plugins/common/include/plugin_common"
  echo '/* the ABI */' >"$t/include/vigil/plugin.h"
  echo '/* the embedding API */' >"$t/include/vigil/vigil.h"
  echo '/* private */' >"$t/core/engine/engine.h"
  echo '#include "engine/inspect.h"' >"$t/core/engine/engine.c"
  echo '#include <stdio.h>' >"$t/core/engine/include/engine/inspect.h"
  echo '#include "base/b.h"' >"$t/core/base/include/base/a.h"
  echo '#include <string.h>' >"$t/core/base/include/base/b.h"
  echo '#include "vigil/plugin.h"' >"$t/plugins/common/include/plugin_common/plugin_common.h"
  echo '#include "engine/inspect.h"' >"$t/server/api/api.c"
  printf '#include <stdio.h>\n#include "vigil/plugin.h"\n#include <vigil/plugin.h>\n#include "plugin_common/plugin_common.h"\n#include "codec.h"\n' \
    >"$t/plugins/foo/foo.c"
  echo '#include <uv.h>' >"$t/plugins/foo/codec/codec.h"
}

# expect_refused SCRIPT TREE WHAT...: SCRIPT fails on TREE and its message
# holds each WHAT (a file:line, a name).
expect_refused() {
  script=$1
  t=$2
  shift 2
  if VIGIL_LINT_ROOT="$tmp/$t" "$scripts/$script" >"$tmp/out" 2>&1; then
    echo "FAIL: $script passed the tree $t:"
    sed 's/^/  /' "$tmp/out"
    failed=1
    return
  fi
  for what in "$@"; do
    if ! grep -qF -- "$what" "$tmp/out"; then
      echo "FAIL: $script refused $t without naming '$what':"
      sed 's/^/  /' "$tmp/out"
      failed=1
    fi
  done
}

expect_passed() {
  script=$1
  t=$2
  if ! VIGIL_LINT_ROOT="$tmp/$t" "$scripts/$script" >"$tmp/out" 2>&1; then
    echo "FAIL: $script refused the tree $t:"
    sed 's/^/  /' "$tmp/out"
    failed=1
  fi
}

tree clean
expect_passed include-walls clean
expect_passed include-circles clean

# The API reaching the engine's private model by a relative path.
tree relative
printf '#include <stdio.h>\n#include "../../core/engine/engine.h"\n' >"$tmp/relative/server/api/api.c"
expect_refused include-walls relative 'server/api/api.c:2' '../../core/engine/engine.h' 'with ..'

# The same by an absolute path.
tree absolute
echo "#include \"$tmp/absolute/core/engine/engine.h\"" >"$tmp/absolute/server/api/api.c"
expect_refused include-walls absolute 'server/api/api.c:1' 'absolute name'

# A plugin including the embedding API, with "..." and with <...>, and a
# room's header; plugins/common reading the engine.
tree plugin
printf '#include "vigil/plugin.h"\n#include "vigil/vigil.h"\n' >"$tmp/plugin/plugins/foo/foo.c"
echo '#include <vigil/vigil.h>' >"$tmp/plugin/plugins/foo/codec/codec.h"
echo '#include <engine/inspect.h>' >"$tmp/plugin/plugins/common/include/plugin_common/plugin_common.h"
expect_refused include-walls plugin 'plugins/foo/foo.c:2' 'plugins/foo/codec/codec.h:1' \
  'plugins/common/include/plugin_common/plugin_common.h:1' 'a plugin sees vigil/plugin.h'

# Two room headers including each other through <...>.
tree angle
echo '#include <base/a.h>' >"$tmp/angle/core/base/include/base/b.h"
expect_refused include-circles angle 'core/base/include/base/a.h' 'core/base/include/base/b.h'

[ $failed = 0 ] && echo "lint_walls: every breach refused, the clean tree passed"
exit $failed
