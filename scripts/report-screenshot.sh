#!/usr/bin/env bash
# Renders an `emocfg stats` report in headless Chromium, saves a screenshot, and checks the page the
# browser built: every <svg class="chart"> must hold as many <rect class="bar"> as its data-expected
# says, and a chart that expects bars must have at least one of non-zero size. Prints one line per
# chart and exits non-zero on any failure.
#
# Usage: scripts/report-screenshot.sh REPORT_DIR [OUT.png]
# OUT.png defaults to REPORT_DIR/screenshot.png. Installs chromium with apt-get when it is missing
# (Debian 12; run as root or with sudo available). REPORT_HEIGHT sets the window height (default 4000).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 REPORT_DIR [OUT.png]" >&2
    exit 2
fi
report="$(cd "$1" 2>/dev/null && pwd)" || { echo "$1: no such report folder" >&2; exit 2; }
page="$report/index.html"
[ -f "$page" ] || { echo "$page: not found; write the report with: emocfg stats --out $1" >&2; exit 2; }
png="${2:-$report/screenshot.png}"
case "$png" in /*) ;; *) png="$PWD/$png" ;; esac
height="${REPORT_HEIGHT:-4000}"

if ! command -v chromium > /dev/null; then
    echo "chromium not found; installing it with apt-get" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium > /dev/null
fi

# Chromium wants a writable profile and home; a throwaway one keeps runs independent.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" --no-first-run)

chromium "${flags[@]}" --screenshot="$png" --window-size=1400,"$height" "file://$page" > "$profile/screenshot.log" 2>&1 \
    || { cat "$profile/screenshot.log" >&2; echo "chromium could not take the screenshot of $page" >&2; exit 1; }
[ -s "$png" ] || { cat "$profile/screenshot.log" >&2; echo "chromium wrote no screenshot to $png" >&2; exit 1; }
echo "screenshot: $png"
chromium "${flags[@]}" --dump-dom "file://$page" > "$profile/dom.html" 2> "$profile/dom.log" \
    || { cat "$profile/dom.log" >&2; echo "chromium could not render $page" >&2; exit 1; }

python3 - "$profile/dom.html" "$page" << 'EOF'
import sys
from html.parser import HTMLParser

class Charts(HTMLParser):
    """Collects every svg.chart with its bars (rect.bar) as the browser serialised them."""

    def __init__(self):
        super().__init__()
        self.charts = []
        self.current = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "svg" and "chart" in classes and self.current is None:
            self.current = {"id": a.get("data-chart", "?"), "expected": a.get("data-expected"), "bars": []}
            self.depth = 1
            return
        if self.current is None:
            return
        if tag == "svg":
            self.depth += 1
        if tag == "rect" and "bar" in classes:
            self.current["bars"].append((a.get("width"), a.get("height")))

    def handle_endtag(self, tag):
        if self.current is not None and tag == "svg":
            self.depth -= 1
            if self.depth == 0:
                self.charts.append(self.current)
                self.current = None

def size(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0

dom, page = sys.argv[1], sys.argv[2]
parser = Charts()
with open(dom, encoding="utf-8") as f:
    parser.feed(f.read())
if not parser.charts:
    print(f"FAIL {page}: the rendered page has no svg.chart")
    sys.exit(1)

failures = 0
for c in parser.charts:
    try:
        expected = int(c["expected"])
    except (TypeError, ValueError):
        expected = None
    bars = len(c["bars"])
    visible = sum(1 for w, h in c["bars"] if size(w) > 0 and size(h) > 0)
    problems = []
    if expected is None:
        problems.append(f"data-expected is {c['expected']!r}, not a number")
    elif bars != expected:
        problems.append(f"{bars} bars, expected {expected}")
    if expected and visible == 0:
        problems.append("no bar of non-zero size")
    status = "FAIL" if problems else "ok"
    detail = "; ".join(problems) if problems else f"{bars} bars ({visible} non-zero)"
    print(f"{status:4} {c['id']}: {detail}")
    failures += bool(problems)

print(f"{len(parser.charts)} charts, {failures} failed")
sys.exit(1 if failures else 0)
EOF
