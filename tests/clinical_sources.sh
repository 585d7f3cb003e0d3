#!/bin/sh
# clinical_sources.sh: the clinical sources of the bundled defaults stay in
# the product (docs/clinical/). Fails (exit 1), naming file:line, when
#   1. any file of the project points to clinical notes kept outside the
#      repository (the old shared notes folder or its reference file), or
#   2. a protocol (protocols/, Lua comments and `source` strings alike), a
#      document or a page of docs/clinical/ itself names a docs/clinical/*.md
#      page that does not exist.
# Run from anywhere: sh tests/clinical_sources.sh
set -u

root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$root" || exit 2
self=tests/clinical_sources.sh

# The patterns are split so that this file does not match itself.
outside='shared/clini''cal|REFERENCE''\.md'

# Every file of the project: tracked and new files, without what .gitignore
# leaves out (build folders, var/). Without git, every file but .git and build*.
files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard
  else
    find . -path ./.git -prune -o -path './build*' -prune -o -type f -print | sed 's|^\./||'
  fi
}

status=0
list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT
files | grep -v -e '^\.git/' -e '^build' -e "^$self\$" | while IFS= read -r f; do
  [ -f "$f" ] && printf '%s\n' "$f"
done >"$list"

# 1. Pointers to notes outside the repository.
hits=$(tr '\n' '\0' <"$list" | xargs -0 grep -H -n -I -E "$outside" 2>/dev/null)
if [ -n "$hits" ]; then
  echo "clinical_sources: these point to clinical notes outside the repository; point to docs/clinical/ instead:"
  printf '%s\n' "$hits" | sed 's/^/  /'
  status=1
fi

# 2. Pages of docs/clinical/ named by the protocols (and the docs) must exist,
# and so must the pages docs/clinical/ links to itself.
missing=$(
  grep -rHn -o -E 'docs/clinical/[A-Za-z0-9._-]+\.md' protocols docs README.md 2>/dev/null |
    while IFS= read -r hit; do
      page=${hit#*:*:}
      [ -f "$page" ] || printf '%s\n' "$hit"
    done
  grep -H -n -o -E '\]\([A-Za-z0-9._-]+\.md' docs/clinical/*.md 2>/dev/null |
    while IFS= read -r hit; do
      page=docs/clinical/${hit#*:*:](}
      [ -f "$page" ] || printf '%s\n' "$hit"
    done
)
if [ -n "$missing" ]; then
  echo "clinical_sources: these name a docs/clinical/ page that does not exist:"
  printf '%s\n' "$missing" | sed 's/^/  /'
  status=1
fi

# The index of all params must be there for the pages to make sense.
if [ ! -f docs/clinical/README.md ]; then
  echo "clinical_sources: docs/clinical/README.md (the table of every bundled param) is missing"
  status=1
fi

[ "$status" -eq 0 ] && echo "clinical_sources: ok"
exit "$status"
