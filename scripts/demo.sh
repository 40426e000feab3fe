#!/usr/bin/env bash
# The main job on the bundled sample: `emocfg run` (ingest every replica, annotate (instruct, caption,
# qa, rationale) and verify against the local provider stand-in, export the tree, reproduce every
# curation version), then the statistics report, and print where everything is and the command that
# opens the review page on the demo store.
# The captions come from `emocfg-standin`, which writes schema-valid text derived from each request:
# they show the pipeline working, not what a real model would say. See README, "Real models".
set -euo pipefail
cd "$(dirname "$0")/.."
out="${DEMO_DIR:-demo-out}"
rm -rf "$out" && mkdir -p "$out"
bin="$(swift build --show-bin-path)"

"$bin/emocfg-standin" --port 0 --port-file "$out/standin.port" > "$out/standin.log" 2>&1 &
standin=$!
trap 'kill "$standin" 2>/dev/null; wait "$standin" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/standin.port" ] && break; sleep 0.1; done
[ -s "$out/standin.port" ] || { echo "the stand-in did not start; see $out/standin.log" >&2; exit 1; }
export EMOCFG_STANDIN_PORT="$(cat "$out/standin.port")"
export EMOCFG_DEMO_KEY="demo-key-not-a-secret"

echo "Models: the local stand-in on port $EMOCFG_STANDIN_PORT (samples/pipeline.yaml)."
echo
echo "== what the captions would cost, online and through the batch lane (ingest, then annotate --dry-run: nothing sent)"
"$bin/emocfg" ingest --sources samples/sources.yaml --no-faces --db "$out/estimate.sqlite" > "$out/estimate.log" 2>&1
"$bin/emocfg" annotate --stage caption --pipeline samples/pipeline.yaml --dry-run --db "$out/estimate.sqlite" 2>/dev/null | grep -m1 "dry run" || true
rm -f "$out"/estimate.sqlite*
echo
"$bin/emocfg" run --sources samples/sources.yaml --pipeline samples/pipeline.yaml --out "$out/export" --db "$out/emocfg.sqlite"
echo
echo "== stats"
"$bin/emocfg" stats --out "$out/report" --db "$out/emocfg.sqlite"
echo
echo "== status"
"$bin/emocfg" status --db "$out/emocfg.sqlite"
echo
echo "The tree:      $out/export/jsons  (train/ and test/, evaluation files in jsons/test/<task>/, curation versions in jsons/curation/)"
echo "Dataset card:  $out/export/README.md"
echo "Report:        $out/report/index.html"
echo "Store:         $out/emocfg.sqlite  (the captions came from the local stand-in, not from a real model)"
echo
echo "Review the committee's decisions in a browser (then open the address it prints; Ctrl-C stops it):"
echo "  $bin/emocfg review --db $out/emocfg.sqlite"
