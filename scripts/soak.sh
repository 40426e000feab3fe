#!/usr/bin/env bash
# The kill soak (issue 12), on demand, not in CI:
#
#   bash scripts/soak.sh [kills]          # default 20
#
# Builds emocfg (debug, the build `make test` uses), starts `emocfg-standin` with latency, ingests the
# bundled sample replicas into a fresh store and then, against that one stand-in, repeatedly starts
# `emocfg annotate --stage all` and SIGKILLs it after a random delay (half the kills), runs annotate
# to completion, does the same with `emocfg verify` (the other half), and runs verify to completion.
# A reference run does the same work uninterrupted on another fresh store against a fresh stand-in.
# It prints the kills, the requests the stand-in received, distinct requests (by digest of path and
# body, `distinct_requests` in GET /_standin/stats; equal to the reference's when nothing was lost or
# sent in another form), the repeats split into "in flight at a kill" (the answer never reached the
# killed client, so re-sending it is right) and "re-sent after delivery" (the answer had reached the
# client: a duplicate, unless the kill fell between receiving and storing it), the losses (samples,
# verdicts and decisions the reference has that the soaked store lacks, per stage/task, by uid) and
# `PRAGMA integrity_check` of the soaked store. A repeat after delivery is split by the stand-in's and
# the script's clocks: killed within 1 s of the answer's delivery (it may not have been stored yet) or
# re-sent although the process lived on (a true duplicate, "re-sent after commit"). Exit status 1
# when something was lost, re-sent after commit, or the store is damaged.
#
# Environment: SOAK_DIR (default soak-out), SOAK_SOURCES (sources of samples/sources.yaml to ingest,
# default "RAVDESS MELD CAER MEAD"; "all" for every replica), SOAK_LATENCY_MS (150), SOAK_MIN_MS and
# SOAK_MAX_MS (the random delay before a kill, 300 and 2500), SOAK_SEED (for $RANDOM).
set -euo pipefail
cd "$(dirname "$0")/.."

kills_wanted="${1:-20}"
out="${SOAK_DIR:-soak-out}"
sources="${SOAK_SOURCES:-RAVDESS MELD CAER MEAD}"
latency="${SOAK_LATENCY_MS:-150}"
min_ms="${SOAK_MIN_MS:-300}"
max_ms="${SOAK_MAX_MS:-2500}"
RANDOM="${SOAK_SEED:-$$}"
[[ "$kills_wanted" =~ ^[0-9]+$ ]] || { echo "usage: bash scripts/soak.sh [kills]" >&2; exit 2; }

