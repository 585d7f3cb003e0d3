#!/bin/sh
# The naming rule `make lint` keeps (scripts/symbol-names): the libraries
# given pass it, and an object defining an unprefixed function, an unprefixed
# variable and a vigil_ name that include/vigil/ does not declare is refused,
# each named; so are a vigil_ name said only in a public header's comment or
# macro, and a static bearing a global's name.
# Usage: symbol_names.sh CC SCRIPTS_DIR LIBRARY_OR_OBJECT... (ctest gives a
# program's objects as one argument, a;b;c: split here)
set -u
cc=$1
scripts=$2
shift 2
# shellcheck disable=SC2046
set -- $(printf '%s\n' "$@" | tr ';' '\n')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

if ! CC="$cc" "$scripts/symbol-names" "$@" >"$tmp/out" 2>&1; then
  echo "FAIL: the libraries break the naming rule:"
  cat "$tmp/out"
  failed=1
fi

cat >"$tmp/clash.c" <<'C'
int emit(void);
int emit(void) { return 0; }
int intern_count = 1;
extern const char vigil_openapi_json[];
const char vigil_openapi_json[] = "{}";
static int fine(void) { return 2; }
int vigil__fine(void);
int vigil__fine(void) { return fine(); }
C
# refused "OBJECT..." "NAME..." "NAME...": symbol-names (run with the
# environment given) refuses the objects, naming each of the first names and
# none of the second (/OBJECT%NAME: the name in that object).
said() { case $1 in /*) echo "$1:" | tr '%' ' ' ;; *) echo " $1:" ;; esac; }
refused() {
  if "$scripts/symbol-names" $1 >"$tmp/out" 2>&1; then
    echo "FAIL: symbol-names passed $1:"
    cat "$tmp/out"
    failed=1
  fi
  for name in $2; do
    grep -qF -- "$(said "$name")" "$tmp/out" || { echo "FAIL: symbol-names did not refuse $name"; cat "$tmp/out"; failed=1; }
  done
  for name in $3; do
    ! grep -qF -- "$(said "$name")" "$tmp/out" || { echo "FAIL: symbol-names refused $name"; cat "$tmp/out"; failed=1; }
  done
}

"$cc" -c "$tmp/clash.c" -o "$tmp/clash.o" || exit 1
CC="$cc" refused "$tmp/clash.o" "emit intern_count vigil_openapi_json" "fine vigil__fine"
# Only declarations make a name public: a vigil_ word in a comment of a
# public header, or a macro's, does not; and a static may not bear a global's
# name (api.c's static vigil__gate_reasons beside the engine's global one).
mkdir -p "$tmp/include/vigil"
cat >"$tmp/include/vigil/vigil.h" <<'C'
/* vigil_said_in_a_comment() is not declared here. */
#define vigil_macro_word(x) (x)
#define VIGIL_EXPORT
VIGIL_EXPORT int vigil_declared(int n);
extern const char vigil_declared_text[];
typedef void (*vigil_callback)(int);
C
cat >"$tmp/public.c" <<'C'
int vigil_declared(int n);
int vigil_declared(int n) { return n; }
extern const char vigil_declared_text[];
const char vigil_declared_text[] = "x";
int vigil_said_in_a_comment(void);
int vigil_said_in_a_comment(void) { return 0; }
int vigil_macro_word(int);
int vigil_macro_word(int x) { return x; }
int vigil__global(void);
int vigil__global(void) { return 1; }
C
cat >"$tmp/static.c" <<'C'
int vigil__other(int);
static __attribute__((noinline)) int vigil__global(int n) { return n * 3; }
int vigil__other(int n) { return vigil__global(n); }
C
"$cc" -c "$tmp/public.c" -o "$tmp/public.o" || exit 1
"$cc" -c "$tmp/static.c" -o "$tmp/static.o" || exit 1
CC="$cc" VIGIL_PUBLIC_HEADERS="$tmp/include/vigil" refused "$tmp/public.o $tmp/static.o" \
  "vigil_said_in_a_comment vigil_macro_word /static.o:%vigil__global" "vigil_declared vigil_declared_text /public.o:%vigil__global"
# A program's main and a plugin's vigil_plugin_entry are theirs in their own
# objects (cli's vigil, a plugin's), never in a library's archive; a
# program's other names keep the rule (cli's cmd_audit was unprefixed).
cat >"$tmp/program.c" <<'C'
struct def { int abi; };
extern const struct def vigil_plugin_entry;
const struct def vigil_plugin_entry = {1};
int main(void) { return vigil_plugin_entry.abi; }
int cmd_audit(void);
int cmd_audit(void) { return 0; }
C
"$cc" -c "$tmp/program.c" -o "$tmp/program.o" || exit 1
cp "$tmp/program.o" "$tmp/in_archive.o"
ar rc "$tmp/libvigil_archive.a" "$tmp/in_archive.o"
CC="$cc" refused "$tmp/program.o $tmp/libvigil_archive.a" \
  "/program.o:%cmd_audit /libvigil_archive.a:in_archive.o:%main /libvigil_archive.a:in_archive.o:%vigil_plugin_entry" \
  "/program.o:%main /program.o:%vigil_plugin_entry"
[ $failed = 0 ] && echo "symbol_names: the libraries keep the rule; the clashing names were refused"
exit $failed
