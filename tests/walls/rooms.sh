#!/bin/sh
# The walls as the compiler and the linker see them (scripts/include-rooms,
# scripts/symbol-rooms, both run by `make lint`): the build given passes
# both; then, on a small tree of three rooms made here (engine; http, which
# uses nothing; api, which uses the engine), every way round the include
# walls that include-walls' reading of #include lines lets through is
# refused, each named, and so is a link across a wall: http's file declaring
# the engine's vigil__engine_now itself and calling it.
# Usage: rooms.sh CC AR SCRIPTS_DIR BUILD
set -u
cc=$1
ar=$2
scripts=$3
build=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
# Every object keeps its types' debugging information, as the build's do
# (cmake/rooms.cmake): scripts/type-copies reads it.
dbg="-g -fno-eliminate-unused-debug-types"

for script in include-rooms type-copies symbol-rooms; do
  if ! "$scripts/$script" "$build" >"$tmp/out" 2>&1; then
    echo "FAIL: $script refused the build $build:"
    cat "$tmp/out"
    failed=1
  fi
done

# room NAME DIR USES...: declares a room of the tree t as cmake/rooms.cmake
# does (LINKS=ROOM: a room it links without seeing its headers).
t=$tmp/tree
b=$tmp/build
room() {
  name=$1
  dir=$2
  shift 2
  mkdir -p "$t/$dir" "$b/$dir/CMakeFiles/vigil_$name.dir" "$b/rooms"
  pub=
  [ -d "$t/$dir/include" ] && pub="$t/$dir/include"
  api="$t/include/vigil"
  case $name in plugin*) api="$t/include/vigil/plugin.h" ;; esac
  echo "$name|$t/$dir|$b/$dir|$b/$dir/CMakeFiles/vigil_$name.dir|$b/$dir/libvigil_$name.a|$*|$pub|$api|${LINKS:-}" >"$b/rooms/$name.room"
}
# unit ROOM DIR FILE FLAGS...: compiles FILE of the tree with the room's
# include path (and FLAGS), its dependency file where CMake puts it.
unit() {
  name=$1
  dir=$2
  file=$3
  shift 3
  "$cc" -w $dbg -I"$t/include" -I"$t/$dir" -I"$t/core/engine/include" "$@" -MD \
    -MF "$b/$dir/CMakeFiles/vigil_$name.dir/$file.o.d" -c "$t/$dir/$file" \
    -o "$b/$dir/CMakeFiles/vigil_$name.dir/$file.o" || { echo "FAIL: $file did not compile"; failed=1; }
}
mkdir -p "$t/include/vigil" "$t/core/engine/include/engine" "$t/server/http" "$t/server/api" \
  "$t/plugins/common/include/plugin_common" "$t/plugins/foo"
echo 'int vigil_version(void);' >"$t/include/vigil/vigil.h"
echo 'int vigil_plugin_entry(void);' >"$t/include/vigil/plugin.h"
echo '#include "vigil/plugin.h"' >"$t/plugins/common/include/plugin_common/plugin_common.h"
echo 'struct visit { int id; long sim_now; };' >"$t/core/engine/model.h"
echo 'int vigil__engine_now(void);' >"$t/core/engine/include/engine/inspect.h"
room engine core/engine
room http server/http
room api server/api engine
room plugin_common plugins/common
room plugin_foo plugins/foo plugin_common
printf '#include "model.h"\n#include "engine/inspect.h"\nint vigil__engine_now(void) { return 1; }\nint vigil_version(void) { return 1; }\n' \
  >"$t/core/engine/engine.c"
unit engine core/engine engine.c
# The API keeping to its walls: its own private header, the engine's public
# one, the public API, the system's.
echo 'struct api { int n; };' >"$t/server/api/api_internal.h"
printf '#include <stdio.h>\n#include "vigil/vigil.h"\n#include "engine/inspect.h"\n#include "api_internal.h"\nint vigil__api(void);\nint vigil__api(void) { return vigil__engine_now(); }\n' \
  >"$t/server/api/api.c"
unit api server/api api.c
echo 'int vigil__http(void);' >"$t/server/http/http.c"
echo 'int vigil__http(void) { return 0; }' >>"$t/server/http/http.c"
unit http server/http http.c
# A plugin: the ABI, plugins/common's header, its own.
echo 'struct foo { int n; };' >"$t/plugins/foo/foo.h"
printf '#include "vigil/plugin.h"\n#include "plugin_common/plugin_common.h"\n#include "foo.h"\nint vigil_plugin_entry(void) { return 0; }\n' \
  >"$t/plugins/foo/foo.c"
unit plugin_foo plugins/foo foo.c -I"$t/plugins/common/include"
printf '#include "vigil/plugin.h"\nint vigil__plugin_log(void);\nint vigil__plugin_log(void) { return 0; }\n' \
  >"$t/plugins/common/plugin_common.c"