echo "== build (debug)"
swift build 2>&1 | grep -E "error|Compiling|Build complete" | grep -v "^\[" | tail -3 || true
bin="$(swift build --show-bin-path)"
[ -x "$bin/emocfg" ] && [ -x "$bin/emocfg-standin" ] || { echo "build failed" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out"
export EMOCFG_DEMO_KEY="soak-key-not-a-secret"
standin_pids=()
cleanup() { for p in "${standin_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start_standin NAME: a fresh stand-in with latency; sets EMOCFG_STANDIN_PORT.
start_standin() {
    local dir="$out/$1"
    mkdir -p "$dir"
    "$bin/emocfg-standin" --port 0 --port-file "$dir/standin.port" --latency-ms "$latency" > "$dir/standin.log" 2>&1 &
    standin_pids+=($!)
    for _ in $(seq 100); do [ -s "$dir/standin.port" ] && break; sleep 0.1; done
    [ -s "$dir/standin.port" ] || { echo "the stand-in did not start; see $dir/standin.log" >&2; exit 1; }
    export EMOCFG_STANDIN_PORT="$(cat "$dir/standin.port")"
}

stats() { curl -sf "http://127.0.0.1:$EMOCFG_STANDIN_PORT/_standin/stats"; }

ingest() {  # ingest DB
    local which=()
    [ "$sources" = all ] || which=(--source $sources)
    "$bin/emocfg" ingest --sources samples/sources.yaml "${which[@]}" --db "$1" > "$(dirname "$1")/ingest.log" 2>&1
}

# The commands, as argument lists: a kill must reach emocfg itself, not a subshell around it (a
# backgrounded shell function is a subshell, and SIGKILL to it would leave emocfg running).
annotate_args=(annotate --stage all --pipeline samples/pipeline.yaml)
verify_args=(verify --pipeline samples/pipeline.yaml)
annotate() { "$bin/emocfg" "${annotate_args[@]}" --db "$1"; }
verify() { "$bin/emocfg" "${verify_args[@]}" --db "$1"; }

# ---- reference: the same work, uninterrupted, on a fresh store against a fresh stand-in
echo "== reference run (sources: $sources; stand-in latency ${latency} ms)"
start_standin reference
ref_db="$out/reference/emocfg.sqlite"
ingest "$ref_db"
t0=$SECONDS
annotate "$ref_db" > "$out/reference/annotate.log" 2>&1 || { echo "reference annotate failed: see $out/reference/annotate.log" >&2; exit 1; }
t1=$SECONDS
verify "$ref_db" > "$out/reference/verify.log" 2>&1 || { echo "reference verify failed: see $out/reference/verify.log" >&2; exit 1; }
t2=$SECONDS
stats > "$out/reference/stats.json"
curl -sf "http://127.0.0.1:$EMOCFG_STANDIN_PORT/_standin/digests" > "$out/reference/digests.json"
echo "   annotate $((t1 - t0)) s, verify $((t2 - t1)) s"

# ---- soak: kills against one stand-in
echo "== soak run: $kills_wanted SIGKILLs across annotate and verify"
start_standin soak
db="$out/soak/emocfg.sqlite"
ingest "$db"
kills=0
kills_annotate=0
kills_verify=0

# alive PID: running (not exited and waiting to be reaped).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# kill_loop CMD SHARE: starts CMD again and again and SIGKILLs it after a random delay, SHARE times
# or until a run ends by itself (its work was all done); sets loop_kills.
kill_loop() {
    local cmd="$1" share="$2" run=0
    loop_kills=0
    while [ "$loop_kills" -lt "$share" ]; do
        run=$((run + 1))
        local -n args="${cmd}_args"
        "$bin/emocfg" "${args[@]}" --db "$db" >> "$out/soak/$cmd.log" 2>&1 &
        local pid=$!
        local delay=$((min_ms + RANDOM % (max_ms - min_ms + 1)))
        local waited=0
        while [ "$waited" -lt "$delay" ] && alive "$pid"; do sleep 0.05; waited=$((waited + 50)); done
        if alive "$pid"; then
            kill -9 "$pid"
            echo "$(date +%s%3N) $cmd" >> "$out/soak/kills.txt"
            wait "$pid" 2>/dev/null || true
            loop_kills=$((loop_kills + 1))
            echo "   $cmd run $run: SIGKILL after ${delay} ms"
        else
            local rc=0
            wait "$pid" || rc=$?
            echo "   $cmd run $run: ended by itself (exit $rc) before the kill at ${delay} ms"
            [ "$rc" -eq 0 ] && break
        fi
    done
}

kill_loop annotate $((kills_wanted / 2))
kills_annotate=$loop_kills
echo "   annotate to completion"
annotate "$db" >> "$out/soak/annotate.log" 2>&1 || { echo "annotate failed after the kills: see $out/soak/annotate.log" >&2; exit 1; }
kill_loop verify $((kills_wanted - kills_annotate))
kills_verify=$loop_kills
echo "   verify to completion"
verify "$db" >> "$out/soak/verify.log" 2>&1 || { echo "verify failed after the kills: see $out/soak/verify.log" >&2; exit 1; }
kills=$((kills_annotate + kills_verify))
stats > "$out/soak/stats.json"
curl -sf "http://127.0.0.1:$EMOCFG_STANDIN_PORT/_standin/digests" > "$out/soak/digests.json"

# ---- the figures
python3 - "$out" "$kills" "$kills_annotate" "$kills_verify" <<'PY'
import json, sqlite3, sys
out, kills, ka, kv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ref = json.load(open(f"{out}/reference/stats.json")); soak = json.load(open(f"{out}/soak/stats.json"))
rd = json.load(open(f"{out}/reference/digests.json")); sd = json.load(open(f"{out}/soak/digests.json"))

def rows(db, sql):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try: return c.execute(sql).fetchall()
    finally: c.close()

ref_db, soak_db = f"{out}/reference/emocfg.sqlite", f"{out}/soak/emocfg.sqlite"
samples_sql = "SELECT stage || '/' || task, uid, status FROM samples"
verdicts_sql = "SELECT sample_uid, judge FROM verdicts"
rs, ss = rows(ref_db, samples_sql), rows(soak_db, samples_sql)
rv, sv = set(rows(ref_db, verdicts_sql)), set(rows(soak_db, verdicts_sql))
integrity = rows(soak_db, "PRAGMA integrity_check")

# Repeats beyond the reference's own (identical requests it sends too, e.g. byte-identical clips).
repeats = soak["repeated_requests"] - ref["repeated_requests"]
after_delivery = soak["repeated_after_delivery"] - ref["repeated_after_delivery"]
in_flight = repeats - after_delivery
# A repeat of a delivered answer: was the process killed soon after the delivery (before it could
# store the answer), or did it live on (the answer was stored, or should have been)?
try:
    kill_times = sorted(int(l.split()[0]) for l in open(f"{out}/soak/kills.txt"))
except FileNotFoundError:
    kill_times = []
window = 1000  # ms between an answer reaching the client and the kill, below which it may not be stored yet
slack = 50     # ms after a kill during which the stand-in may still see the dead client's socket open
late_delivery, killed_before_storing, after_commit = [], [], []
for digest, d in sd.items():
    arrivals, deliveries = sorted(d["arrived_at"]), sorted(d["delivered_at"])
    for a in arrivals[1:]:
        before = [t for t in deliveries if t <= a]
        if not before: continue
        last = before[-1]
        if any(0 <= last - k <= slack for k in kill_times):
            late_delivery.append(last - max(k for k in kill_times if k <= last))  # "delivered" to a killed process
            continue
        gaps = [k - last for k in kill_times if last <= k <= a]
        (killed_before_storing if gaps and min(gaps) <= window else after_commit).append(min(gaps) if gaps else None)
in_flight += len(late_delivery)
after_delivery -= len(late_delivery)
only_soak = sorted(set(sd) - set(rd)); only_ref = sorted(set(rd) - set(sd))

print()
print(f"kills done:                {kills} (annotate {ka}, verify {kv})")
print(f"requests received:         {soak['requests']} (reference {ref['requests']})")
print(f"distinct requests:         {soak['distinct_requests']} (reference {ref['distinct_requests']}){'' if soak['distinct_requests'] == ref['distinct_requests'] else '  <- differs'}")
if only_soak or only_ref:
    print(f"  digests only in the soak: {len(only_soak)}, only in the reference: {len(only_ref)}")
print(f"duplicates (repeats beyond the reference's {ref['repeated_requests']}): {repeats}")
print(f"  in flight at a kill:     {in_flight}  (answer never reached the killed process; re-sent once, as it should be;"
      f" {len(late_delivery)} of them written by the stand-in {sorted(late_delivery)} ms after the kill, before it saw the socket close)")
print(f"  re-sent after delivery:  {after_delivery}  (answer had reached the client), of which:")
print(f"    killed before storing: {len(killed_before_storing)}  (killed {sorted(killed_before_storing)} ms after the answer arrived)")
print(f"    re-sent after commit:  {len(after_commit)}  (the process lived on after the answer: a true duplicate)")
print(f"  max requests in flight:  {soak['max_in_flight']}  (kills x max in flight = {kills * soak['max_in_flight']}, the bound for in-flight re-sends)")

def by_group(rows_):
    g = {}
    for group, uid, status in rows_: g.setdefault(group, set()).add(uid)
    return g
rg, sg = by_group(rs), by_group(ss)
lost_total = 0
print("samples per stage/task (reference -> soak, lost):")
for group in sorted(set(rg) | set(sg)):
    lost = rg.get(group, set()) - sg.get(group, set())
    extra = sg.get(group, set()) - rg.get(group, set())
    lost_total += len(lost)
    print(f"  {group:22s} {len(rg.get(group, ())):6d} -> {len(sg.get(group, ())):6d}  lost {len(lost)}" + (f", extra {len(extra)}" if extra else ""))
lost_verdicts = rv - sv
rdec = {uid: st for _, uid, st in rs}; sdec = {uid: st for _, uid, st in ss}
lost_decisions = [u for u, st in rdec.items() if st in ("accepted", "rejected") and sdec.get(u) != st]
print(f"verdicts (sample, judge):  {len(rv)} -> {len(sv)}  lost {len(lost_verdicts)}")
print(f"decisions:                 {sum(1 for s in rdec.values() if s in ('accepted', 'rejected'))} -> {sum(1 for s in sdec.values() if s in ('accepted', 'rejected'))}  lost or different {len(lost_decisions)}")
losses = lost_total + len(lost_verdicts) + len(lost_decisions)
print(f"losses:                    {losses}")
print(f"integrity_check:           {', '.join(r[0] for r in integrity)}")
bad = losses > 0 or after_commit or integrity != [("ok",)]
print("result:                    " + ("PROBLEMS (see above)" if bad else "no answer re-sent after commit, no losses, store intact"))
sys.exit(1 if bad else 0)
PY
