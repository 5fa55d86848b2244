#!/usr/bin/env bash
# Installs aswarm's build and test dependencies from Debian's archive.
# Idempotent: packages already present are not reinstalled, and apt is not
# touched at all when nothing is missing (so repeated runs are fast and work
# offline). Used by .ci/run and by the README's quick start.
set -euo pipefail

packages=()
while read -r line; do
  [[ -z "$line" || "$line" == \#* ]] || packages+=("$line")
done < "$(dirname "${BASH_SOURCE[0]}")/packages.txt"

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if ((EUID != 0)); then
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