unit plugin_common plugins/common plugin_common.c
"$ar" rc "$b/plugins/common/libvigil_plugin_common.a" "$b/plugins/common/CMakeFiles/vigil_plugin_common.dir/plugin_common.c.o"
"$ar" rc "$b/plugins/foo/libvigil_plugin_foo.a" "$b/plugins/foo/CMakeFiles/vigil_plugin_foo.dir/foo.c.o"
"$ar" rc "$b/core/engine/libvigil_engine.a" "$b/core/engine/CMakeFiles/vigil_engine.dir/engine.c.o"
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/api.c.o"
"$ar" rc "$b/server/http/libvigil_http.a" "$b/server/http/CMakeFiles/vigil_http.dir/http.c.o"
for script in include-rooms type-copies symbol-rooms; do
  if ! VIGIL_LINT_ROOT="$t" "$scripts/$script" "$b" >"$tmp/out" 2>&1; then
    echo "FAIL: $script refused the tree that keeps the walls:"
    cat "$tmp/out"
    failed=1
  fi
done

# Every way round: each file of the API reads the engine's private model.
m='../../core/engine/model.h'
printf '#define ENG "%s"\n#include ENG\n' "$m" >"$t/server/api/by_macro.c"
printf '#inc\\\nlude "%s"\n' "$m" >"$t/server/api/by_continuation.c"
printf '#include /* the model */ "%s"\n' "$m" >"$t/server/api/by_comment.c"
printf '%%:include "%s"\n' "$m" >"$t/server/api/by_digraph.c"
printf '#import "%s"\n' "$m" >"$t/server/api/by_import.c"
ln -s ../../core/engine "$t/server/api/eng"
printf '#include "eng/model.h"\n' >"$t/server/api/by_symlink.c"
printf '#include "model.h"\n' >"$t/server/api/by_include_directory.c"
printf '#include ENGINE_MODEL\n' >"$t/server/api/by_definition.c"
printf '#include "routes.inc"\n' >"$t/server/api/by_other_file.c"
printf '#include "%s"\n' "$m" >"$t/server/api/routes.inc"
cp "$t/core/engine/model.h" "$tmp/model.h"
printf '#include "%s"\n' "$tmp/model.h" >"$t/server/api/by_outside.c"
for f in by_macro by_continuation by_comment by_digraph by_import by_symlink by_other_file by_outside; do
  unit api server/api $f.c
done
unit api server/api by_include_directory.c -I"$t/core/engine"
unit api server/api by_definition.c "-DENGINE_MODEL=\"$m\""
# A plugin reading the embedding API (its include path holds include/, where
# vigil.h sits beside plugin.h) through a macro.
printf '#define API "vigil/vigil.h"\n#include API\n' >"$t/plugins/foo/embeds.c"
unit plugin_foo plugins/foo embeds.c
# The API compiling a file of the engine's folder as its own (a SOURCES
# naming ../../core/engine/engine.c).
"$cc" -w $dbg -I"$t/include" -I"$t/server/api" -I"$t/core/engine/include" -MD \
  -MF "$b/server/api/CMakeFiles/vigil_api.dir/engine_borrowed.c.o.d" -c "$t/core/engine/engine.c" \
  -o "$b/server/api/CMakeFiles/vigil_api.dir/engine_borrowed.c.o" || { echo "FAIL: engine.c did not compile"; failed=1; }
# And http, which uses nothing, reading the engine's public header.
printf '#include "engine/inspect.h"\n' >"$t/server/http/reads_engine.c"
unit http server/http reads_engine.c
if VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1; then
  echo "FAIL: include-rooms passed the ways round the walls:"
  cat "$tmp/out"
  failed=1
fi
for f in by_macro by_continuation by_comment by_digraph by_import by_symlink by_include_directory by_definition \
  by_other_file; do
  grep -qF "api: server/api/$f.c reads core/engine/model.h: a private file of room engine" "$tmp/out" ||
    { echo "FAIL: include-rooms did not refuse $f.c:"; cat "$tmp/out"; failed=1; }
done
grep -qF "api: server/api/by_outside.c reads $tmp/model.h: a file outside the tree" "$tmp/out" ||
  { echo "FAIL: include-rooms did not refuse by_outside.c:"; cat "$tmp/out"; failed=1; }
grep -qF "http: server/http/reads_engine.c reads core/engine/include/engine/inspect.h: room engine, which http does not use" "$tmp/out" ||
  { echo "FAIL: include-rooms did not refuse http reading the engine:"; cat "$tmp/out"; failed=1; }
grep -qF "api: core/engine/engine.c reads core/engine/engine.c: a private file of room engine" "$tmp/out" ||
  { echo "FAIL: include-rooms did not refuse the API compiling the engine's file:"; cat "$tmp/out"; failed=1; }
grep -qF "plugin_foo: plugins/foo/embeds.c reads include/vigil/vigil.h: more of the public API than plugin_foo sees" "$tmp/out" ||
  { echo "FAIL: include-rooms did not refuse a plugin reading vigil.h:"; cat "$tmp/out"; failed=1; }
