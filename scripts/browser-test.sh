#!/usr/bin/env bash
# The review page in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by
# Selenium (from PyPI, in a virtual environment) opens `emocfg review` on a copy of the demo store,
# plays the clip, accepts one item with the keyboard, corrects another, and then checks the store.
#   scripts/browser-test.sh                 uses demo-out/ (runs scripts/demo.sh first when it is missing)
#   SCREENSHOT=/tmp/review-shot.png         where the item page's screenshot goes (default shown)
# Installs what is missing (apt-get as root or with sudo, pip in .build/browser-venv); when that is
# impossible it prints why and exits 0 without testing (SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."
demo="${DEMO_DIR:-demo-out}"
shot="${SCREENSHOT:-/tmp/review-shot.png}"
venv="${BROWSER_VENV:-.build/browser-venv}"

skip() { echo "SKIP browser test: $*"; exit 0; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ -n "$sudo" ] && ! sudo -n true 2>/dev/null; then skip "${need[*]} missing and no root to install them"; fi
  echo "installing: ${need[*]}" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
    || skip "apt-get could not install ${need[*]}"
fi
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || skip "chromium or chromedriver still missing"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' >/dev/null 2>&1; then
  python3 -m venv "$venv" || skip "cannot make a Python virtual environment in $venv"
  "$venv/bin/pip" install -q selenium || skip "pip could not install selenium"
fi

bin="$(swift build --show-bin-path)"
[ -x "$bin/emocfg" ] || { echo "build first: swift build" >&2; exit 2; }
if [ ! -s "$demo/emocfg.sqlite" ]; then
  echo "no demo store in $demo: running scripts/demo.sh" >&2
  DEMO_DIR="$demo" bash scripts/demo.sh >/dev/null
fi

# A copy of the demo store: the test's decisions stay out of the demo.
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp "$demo/emocfg.sqlite" "$work/review.sqlite"
"$bin/emocfg" review --db "$work/review.sqlite" --port 0 --port-file "$work/port" --reviewer browser-test > "$work/review.log" 2>&1 &
server=$!
for _ in $(seq 300); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the review server did not start:" >&2; cat "$work/review.log" >&2; exit 1; }
head -2 "$work/review.log"

"$venv/bin/python" scripts/browser_test.py --url "http://127.0.0.1:$(cat "$work/port")/" --db "$work/review.sqlite" \
  --screenshot "$shot" --chromium "$(command -v chromium)" --chromedriver "$(command -v chromedriver)"
