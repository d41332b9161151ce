#!/usr/bin/env bash
# Install what the browser tests (browser_tests/) need, if it is missing.
# Idempotent: does nothing when all is there.
#
#   chromium          Debian's package, at /usr/bin/chromium (Playwright drives it;
#                     `playwright install` is never run: it downloads a browser)
#   fonts-wqy-zenhei  a CJK font, so the consoles' Chinese shows in screenshots
#   playwright        the Python package pinned in requirements-browser.txt, into .venv
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_PYTHON=${VENV_PYTHON:-.venv/bin/python}

as_root() {
  if ((EUID == 0)); then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "install-browser-tools: need root (or sudo) to install: $*" >&2; exit 1; fi
}

packages=()
[[ -x /usr/bin/chromium ]] || packages+=(chromium)
if ! command -v fc-list >/dev/null 2>&1 || [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
  packages+=(fonts-wqy-zenhei)
fi
if ((${#packages[@]})); then
  log=${TMPDIR:-/tmp}/install-browser-tools.log
  echo "install-browser-tools: installing ${packages[*]} with apt-get (log: $log)"
  {
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
  } >"$log" 2>&1 || { tail -n 20 "$log" >&2; echo "install-browser-tools: apt-get failed, see $log" >&2; exit 1; }
fi
[[ -x /usr/bin/chromium ]] || { echo "install-browser-tools: /usr/bin/chromium still missing" >&2; exit 1; }

wanted=$(sed -n 's/^playwright==//p' requirements-browser.txt)
installed=$("$VENV_PYTHON" -c 'from importlib.metadata import version; print(version("playwright"))' 2>/dev/null || true)
if [[ "$installed" != "$wanted" ]]; then
  echo "install-browser-tools: installing playwright $wanted into $(dirname "$(dirname "$VENV_PYTHON")")"
  "$VENV_PYTHON" -m pip install -q -r requirements-browser.txt
fi
echo "install-browser-tools: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), playwright $wanted ready"