grep -qF "foo.c " "$tmp/out" && { echo "FAIL: include-rooms refused foo.c, which keeps the walls:"; cat "$tmp/out"; failed=1; }
grep -qF "api.c " "$tmp/out" && { echo "FAIL: include-rooms refused api.c, which keeps the walls:"; cat "$tmp/out"; failed=1; }

# A room calling the engine through the public API it links and does not
# include (export/: LINKS engine) keeps the walls.
mkdir -p "$t/export"
LINKS=engine room export export
printf '#include "vigil/vigil.h"\nint vigil__export(void);\nint vigil__export(void) { return vigil_version(); }\n' >"$t/export/fhir.c"
unit export export fhir.c
"$ar" rc "$b/export/libvigil_export.a" "$b/export/CMakeFiles/vigil_export.dir/fhir.c.o"
if ! VIGIL_LINT_ROOT="$t" "$scripts/symbol-rooms" "$b" >"$tmp/out" 2>&1; then
  echo "FAIL: symbol-rooms refused a room calling what it LINKS:"
  cat "$tmp/out"
  failed=1
fi

# refused_saying SCRIPT WHAT SAID...: SCRIPT, run on the tree, fails (it
# passed WHAT) and says each of SAID; its output is left in $tmp/out.
refused_saying() {
  script=$1
  what=$2
  shift 2
  if VIGIL_LINT_ROOT="$t" "$scripts/$script" "$b" >"$tmp/out" 2>&1; then
    echo "FAIL: $script passed $what:"
    cat "$tmp/out"
    failed=1
  fi
  for said in "$@"; do
    grep -qF "$said" "$tmp/out" || { echo "FAIL: $script did not say '$said':"; cat "$tmp/out"; failed=1; }
  done
}

# The ninth review's item 1: a weak definition of the engine's function in
# an API file, called there, links to the engine's strong one, and was
# counted as the API's own; a strong global two rooms define (http's
# vigil__api) the same. Item 2: -Wl,--wrap=vigil__engine_now makes http's
# __real_vigil__engine_now the engine's function (and the API's
# __wrap_vigil__engine_now every room's call of it): no prefix, so no check
# looked. Each refused, naming the room, the object and the symbol.
printf '__attribute__((weak)) int vigil__engine_now(void) { return 0; }\nint vigil__api_weak(void);\nint vigil__api_weak(void) { return vigil__engine_now(); }\nint vigil__api_wrap(void);\nint vigil__api_wrap(void) { return 1; }\nint __wrap_vigil__engine_now(void) { return vigil__api_wrap(); }\n' \
  >"$t/server/api/weak.c"
printf 'int vigil__api(void);\nint vigil__api(void) { return 2; }\nint __real_vigil__engine_now(void);\nint vigil__http_real(void);\nint vigil__http_real(void) { return __real_vigil__engine_now() + vigil__api(); }\n' \
  >"$t/server/http/twice.c"
unit api server/api weak.c
unit http server/http twice.c
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/weak.c.o"
"$ar" rc "$b/server/http/libvigil_http.a" "$b/server/http/CMakeFiles/vigil_http.dir/twice.c.o"
refused_saying symbol-rooms "a weak definition, a global two rooms define, and __real_/__wrap_ names" \
  "api: weak.c.o defines vigil__engine_now weak: a weak definition" \
  "vigil__engine_now is defined by more than one room: api (weak.c.o) engine (engine.c.o)" \
  "vigil__api is defined by more than one room: api (api.c.o) http (twice.c.o)" \
  "http: twice.c.o uses __real_vigil__engine_now: a name the link's -Wl,--wrap makes vigil__engine_now's" \
  "api: weak.c.o defines __wrap_vigil__engine_now: a name the link's -Wl,--wrap makes vigil__engine_now's"
"$ar" d "$b/server/api/libvigil_api.a" weak.c.o
"$ar" d "$b/server/http/libvigil_http.a" twice.c.o
rm -f "$b/server/api/CMakeFiles/vigil_api.dir"/weak.c.o* "$b/server/http/CMakeFiles/vigil_http.dir"/twice.c.o*
if ! VIGIL_LINT_ROOT="$t" "$scripts/symbol-rooms" "$b" >"$tmp/out" 2>&1; then
  echo "FAIL: symbol-rooms refused the tree once the weak stub, the global defined twice and the wrap are gone:"
  cat "$tmp/out"
  failed=1
fi

# A link across a wall: http declares the engine's function and calls it,
# and calls the public API, whose room it neither uses nor links.
printf 'int vigil__engine_now(void);\nint vigil__nowhere(void);\nint vigil__http_now(void);\nint vigil__http_now(void) { return vigil__engine_now() + vigil__nowhere(); }\n' \
  >"$t/server/http/now.c"
printf '#include "vigil/vigil.h"\nint vigil__http_version(void);\nint vigil__http_version(void) { return vigil_version(); }\n' \
  >"$t/server/http/version.c"
unit http server/http now.c
unit http server/http version.c
"$ar" rc "$b/server/http/libvigil_http.a" "$b/server/http/CMakeFiles/vigil_http.dir/now.c.o" \
  "$b/server/http/CMakeFiles/vigil_http.dir/version.c.o"
