#!/usr/bin/env bash
# The main job on the bundled sample: ingest every replica, then annotate (instruct, caption, qa,
# rationale) against the local provider stand-in, and print what the store holds.
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

echo "== ingest (samples/sources.yaml)"
"$bin/emocfg" ingest --sources samples/sources.yaml --db "$out/emocfg.sqlite"
echo
echo "== annotate --stage all (models: the local stand-in on port $EMOCFG_STANDIN_PORT, samples/pipeline.yaml)"
"$bin/emocfg" annotate --stage all --pipeline samples/pipeline.yaml --db "$out/emocfg.sqlite"
echo
echo "== verify (three judges, quorum 2)"
"$bin/emocfg" verify --pipeline samples/pipeline.yaml --db "$out/emocfg.sqlite"
"$bin/emocfg" verify --report --pipeline samples/pipeline.yaml --db "$out/emocfg.sqlite" | tail -12
echo
echo "== status"
"$bin/emocfg" status --db "$out/emocfg.sqlite"
echo
echo "store: $out/emocfg.sqlite  (the captions came from the local stand-in, not from a real model)"
