#!/usr/bin/env bash
# `make test`'s run of every test, on the local stack (already up).
#
# Most of the tests' time is spent waiting on the services they start (an
# event to arrive, a limit to pass, a process to stop), not computing, so
# the tests run as two pytest processes at once, each with its own systems
# of services (their own vhosts, database prefixes and ports):
#
#   1. tests/e2e                       (its output is kept in $RUNS/e2e.log
#                                       and printed when it is done)
#   2. every other test, then the browser tests (browser_tests/: a pytest run
#      of their own, without eventlet's monkey-patching, under which
#      Playwright hangs); its output is shown as it runs.
#
# Arguments are options for both pytest runs of tests/ (-x, -k EXPR,
# --durations=0); BROWSER_PYTEST_ARGS for the browser tests'. TEST_RUNS=1
# runs everything one run after the other, as it was before.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${VENV_PYTHON:-.venv/bin/python}
RUNS=.stack/test-runs

browser_tests() {
  # shellcheck disable=SC2086 # options, split on purpose
  VENV_PYTHON=$PYTHON scripts/install-browser-tools.sh \
    && "$PYTHON" -m pytest browser_tests ${BROWSER_PYTEST_ARGS:-}
}

mkdir -p "$RUNS"
if [[ ${TEST_RUNS:-2} == 1 ]]; then
  "$PYTHON" -m pytest tests "$@"; main=$?
  browser_tests; browser=$?
  exit $((main || browser))
fi

echo "test: tests/e2e runs alongside the rest; its output follows theirs (and is in $RUNS/e2e.log)"
"$PYTHON" -m pytest tests/e2e "$@" >"$RUNS/e2e.log" 2>&1 &
e2e_pid=$!
trap 'kill $e2e_pid 2>/dev/null' INT TERM

"$PYTHON" -m pytest tests --ignore=tests/e2e "$@"; rest=$?
browser_tests; browser=$?

wait $e2e_pid; e2e=$?
echo
echo "================================ tests/e2e ================================"
cat "$RUNS/e2e.log"
echo
echo "test: tests/e2e exit $e2e, the other tests exit $rest, the browser tests exit $browser"
exit $((e2e || rest || browser))