refused_saying symbol-rooms "http linking the engine's vigil__engine_now" \
  'http: now.c.o uses vigil__engine_now of room engine, which http does not use' \
  'http: now.c.o uses vigil__nowhere, which no room defines' \
  'http: version.c.o uses vigil_version of room engine, which http does not use'
grep -qE '^  (api|export):' "$tmp/out" && { echo "FAIL: symbol-rooms refused api or export, which use or link the engine:"; cat "$tmp/out"; failed=1; }

# The seventh review's item 3: the walls held per room, not per header. The
# API uses the engine, and a prototype typed by hand linked: of the engine's
# private function (no header of its include/ declares it; one names it in a
# comment only), and of its public one (the object never read inspect.h).
# api.c, which includes inspect.h, passes.
printf 'int vigil__engine_private(void);\nint vigil__engine_private(void) { return 2; }\n' >"$t/core/engine/private.c"
echo '/* vigil__engine_private(): not for other rooms */' >"$t/core/engine/include/engine/comment.h"
unit engine core/engine private.c
"$ar" rc "$b/core/engine/libvigil_engine.a" "$b/core/engine/CMakeFiles/vigil_engine.dir/private.c.o"
for call in private:vigil__engine_private by_hand:vigil__engine_now; do
  f=${call%%:*} fn=${call#*:}
  printf 'int %s(void);\nint vigil__api_%s(void);\nint vigil__api_%s(void) { return %s(); }\n' "$fn" "$f" "$f" "$fn" \
    >"$t/server/api/$f.c"
  unit api server/api "$f.c"
  "$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/$f.c.o"
done
refused_saying symbol-rooms "the API declaring the engine's functions by hand" \
  'api: private.c.o uses vigil__engine_private of room engine, which no header of its include/ declares' \
  'api: by_hand.c.o uses vigil__engine_now of room engine without reading ' \
  'engine/inspect.h, which declares it (its prototype typed by hand)'
grep -qF 'api: api.c.o' "$tmp/out" && { echo "FAIL: symbol-rooms refused api.c, which includes inspect.h:"; cat "$tmp/out"; failed=1; }
# The eighth review's item 1: the same breach in the program room. cli's
# room is the vigil program, whose link resolved every name: its objects
# are read (scripts/link-rooms --objects), its main.c declaring the
# engine's private function by hand is refused as the API's file was.
mkdir -p "$t/cli" "$b/cli/CMakeFiles/vigil.dir"
echo "cli|$t/cli|$b/cli|$b/cli/CMakeFiles/vigil.dir|$b/vigil|api engine http|||" >"$b/rooms/cli.room"
printf 'int vigil__engine_private(void);\nint main(void) { return vigil__engine_private(); }\n' >"$t/cli/main.c"
"$cc" -w $dbg -MD -MF "$b/cli/CMakeFiles/vigil.dir/main.c.o.d" -c "$t/cli/main.c" -o "$b/cli/CMakeFiles/vigil.dir/main.c.o"
"$cc" -o "$b/vigil" "$b/cli/CMakeFiles/vigil.dir/main.c.o" "$b/core/engine/libvigil_engine.a"
echo "cc -o ../vigil CMakeFiles/vigil.dir/main.c.o ../core/engine/libvigil_engine.a" >"$b/cli/CMakeFiles/vigil.dir/link.txt"
refused_saying symbol-rooms "cli's program declaring the engine's private function by hand" \
  'cli: main.c.o uses vigil__engine_private of room engine, which no header of its include/ declares'
rm -rf "$b/rooms/cli.room" "$b/cli" "$b/vigil" "$t/cli"
"$ar" d "$b/server/api/libvigil_api.a" private.c.o by_hand.c.o
"$ar" d "$b/core/engine/libvigil_engine.a" private.c.o
rm -f "$b/server/api/CMakeFiles/vigil_api.dir"/private.c.o* "$b/server/api/CMakeFiles/vigil_api.dir"/by_hand.c.o* \
  "$b/core/engine/CMakeFiles/vigil_engine.dir"/private.c.o* "$t/core/engine/include/engine/comment.h"

# The fourth review's ways round (docs/architecture.md): each on a fresh
# copy of the tree that keeps the walls.
# (1) A copy of the engine's private model made at build time by the
# preprocessor into the API's own build folder, which include-rooms takes as
# the API's own generated file: type-copies names the copy.
rm -f "$b/server/api/CMakeFiles/vigil_api.dir"/by_*.d "$b/server/api/CMakeFiles/vigil_api.dir/engine_borrowed.c.o.d" \
  "$b/plugins/foo/CMakeFiles/vigil_plugin_foo.dir/embeds.c.o.d" "$b/server/http/CMakeFiles/vigil_http.dir/reads_engine.c.o.d"
"$cc" -E -P "$t/core/engine/model.h" >"$b/server/api/model_copy.h"
printf '#include "model_copy.h"\nint vigil__api_copy(void);\nint vigil__api_copy(void) { struct visit v = {1}; return v.id; }\n' \
  >"$t/server/api/by_copy.c"
unit api server/api by_copy.c -I"$b/server/api"
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/by_copy.c.o"
if ! VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1; then
  echo "FAIL: include-rooms refused the copy (this test means to show it passes it):"
  cat "$tmp/out"
  failed=1
fi
if VIGIL_LINT_ROOT="$t" "$scripts/type-copies" "$b" >"$tmp/out" 2>&1 ||
  ! grep -F "both define struct visit: a type of one room defined again in another" "$tmp/out" |
  grep -F "(build)/server/api/model_copy.h (room api)" | grep -qF "core/engine/model.h (room engine)"; then
  echo "FAIL: type-copies did not refuse the preprocessed copy of the engine's model:"
  cat "$tmp/out"
  failed=1
fi
"$ar" d "$b/server/api/libvigil_api.a" by_copy.c.o
rm -f "$b/server/api/CMakeFiles/vigil_api.dir/by_copy.c.o.d" "$b/server/api/model_copy.h"
# The eighth review's item 2: a copy in part that keeps its name (the
# engine's struct visit with its first member only, typed in an API file)
# keyed differently from the whole and passed; so did another type under
# the name, and the public API's type defined again in a room. A type's name
# is its room's, whatever its members.
printf 'struct visit { int id; };\nint vigil__api_part(void *p);\nint vigil__api_part(void *p) { return ((struct visit *)p)->id; }\n' \
  >"$t/server/api/by_part.c"
printf 'struct vigil_options { int clock; };\nint vigil__http_options(void);\nint vigil__http_options(void) { struct vigil_options o = {1}; return o.clock; }\n' \
  >"$t/server/http/by_public.c"
echo 'struct vigil_options { int clock; int sim_start; };' >>"$t/include/vigil/vigil.h"
unit api server/api by_part.c
unit http server/http by_public.c
printf '#include "vigil/vigil.h"\nint vigil__engine_options(void);\nint vigil__engine_options(void) { return 0; }\n' >"$t/core/engine/options.c"
unit engine core/engine options.c
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/by_part.c.o"
"$ar" rc "$b/server/http/libvigil_http.a" "$b/server/http/CMakeFiles/vigil_http.dir/by_public.c.o"
"$ar" rc "$b/core/engine/libvigil_engine.a" "$b/core/engine/CMakeFiles/vigil_engine.dir/options.c.o"
refused_saying type-copies "a copy in part of the engine's struct visit, and of the public API's struct vigil_options" \
  'core/engine/model.h (room engine) and server/api/by_part.c (room api) both define struct visit: a type of one room defined again in another' \
  'include/vigil/vigil.h (the public API) and server/http/by_public.c (room http) both define struct vigil_options'
rm -f "$b/server/api/CMakeFiles/vigil_api.dir/by_part.c.o"* "$b/server/http/CMakeFiles/vigil_http.dir/by_public.c.o"* \
  "$b/core/engine/CMakeFiles/vigil_engine.dir/options.c.o"*
"$ar" d "$b/server/api/libvigil_api.a" by_part.c.o
"$ar" d "$b/server/http/libvigil_http.a" by_public.c.o
"$ar" d "$b/core/engine/libvigil_engine.a" options.c.o
sed -i '/^struct vigil_options/d' "$t/include/vigil/vigil.h"
# The ninth review's item 3: type-copies read the files' text with a regex,
# and a copy keeping its name passed with an attribute, a C23 attribute,
# nested in another struct, in a function, from a macro tag, as `typedef
# struct {...} visit;`, or read only through offsetof (no variable of it).
# It reads the compiler's debugging information now: each is named. And a
# copy under a #line naming the engine's model.h (as `cc -E` without -P
# writes) would be taken for the original: named as a file not read.
printf 'struct __attribute__((may_alias)) visit { int id; };\n' >"$t/server/api/t_attribute.c"
printf 'struct [[gnu::may_alias]] visit { int id; };\n' >"$t/server/api/t_c23.c"
printf 'struct holder { struct visit { int id; } v; };\n' >"$t/server/api/t_nested.c"
printf 'int vigil__api_local(void);\nint vigil__api_local(void) { struct visit { int id; } v = {1}; return v.id; }\n' >"$t/server/api/t_local.c"
printf '#define TAG(n) n\nstruct TAG(visit) { int id; };\n' >"$t/server/api/t_macro.c"
printf 'typedef struct { int id; } visit;\n' >"$t/server/api/t_typedef.c"
printf '#include <stddef.h>\nstruct visit { int id; long sim_now; };\nlong vigil__api_offset(void *p);\nlong vigil__api_offset(void *p) { return *(long *)((char *)p + offsetof(struct visit, sim_now)); }\n' \
  >"$t/server/api/t_offset.c"
echo 'struct visit2 { int id; };' >"$t/server/api/t_line.c"
printf '#line 1 "%s"\nstruct visit { int id; long sim_now; };\n' "$t/core/engine/model.h" >>"$t/server/api/t_line.c"
for f in t_attribute t_c23 t_nested t_local t_macro t_typedef t_offset t_line; do
  unit api server/api $f.c -std=c2x
  "$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/$f.c.o"
done
refused_saying type-copies "copies of the engine's struct visit a regex does not read" \
  'api: t_line.c.o defines struct visit in core/engine/model.h, a file it did not read'
sed -i '/^#line/,$d' "$t/server/api/t_line.c"
unit api server/api t_line.c
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/t_line.c.o"
said=
for f in t_attribute t_c23 t_nested t_local t_macro t_typedef t_offset; do
  said="$said|core/engine/model.h (room engine) and server/api/$f.c (room api) both define struct visit"
done
IFS='|'
# shellcheck disable=SC2086
refused_saying type-copies "copies of the engine's struct visit a regex does not read" ${said#|}
unset IFS
for f in t_attribute t_c23 t_nested t_local t_macro t_typedef t_offset t_line; do
  "$ar" d "$b/server/api/libvigil_api.a" $f.c.o
  rm -f "$b/server/api/CMakeFiles/vigil_api.dir/$f.c.o"*
done
# Without debugging information, nothing is read: refused, not passed.
"$cc" -w -I"$t/include" -MD -MF "$b/server/api/CMakeFiles/vigil_api.dir/t_bare.c.o.d" -c "$t/server/api/t_line.c" \
  -o "$b/server/api/CMakeFiles/vigil_api.dir/t_bare.c.o"
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/vigil_api.dir/t_bare.c.o"
refused_saying type-copies "an object without debugging information" \
  "type-copies: these objects hold no debugging information" "  api: t_bare.c.o"
"$ar" d "$b/server/api/libvigil_api.a" t_bare.c.o
rm -f "$b/server/api/CMakeFiles/vigil_api.dir/t_bare.c.o"*
if ! VIGIL_LINT_ROOT="$t" "$scripts/type-copies" "$b" >"$tmp/out" 2>&1; then
  echo "FAIL: type-copies refused the tree once the copies are gone:"
  cat "$tmp/out"
  failed=1
fi

# (2) An OBJECT library compiled with the engine's folder on its include
# path, its objects added to the API's library: its dependency file is in
# CMakeFiles/sneaky.dir/, where include-rooms read nothing.
mkdir -p "$b/server/api/CMakeFiles/sneaky.dir"
printf '#include "model.h"\nint vigil__api_sneaky(void);\nint vigil__api_sneaky(void) { struct visit v = {2}; return v.id; }\n' \
  >"$t/server/api/sneaky.c"
"$cc" -w $dbg -I"$t/include" -I"$t/core/engine" -MD -MF "$b/server/api/CMakeFiles/sneaky.dir/sneaky.c.o.d" \
  -c "$t/server/api/sneaky.c" -o "$b/server/api/CMakeFiles/sneaky.dir/sneaky.c.o"
"$ar" rc "$b/server/api/libvigil_api.a" "$b/server/api/CMakeFiles/sneaky.dir/sneaky.c.o"
if VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "api: libvigil_api.a holds sneaky.c.o, which left no dependency file" "$tmp/out"; then
  echo "FAIL: include-rooms did not refuse an OBJECT library's object in the API's library:"
  cat "$tmp/out"
  failed=1
fi
# The same object on a program's link line (a room that is a program: cli).
mkdir -p "$t/cli" "$b/cli/CMakeFiles/vigil.dir"
echo "cli|$t/cli|$b/cli|$b/cli/CMakeFiles/vigil.dir|$b/vigil|api engine http|||" >"$b/rooms/cli.room"
printf 'int main(void) { return 0; }\n' >"$t/cli/main.c"
"$cc" -w $dbg -MD -MF "$b/cli/CMakeFiles/vigil.dir/main.c.o.d" -c "$t/cli/main.c" -o "$b/cli/CMakeFiles/vigil.dir/main.c.o"
"$cc" -o "$b/vigil" "$b/cli/CMakeFiles/vigil.dir/main.c.o"
echo "cc -o ../vigil CMakeFiles/vigil.dir/main.c.o ../server/api/CMakeFiles/sneaky.dir/sneaky.c.o" >"$b/cli/CMakeFiles/vigil.dir/link.txt"
if VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "cli: vigil links $b/cli/../server/api/CMakeFiles/sneaky.dir/sneaky.c.o, which left no dependency file" "$tmp/out"; then
  echo "FAIL: include-rooms did not refuse an OBJECT library's object on a program's link line:"
  cat "$tmp/out"
  failed=1
fi
grep -qF "main.c.o" "$tmp/out" && { echo "FAIL: include-rooms refused the program's own object:"; cat "$tmp/out"; failed=1; }
"$ar" d "$b/server/api/libvigil_api.a" sneaky.c.o

# (3) A link under another name: http calls sneaky_now, which the program's
# link makes the engine's vigil__engine_now (-Wl,--defsym).
printf 'int sneaky_now(void);\nint vigil__http_later(void);\nint vigil__http_later(void) { return sneaky_now(); }\n' >"$t/server/http/later.c"
unit http server/http later.c
"$ar" rc "$b/server/http/libvigil_http.a" "$b/server/http/CMakeFiles/vigil_http.dir/later.c.o"
"$cc" -o "$b/vigil" "$b/cli/CMakeFiles/vigil.dir/main.c.o" "$b/server/http/libvigil_http.a" "$b/core/engine/libvigil_engine.a" \
  -Wl,--undefined=vigil__http_later -Wl,--undefined=vigil__engine_now -Wl,--defsym,sneaky_now=vigil__engine_now
echo "cc -o ../vigil CMakeFiles/vigil.dir/main.c.o ../server/http/libvigil_http.a ../core/engine/libvigil_engine.a -Wl,--defsym,sneaky_now=vigil__engine_now" \
  >"$b/cli/CMakeFiles/vigil.dir/link.txt"
if "$scripts/symbol-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "http: later.c.o uses vigil__engine_now (as sneaky_now in $b/vigil, a link under another name) of room engine, which http does not use" "$tmp/out"; then
  echo "FAIL: symbol-rooms did not refuse http linking the engine's function under another name:"
  cat "$tmp/out"
  failed=1
fi

# (4) export/ LINKS the engine to call vigil.h's functions; declaring an
# internal vigil__ function of the engine itself and calling it is a link
# across the wall all the same.
printf 'int vigil__engine_now(void);\nint vigil__export_now(void);\nint vigil__export_now(void) { return vigil__engine_now(); }\n' \
  >"$t/export/now.c"
unit export export now.c
"$ar" rc "$b/export/libvigil_export.a" "$b/export/CMakeFiles/vigil_export.dir/now.c.o"
if "$scripts/symbol-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "export: now.c.o uses vigil__engine_now of room engine, which export only LINKS" "$tmp/out"; then
  echo "FAIL: symbol-rooms did not refuse export calling an internal function of the engine it LINKS:"
  cat "$tmp/out"
  failed=1
fi
grep -qF "export: fhir.c.o" "$tmp/out" && { echo "FAIL: symbol-rooms refused export calling vigil.h's function:"; cat "$tmp/out"; failed=1; }

# (5) The sixth review's item 2: a static library that is not a room
# (add_library(api_helper STATIC ...) in server/api with the engine's folder
# on its include path, linked into the API) on a room's program's link line.
# Its objects are no room's: include-rooms, type-copies and symbol-rooms
# never read them. link-rooms refuses it; a program's own archive, made in
# its room's folder, passes and its objects are read as the room's own
# (plugins/hl7's codec libraries).
# archive DIR TARGET NAME OBJECT...: the static library target TARGET of the
# build folder DIR made NAME of the objects (CMake's link.txt of it).
archive() {
  dir=$1 target=$2 name=$3
  shift 3
  echo "$ar qc $name $*" >"$dir/CMakeFiles/$target.dir/link.txt"
  (cd "$dir" && "$ar" rc "$name" "$@")
}
mkdir -p "$b/cli/CMakeFiles/cli_own.dir"
printf 'int vigil__cli_own(void);\nint vigil__cli_own(void) { return 3; }\n' >"$t/cli/own.c"
"$cc" -w $dbg -I"$t/include" -MD -MF "$b/cli/CMakeFiles/cli_own.dir/own.c.o.d" -c "$t/cli/own.c" -o "$b/cli/CMakeFiles/cli_own.dir/own.c.o"
archive "$b/cli" cli_own libcli_own.a CMakeFiles/cli_own.dir/own.c.o
link_line="cc -o ../vigil CMakeFiles/vigil.dir/main.c.o libcli_own.a ../server/http/libvigil_http.a ../core/engine/libvigil_engine.a /usr/lib/libm.a"
echo "$link_line" >"$b/cli/CMakeFiles/vigil.dir/link.txt"
for script in link-rooms include-rooms; do
  if ! VIGIL_LINT_ROOT="$t" "$scripts/$script" "$b" >"$tmp/out" 2>&1; then
    echo "FAIL: $script refused a program linking rooms' libraries, its own archive and the system's:"
    cat "$tmp/out"
    failed=1
  fi
done
mkdir -p "$b/server/api/CMakeFiles/api_helper.dir" "$tmp/elsewhere"
printf '#include "model.h"\nint visits_count(void);\nint visits_count(void) { struct visit v = {4}; return v.id; }\n' \
  >"$t/server/api/api_helper.c"
"$cc" -w $dbg -I"$t/include" -I"$t/core/engine" -MD -MF "$b/server/api/CMakeFiles/api_helper.dir/api_helper.c.o.d" \
  -c "$t/server/api/api_helper.c" -o "$b/server/api/CMakeFiles/api_helper.dir/api_helper.c.o"
archive "$b/server/api" api_helper libapi_helper.a CMakeFiles/api_helper.dir/api_helper.c.o
cp "$b/server/api/libapi_helper.a" "$tmp/elsewhere/libhelper.a"
echo "$link_line ../server/api/libapi_helper.a" >"$b/cli/CMakeFiles/vigil.dir/link.txt"
# (symbol-rooms refuses this tree's earlier links across the walls, none
# of the helper's.)
for script in include-rooms type-copies symbol-rooms; do
  if ! VIGIL_LINT_ROOT="$t" "$scripts/$script" "$b" >"$tmp/out" 2>&1 && [ $script != symbol-rooms ] ||
    grep -qE 'api_helper|visits_count' "$tmp/out"; then
    echo "FAIL: $script refused the helper library (this test means to show it passes it):"
    cat "$tmp/out"
    failed=1
  fi
done
echo "$link_line ../server/api/libapi_helper.a -Wl,--whole-archive,$tmp/elsewhere/libhelper.a -L../server/api -lapi_helper" \
  >"$b/cli/CMakeFiles/vigil.dir/link.txt"
refused_saying link-rooms "a static library that is not a room on cli's link line" \
  "cli: vigil links $b/server/api/libapi_helper.a: a library of no room, made in room api's build folder" \
  "cli: vigil links $tmp/elsewhere/libhelper.a: a library outside the trees and the system's" \
  "cli: vigil searches $b/server/api for libraries (-L): a folder of the trees"
grep -qF "libcli_own.a" "$tmp/out" && { echo "FAIL: link-rooms refused cli's own archive:"; cat "$tmp/out"; failed=1; }
# The ninth review's item 2 on the link line: the link's options are a
# closed list, and --wrap, --defsym, a linker script, -u and -e are not on it.
echo "$link_line -Wl,--wrap=vigil__engine_now -Xlinker --defsym=sneaky_now=vigil__engine_now -Wl,-T,names.ld -u vigil__engine_now -Wl,-z,relro,--as-needed -O2 -g -fPIC" \
  >"$b/cli/CMakeFiles/vigil.dir/link.txt"
refused_saying link-rooms "a program linked with --wrap, --defsym, a linker script and -u" \
  "cli: vigil is linked with --wrap=vigil__engine_now: an option outside link-rooms' closed list" \
  "cli: vigil is linked with --defsym=sneaky_now=vigil__engine_now: an option outside" \
  "cli: vigil is linked with -T names.ld: an option outside" \
  "cli: vigil is linked with -u vigil__engine_now: an option outside"
grep -qE 'linked with (-z|--as-needed|-O2|-g|-fPIC)' "$tmp/out" && { echo "FAIL: link-rooms refused an option of its list:"; cat "$tmp/out"; failed=1; }
# The program's own archive is read as the room's own: its object reading
# the engine's private model is named, and so is an object added to it that
# its target did not make.
echo "$link_line" >"$b/cli/CMakeFiles/vigil.dir/link.txt"
printf '#include "model.h"\nint vigil__cli_own(void);\nint vigil__cli_own(void) { struct visit v = {3}; return v.id; }\n' >"$t/cli/own.c"
"$cc" -w $dbg -I"$t/include" -I"$t/core/engine" -MD -MF "$b/cli/CMakeFiles/cli_own.dir/own.c.o.d" -c "$t/cli/own.c" -o "$b/cli/CMakeFiles/cli_own.dir/own.c.o"
archive "$b/cli" cli_own libcli_own.a CMakeFiles/cli_own.dir/own.c.o
if VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "cli: cli/own.c reads core/engine/model.h: a private file of room engine" "$tmp/out"; then
  echo "FAIL: include-rooms did not read cli's own archive's object as cli's:"
  cat "$tmp/out"
  failed=1
fi
(cd "$b/cli" && "$ar" rc libcli_own.a ../server/api/CMakeFiles/api_helper.dir/api_helper.c.o)
if VIGIL_LINT_ROOT="$t" "$scripts/link-rooms" "$b" >"$tmp/out" 2>&1 ||
  ! grep -qF "cli: libcli_own.a holds api_helper.c.o, which its target's link.txt does not make" "$tmp/out"; then
  echo "FAIL: link-rooms did not refuse an object added to cli's own archive:"
  cat "$tmp/out"
  failed=1
fi
(cd "$b/cli" && "$ar" d libcli_own.a api_helper.c.o)

# A room whose objects left no dependency file is not passed unread.
room config server/config
if VIGIL_LINT_ROOT="$t" "$scripts/include-rooms" "$b" >"$tmp/out" 2>&1 || ! grep -qF "room config" "$tmp/out"; then
  echo "FAIL: include-rooms passed a room with no dependency file:"
  cat "$tmp/out"
  failed=1
fi

[ $failed = 0 ] && echo "rooms: the build keeps the walls; every way round them, a link across one, a preprocessed copy, an OBJECT library, a link under another name, an internal call through LINKS, a prototype typed by hand (in an archive and in the program), a static library that is not a room, a weak stub, a global two rooms define, a -Wl,--wrap and copies of a type a regex missed were refused"
exit $failed
