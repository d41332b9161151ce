#!/bin/sh
# Create .env for docker compose from .env.example, replacing every CHANGE-ME
# with a fresh random secret (64 hex characters; a personal-data key setting,
# `k1:` and 32 random bytes in base64). Never overwrites an existing
# .env. Usage: ops/init-env.sh [path/to/.env]
set -eu
cd "$(dirname "$0")/.."
target=${1:-.env}
if [ -e "$target" ]; then
  echo "init-env: $target already exists; leaving it as it is" >&2
  exit 0
fi
random_key() {  # a key setting: `k1:` and 32 random bytes in base64
  if command -v openssl >/dev/null 2>&1; then printf 'k1:%s\n' "$(openssl rand -base64 32)"
  else python3 -c 'import base64, os; print("k1:" + base64.b64encode(os.urandom(32)).decode())'; fi
}
random_secret() {
  if command -v openssl >/dev/null 2>&1; then openssl rand -hex 32
  else python3 -c 'import secrets; print(secrets.token_hex(32))'; fi
}
umask 077
tmp="$target.tmp.$$"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    *_KEYS=CHANGE-ME|*_INDEX_KEY=CHANGE-ME) printf '%s=%s\n' "${line%%=*}" "$(random_key)" ;;
    *=CHANGE-ME) printf '%s=%s\n' "${line%%=*}" "$(random_secret)" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < .env.example > "$tmp"
mv "$tmp" "$target"
echo "init-env: wrote $target with new random secrets (mode 600)"
