#!/usr/bin/env bash
# Formats the C++ sources with clang-format and the committed .clang-format.
#   scripts/format.sh           rewrites every file that is not formatted
#   scripts/format.sh --check   lists the files that are not formatted, changes nothing, and fails
#                               if there is any (CI runs this)
# Covers every *.cpp and *.hpp under registry/ peer/ shared/ tests/ bench/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *)
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac

source "$root/scripts/deps.sh"
# Debian 12's clang-format is 14; another version may format the same file differently.
parley_install_missing clang-format

cd "$root"
mapfile -t files < <(find registry peer shared tests bench -type f \( -name '*.cpp' -o -name '*.hpp' \) | sort)

unformatted=()
for file in "${files[@]}"; do
  # clang-format writes the formatted text to stdout; a file equal to it is formatted.
  clang-format --style=file "$file" | cmp -s - "$file" || unformatted+=("$file")
done

if [ ${#unformatted[@]} -eq 0 ]; then
  echo "All ${#files[@]} files are formatted."
  exit 0
fi
if [ "$check" = true ]; then
  echo "Not formatted (run scripts/format.sh to fix):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
clang-format --style=file -i "${unformatted[@]}"
printf 'Formatted %s\n' "${unformatted[@]}"
