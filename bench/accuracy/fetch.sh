#!/usr/bin/env bash
# Extract every project pinned in projects.toml into corpus/<name>/ (gitignored).
#
#   bench/accuracy/fetch.sh [--mirrors DIR] [--only NAME]...
#
# With --mirrors DIR, a project is read from a local bare mirror DIR/<owner>+<name>/repo (or
# DIR/<owner>+<name>, or DIR/<owner>/<name>.git) when one holds the pinned commit; otherwise the
# repository is cloned from GitHub into a cache (corpus/.git-cache/) and the pinned commit is
# checked out. An existing corpus/<name>/ is left alone (delete it to re-extract).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/corpus"
mirrors=""
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mirrors) mirrors="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$corpus"

# name repo commit, one project a line, from projects.toml.
projects() {
  awk -F' = ' '
    /^\[\[project\]\]/ { if (name != "") print name, repo, commit; name = ""; repo = ""; commit = "" }
    $1 == "name" { gsub(/"/, "", $2); name = $2 }
    $1 == "repo" { gsub(/"/, "", $2); repo = $2 }
    $1 == "commit" { gsub(/"/, "", $2); commit = $2 }
    END { if (name != "") print name, repo, commit }
  ' "$here/projects.toml"
}

wanted() {
  [ ${#only[@]} -eq 0 ] && return 0
  local n
  for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}

find_mirror() {
  local repo="$1" commit="$2" d
  [ -n "$mirrors" ] || return 1
  for d in "$mirrors/${repo/\//+}/repo" "$mirrors/${repo/\//+}" "$mirrors/$repo.git"; do
    if [ -d "$d" ] && git --git-dir="$d" cat-file -e "$commit^{commit}" 2>/dev/null; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# Extract a tree blob by blob, skipping blobs the mirror does not hold (they are listed).
extract_files() {
  local gitdir="$1" commit="$2" out="$3" mode type obj path missing=0
  while IFS=$'\t' read -r -d '' meta path; do
    read -r mode type obj <<<"$meta"
    [ "$type" = blob ] || continue
    mkdir -p "$out/$(dirname "$path")"
    if [ "$mode" = 120000 ]; then
      continue # symlinks are not followed by the scan; skip them
    fi
    if ! git --git-dir="$gitdir" cat-file blob "$obj" >"$out/$path" 2>/dev/null; then
      rm -f "$out/$path"
      echo "  absent from the mirror, skipped: $path" >&2
      missing=$((missing + 1))
    fi
  done < <(git --git-dir="$gitdir" ls-tree -r -z "$commit")
  [ $missing -eq 0 ] || echo "  $missing absent file(s)" >&2
}

status=0
while read -r name repo commit; do
  wanted "$name" || continue
  dest="$corpus/$name"
  if [ -d "$dest" ]; then
    echo "$name: already extracted"
    continue
  fi
  if gitdir="$(find_mirror "$repo" "$commit")"; then
    src="mirror $gitdir"
  else
    gitdir="$corpus/.git-cache/${repo/\//+}.git"
    if [ ! -d "$gitdir" ]; then
      git clone --quiet --bare "https://github.com/$repo.git" "$gitdir" || { echo "$name: clone failed" >&2; status=1; continue; }
    fi
    if ! git --git-dir="$gitdir" cat-file -e "$commit^{commit}" 2>/dev/null; then
      git --git-dir="$gitdir" fetch --quiet origin "$commit" || { echo "$name: commit $commit not found" >&2; status=1; continue; }
    fi
    src="clone of $repo"
  fi
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  if ! git --git-dir="$gitdir" archive "$commit" 2>/dev/null | tar -x -C "$dest.tmp" 2>/dev/null; then
    # A mirror without its largest blobs (images, archives): extract file by file, skip the absent.
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    extract_files "$gitdir" "$commit" "$dest.tmp"
  fi
  mv "$dest.tmp" "$dest"
  echo "$name: $repo@${commit:0:12} from $src"
done < <(projects)
exit $status
