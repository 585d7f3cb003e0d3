#!/bin/sh
# clinical_sources.sh: the clinical sources of the bundled defaults stay in
# the product (docs/clinical/). Fails (exit 1), naming file:line, when
#   1. any file of the project points to clinical notes kept outside the
#      repository (the old shared notes folder or its reference file), or
#   2. a protocol (protocols/, Lua comments and `source` strings alike), a
#      document or a page of docs/clinical/ itself names a docs/clinical/*.md
#      page that does not exist, or
#   3. a page of docs/clinical/ cites protocol code by a line number
#      (`protocols/P/F.lua:NNN`, or a bare `:NNN` after one: stale as soon as
#      the file gains a line), or cites a file that does not exist, or a name
#      the cited file does not contain. A citation names what it cites:
#      `protocols/P/F.lua` `name` (a param, an item, a rule, a local, a
#      function: the word must occur in the file), or several:
#      `protocols/P/F.lua` `name`, `other`.
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

# 3. Citations of protocol code in docs/clinical/: by name, never by line.
lines=$(grep -H -n -E '[.]lua:[0-9]|`:[0-9]' docs/clinical/*.md 2>/dev/null)
if [ -n "$lines" ]; then
  echo "clinical_sources: these cite protocol code by line number (stale once the file changes); cite the" \
    "file and the name instead, as \`protocols/P/F.lua\` \`name\`:"
  printf '%s\n' "$lines" | sed 's/^/  /'
  status=1
fi
# Each citation: doc:line, the file, then its names, tab-separated.
tab=$(printf '\t')
unnamed=$(
  awk -v name_re='`[A-Za-z_][A-Za-z0-9_.]*`' '
    BEGIN { cite = "`protocols/[A-Za-z0-9_./-]+[.]lua`(( |, )" name_re ")*" }
    {
      rest = $0
      while (match(rest, cite)) {
        hit = substr(rest, RSTART, RLENGTH)
        rest = substr(rest, RSTART + RLENGTH)
        n = split(hit, part, "`")
        out = FILENAME ":" FNR "\t" part[2]
        for (i = 4; i < n; i += 2) out = out "\t" part[i]
        print out
      }
    }' docs/clinical/*.md |
    while IFS="$tab" read -r where file names; do
      if [ ! -f "$file" ]; then
        printf '%s: %s does not exist\n' "$where" "$file"
        continue
      fi
      set -f
      IFS="$tab"
      for name in $names; do
        grep -q -w -F -e "$name" "$file" || printf '%s: %s has no `%s`\n' "$where" "$file" "$name"
      done
      unset IFS
      set +f
    done
)
if [ -n "$unnamed" ]; then
  echo "clinical_sources: these cite protocol code that is not there (a file gone, a name renamed or removed):"
  printf '%s\n' "$unnamed" | sed 's/^/  /'
  status=1
fi

# The index of all params must be there for the pages to make sense.
if [ ! -f docs/clinical/README.md ]; then
  echo "clinical_sources: docs/clinical/README.md (the table of every bundled param) is missing"
  status=1
fi

[ "$status" -eq 0 ] && echo "clinical_sources: ok"
exit "$status"
