#!/usr/bin/env python3
"""Check an emocfg export the way a consumer (ms-swift / Hugging Face datasets / a video decoder) reads it.

usage: scripts/check-export.py DIR [--max-videos N] [--count-frames] [--json] [--allow-empty] [--no-install]

 (a) loads every shard (jsons/{train,test}/<task>/{full,sampled}/*.jsonl, and *.jsonl.zst when `zstandard`
     is importable), every evaluation file (jsons/test/<task>/*.json) and the QA ground truth
     (anno/QA_test_sampling_all/QA_test_sampling_all.json) with datasets.load_dataset("json", data_files=...);
     an empty file is reported as EMPTY (datasets raises on it);
 (b) checks every line: valid JSON object, messages[0] is the user turn, number of <video> tags == len(videos),
     a non-empty assistant answer, video paths relative and under videos/;
 (c) opens every distinct `videos` entry (relative to DIR) with PyAV: a regular file after following
     symlinks (not a directory), a video stream, the first frame decodes; reports frames and duration
     (--count-frames decodes every frame to count them);
 (d) prints a summary (or JSON with --json) and exits 1 when anything failed, 0 when all is good.

Needs the standard library, PyAV (`av`) and `datasets`; missing ones are installed with `pip install --quiet`
(unless --no-install). When that fails the part that needs them is SKIPPED (said so in the summary), and the
exit code only reflects the parts that ran. Exit 2: DIR is not an export folder.
"""

import argparse
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

EVAL_FILES = [
    "RAVDESS_Fine-grained-Emotion-Recognition.json",
    "PERR_Single-Label-Conversational-Emotion-Recognition.json",
    "MOSI_Single-Label-Sentiment-Recognition.json",
    "MOSEI_Single-Label-Sentiment-Recognition.json",
    "MER2023_Single-Label-Emotion-Recognition.json",
    "MELD_Single-Label-Conversational-Emotion-Recognition_new.json",
    "MEAD_Fine-grained-Emotion-Recognition.json",
    "MEAD_ID.json",
    "MEAD_Head-Pose.json",
    "MAFW_Single-Label-Emotion-Recognition.json",
    "DFEW_Single-Label-Emotion-Recognition.json",
    "CHSIMIv1_Fine-grained-Sentiment-Recognition.json",
    "CelebV-Text_Emotion-Caption.json",
    "CelebV-Text_Appearance-Caption.json",
    "CelebV-Text_Action-Caption.json",
    "CAS_Single-Label-Micro-Expression-Recognition.json",
    "MAFW_Multiple-Label-Emotion-Recognition.json",
    "AffWild2_Action_Unit_Detection.json",
    "CelebV-HQ_Appearance-Recognition.json",
    "CelebV-HQ_Action-Recognition.json",
    "caption_test_sampling_v2_all_example.json",
    "QA_test_sampling_all.json",
]
QA_GT = os.path.join("anno", "QA_test_sampling_all", "QA_test_sampling_all.json")
QA_ATTRIBUTES = [
    "Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
    "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape",
]
# Characters Python's str.splitlines() treats as line breaks besides \n and \r (VidEmo's evaluation splits
# its input with splitlines(), so one of these inside a JSON string breaks that line).
ODD_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
FIRST = 20


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure(module, package, allow_install):
    """Import `module`, installing `package` with pip when missing. Returns (module or None, note)."""
    try:
        return __import__(module), None
    except ImportError:
        pass
    if not allow_install:
        return None, f"{package} is not installed (--no-install)"
    log(f"installing {package} with pip ...")
    for extra in ([], ["--user"]):
        try:
            r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *extra, package],
                               capture_output=True, text=True, timeout=900)
        except Exception as e:  # pip missing, timeout
            return None, f"pip install {package} failed: {e}"
        if r.returncode == 0:
            break
    else:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
        return None, f"pip install {package} failed: {tail[0]}"
    import importlib
    importlib.invalidate_caches()
    try:
        return __import__(module), None
    except ImportError as e:
        return None, f"{package} installed but cannot be imported: {e}"


class Report:
    def __init__(self):
        self.problems = {}   # category -> list of strings
        self.counts = {}     # category -> count
        self.warnings = {}
        self.wcounts = {}
        self.skipped = []
        self.answers = {}    # (user content, videos) -> {answer: first place}
        self.dup_lines = 0

    def fail(self, cat, msg):
        self.counts[cat] = self.counts.get(cat, 0) + 1
        lst = self.problems.setdefault(cat, [])
        if len(lst) < FIRST:
            lst.append(msg)

    def warn(self, cat, msg):
        self.wcounts[cat] = self.wcounts.get(cat, 0) + 1
        lst = self.warnings.setdefault(cat, [])
        if len(lst) < FIRST:
            lst.append(msg)


def read_bytes(path, zstd):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".zst"):
        return zstd.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return data


def find_files(root):
    j = os.path.join(root, "jsons")
    shards, zst, evals = [], [], []
    for side in ("train", "test"):
        shards += glob.glob(os.path.join(j, side, "*", "*", "*.jsonl"))
        zst += glob.glob(os.path.join(j, side, "*", "*", "*.jsonl.zst"))
    evals = glob.glob(os.path.join(j, "test", "*", "*.json"))
    return sorted(shards), sorted(zst), sorted(evals)


RL_TASKS = {"affective_tree", "mcq_accuracy", "mcq_f1"}


def bad_video_path(v):
    """Not a relative videos/<Folder>/... path inside the export (absolute, or climbing out with ..)."""
    return os.path.isabs(v) or ".." in v.split("/") or not v.startswith("videos/")


def check_rl_sample(obj, where, rep, videos_seen, side):
    """A jsons/train/rl/ line: ms-swift's GRPO shape (the user turn only) with the reward's columns."""
    ok = True

    def bad(msg):
        nonlocal ok
        ok = False
        rep.fail("lines", f"{where}: {msg}")

    if not isinstance(obj, dict):
        bad(f"not a JSON object ({type(obj).__name__})")
        return False
    msgs, vids, task = obj.get("messages"), obj.get("videos"), obj.get("task")
    if side != "train":
        bad("an RL row on the test side")
    if not (isinstance(msgs, list) and len(msgs) == 1 and isinstance(msgs[0], dict) and msgs[0].get("role") == "user"
            and isinstance(msgs[0].get("content"), str)):
        bad("messages is not exactly the user turn")
        return False
    if not isinstance(vids, list) or not vids or not all(isinstance(v, str) and not bad_video_path(v) for v in vids):
        bad("videos missing, empty or not relative videos/<Folder>/... paths")
        return False
    if msgs[0]["content"].count("<video>") != len(vids):
        bad("the <video> tags do not match the videos")
    for v in vids:
        videos_seen.setdefault(v, set()).add(side)
    if task not in RL_TASKS:
        bad(f"task {task!r} is not one of {sorted(RL_TASKS)}")
    elif task == "affective_tree":
        try:
            tree = json.loads(obj.get("tree") or "")
            if not isinstance(tree, dict) or not tree.get("emotions"):
                bad("tree is not an affective tree")
        except (TypeError, ValueError):
            bad("tree is not JSON text")
    elif not isinstance(obj.get("solution"), str) or not obj["solution"]:
        bad("solution is missing")
    return ok


def check_sample(obj, where, rep, videos_seen, side, is_gt=False):
    """(b): the ms-swift sample shape. Returns True when the line is good."""
    if "/rl/" in where.replace(os.sep, "/"):
        return check_rl_sample(obj, where, rep, videos_seen, side)
    ok = True

    def bad(msg):
        nonlocal ok
        ok = False
        rep.fail("lines", f"{where}: {msg}")

    if not isinstance(obj, dict):
        bad(f"not a JSON object ({type(obj).__name__})")
        return False
    msgs = obj.get("messages")
    vids = obj.get("videos")
    if not isinstance(msgs, list) or not msgs:
        bad("messages missing or not a non-empty list")
        return False
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) and isinstance(m.get("role"), str)
               for m in msgs):
        bad("a message is not an object with string role and content")
        return False
    if msgs[0].get("role") != "user":
        bad(f"messages[0] is the {msgs[0].get('role')!r} turn, not the user turn")
    if msgs[-1].get("role") != "assistant":
        bad(f"last message is the {msgs[-1].get('role')!r} turn, not the assistant answer")
    elif not msgs[-1]["content"].strip():
        bad("assistant answer is empty")
    if not isinstance(vids, list) or not all(isinstance(v, str) for v in vids):
        bad("videos missing or not a list of strings")
        return False
    if not vids:
        bad("videos is empty")
    tags = sum(m["content"].count("<video>") for m in msgs)
    if tags != len(vids):
        bad(f"{tags} <video> tag(s) but {len(vids)} video(s)")
    if not msgs[0]["content"].startswith("<video>") and tags:
        rep.warn("lines", f"{where}: the <video> tag is not at the start of the user turn")
    if msgs[-1].get("role") == "assistant" and not is_gt:
        key = (msgs[0]["content"], tuple(vids))
        rep.answers.setdefault(key, {}).setdefault(msgs[-1]["content"], where)
    for v in vids:
        if bad_video_path(v):
            bad(f"video path {v!r} is not a relative videos/<Folder>/... path")
        videos_seen.setdefault(v, set()).add(side)
    if is_gt:
        src = obj.get("source")
        if not isinstance(src, str) or not src.startswith("QA_"):
            bad(f"source {src!r} is not QA_<Attribute>")
        elif src[3:] not in QA_ATTRIBUTES:
            bad(f"source {src!r}: attribute not one of the 15 evaluated attributes")
    else:
        extra = set(obj) - {"messages", "videos"}
        if extra:
            rep.warn("lines", f"{where}: extra top-level keys {sorted(extra)} (ms-swift drops them)")
    return ok


def check_text_lines(rel, text, rep, videos_seen, side, stats):
    """(b) for a JSONL file. Returns the number of non-empty lines."""
    n = 0
    if any(c in text for c in ODD_BREAKS):
        rep.warn("lines", f"{rel}: contains a character str.splitlines() breaks on (U+2028, U+0085, ...); "
                          "VidEmo's evaluation would split that line")
    if text and not text.endswith("\n"):
        rep.warn("lines", f"{rel}: no newline after the last line")
    seen = set()
    for i, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            if line == "" and i == len(text.split("\n")):
                continue
            rep.warn("lines", f"{rel}:{i}: blank line")
            continue
        n += 1
        if line in seen:
            rep.dup_lines += 1
            rep.warn("duplicates", f"{rel}:{i}: the same line appears earlier in this file")
        seen.add(line)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            rep.fail("lines", f"{rel}:{i}: invalid JSON ({e})")
            stats["bad_lines"] += 1
            continue
        if not check_sample(obj, f"{rel}:{i}", rep, videos_seen, side):
            stats["bad_lines"] += 1
    return n


def hf_load(datasets, path, cache_dir):
    ds = datasets.load_dataset("json", data_files=path, split="train", cache_dir=cache_dir)
    return len(ds)


def probe_video(av, path, count_frames):
    """(c) Returns dict(ok, reason, frames, duration, codec, size)."""
    info = {"ok": False}
    if not os.path.lexists(path):
        info["reason"] = "missing"
        return info
    real = os.path.realpath(path)
    if not os.path.exists(real):
        info["reason"] = f"broken symlink -> {real}"
        return info
    if os.path.isdir(real):
        info["reason"] = "a directory (frame folder?), not a video file"
        return info
    if not os.path.isfile(real):
        info["reason"] = "not a regular file"
        return info
    info["size"] = os.path.getsize(real)
    if info["size"] == 0:
        info["reason"] = "zero-byte file"
        return info
    try:
        with av.open(real) as c:
            if not c.streams.video:
                info["reason"] = "no video stream"
                return info
            st = c.streams.video[0]
            info["codec"] = st.codec_context.name
            info["size_px"] = f"{st.codec_context.width}x{st.codec_context.height}"
            dur = None
            if st.duration is not None and st.time_base is not None:
                dur = float(st.duration * st.time_base)
            elif c.duration is not None:
                dur = c.duration / 1_000_000
            info["duration"] = dur
            decoded = 0
            for _ in c.decode(st):
                decoded += 1
                if not count_frames and decoded >= 2:
                    break
            if decoded == 0:
                info["reason"] = "no frame decodes"
                return info
            if decoded < 2:
                info["reason"] = ("only 1 frame decodes (qwen-vl-utils' smart_nframes raises on a video with fewer "
                                  "than 2 frames)")
                return info
            info["frames"] = decoded if count_frames else (st.frames or None)
            info["ok"] = True
            return info
    except Exception as e:
        info["reason"] = f"{type(e).__name__}: {e}"
        return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--max-videos", type=int, default=None, help="open at most N distinct videos")
    ap.add_argument("--count-frames", action="store_true", help="decode every frame to count them")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--allow-empty", action="store_true",
                    help="an empty evaluation file is a warning, not a failure")
    ap.add_argument("--no-install", action="store_true", help="never pip install missing modules")
    args = ap.parse_args()

    root = os.path.abspath(args.dir)
    if not os.path.isdir(os.path.join(root, "jsons")):
        print(f"check-export: {root} has no jsons/ folder", file=sys.stderr)
        return 2
    t0 = time.time()
    rep = Report()
    timing = {}
    stats = {"bad_lines": 0}

    shards, zst_shards, evals = find_files(root)
    gt = os.path.join(root, QA_GT)
    try:
        import zstandard as zstd
    except ImportError:
        zstd = None
    if zst_shards and zstd is None:
        rep.skipped.append(f"{len(zst_shards)} .jsonl.zst shard(s): zstandard is not importable")
        rep.warn("files", f"SKIPPED {len(zst_shards)} .jsonl.zst shard(s) (zstandard not importable)")
        zst_shards = []

    # Eval-file names: every one of the 22 exists once.
    found = {}
    for p in evals:
        found.setdefault(os.path.basename(p), []).append(os.path.relpath(p, root))
    for name in EVAL_FILES:
        if name not in found:
            rep.fail("files", f"evaluation file {name} missing under jsons/test/<task>/")
        elif len(found[name]) > 1:
            rep.fail("files", f"evaluation file {name} found {len(found[name])} times: {found[name]}")
    for name in found:
        if name not in EVAL_FILES:
            rep.warn("files", f"jsons/test/*/{name}: not one of VidEmo's 22 evaluation file names")
    if not os.path.isfile(gt):
        rep.fail("files", f"{QA_GT} missing")

    # (b) line checks (standard library) ------------------------------------------------------------
    t = time.time()
    videos_seen = {}
    line_counts = {}
    empty = []
    for p in shards + zst_shards + evals:
        rel = os.path.relpath(p, root)
        side = "train" if rel.split(os.sep)[1] == "train" else "test"
        try:
            data = read_bytes(p, zstd)
            text = data.decode("utf-8")
        except Exception as e:
            rep.fail("files", f"{rel}: cannot read ({type(e).__name__}: {e})")
            continue
        if not text.strip():
            empty.append(rel)
            line_counts[rel] = 0
            is_eval = p in evals
            if is_eval and not args.allow_empty:
                rep.fail("files", f"{rel}: EMPTY (VidEmo's evaluation divides by zero on it)")
            else:
                rep.warn("files", f"{rel}: EMPTY")
            continue
        line_counts[rel] = check_text_lines(rel, text, rep, videos_seen, side, stats)
    gt_items = 0
    if os.path.isfile(gt):
        try:
            with open(gt, encoding="utf-8") as f:
                arr = json.load(f)
            if not isinstance(arr, list):
                rep.fail("lines", f"{QA_GT}: not a JSON array")
                arr = []
            attrs = {}
            for i, obj in enumerate(arr):
                if not check_sample(obj, f"{QA_GT}[{i}]", rep, videos_seen, "test", is_gt=True):
                    stats["bad_lines"] += 1
                if isinstance(obj, dict) and isinstance(obj.get("source"), str):
                    a = obj["source"].split("QA_")[-1]
                    attrs[a] = attrs.get(a, 0) + 1
            gt_items = len(arr)
            line_counts[QA_GT] = gt_items
            missing = [a for a in QA_ATTRIBUTES if a not in attrs]
            if missing:
                rep.fail("files", f"{QA_GT}: {len(missing)} of 15 QA attributes have no item "
                                  f"(VidEmo's evaluation divides by zero): {', '.join(missing)}; present: "
                                  + ", ".join(f"{a}={n}" for a, n in sorted(attrs.items())))
        except Exception as e:
            rep.fail("lines", f"{QA_GT}: not valid JSON ({type(e).__name__}: {e})")
    timing["lines"] = round(time.time() - t, 2)

    # Curation versions: source.txt names existing shards with the recorded line count and SHA-256.
    versions = sorted(glob.glob(os.path.join(root, "jsons", "curation", "v*", "source.txt")))
    for st in versions:
        vrel = os.path.relpath(st, root)
        for k, row in enumerate(open(st, encoding="utf-8").read().splitlines(), 1):
            parts = row.split("\t")
            if len(parts) != 3:
                rep.fail("curation", f"{vrel}:{k}: not 'path<TAB>lines<TAB>sha256'")
                continue
            path, n, sha = parts
            cand = [os.path.join(root, path), os.path.join(root, path + ".zst")]
            hit = next((c for c in cand if os.path.isfile(c)), None)
            if hit is None:
                rep.fail("curation", f"{vrel}:{k}: {path} does not exist")
                continue
            if hit.endswith(".zst") and zstd is None:
                continue
            data = read_bytes(hit, zstd)
            if hashlib.sha256(data).hexdigest() != sha:
                rep.warn("curation", f"{vrel}:{k}: {path} changed since this version (SHA-256 differs; "
                                     "receipt reproduce should use jsons/curation/shards/)")
            nl = data.count(b"\n")
            if str(nl) != n and str(len(data.splitlines())) != n:
                rep.warn("curation", f"{vrel}:{k}: {path} has {nl} lines, source.txt says {n}")

    # Train/test: a clip on both sides.
    both = sorted(v for v, s in videos_seen.items() if len(s) > 1)
    for v in both:
        rep.fail("sides", f"{v} is used by train and test files")

    # The same question on the same video with different answers (e.g. a long recording exported whole for
    # several segments): a consumer cannot tell the samples apart.
    conflicts = 0
    for (q, vids), answers in rep.answers.items():
        if len(answers) > 1:
            conflicts += 1
            a = list(answers.items())[:2]
            rep.warn("conflicts", f"{vids[0] if vids else '?'}: question {q[:60]!r} answered {a[0][0][:40]!r} "
                                  f"({a[0][1]}) and {a[1][0][:40]!r} ({a[1][1]})")

    # (a) Hugging Face datasets --------------------------------------------------------------------
    t = time.time()
    loaded, load_targets = 0, [p for p in shards + zst_shards + evals
                               if line_counts.get(os.path.relpath(p, root), 0) > 0]
    if os.path.isfile(gt):
        load_targets.append(gt)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    datasets, note = ensure("datasets", "datasets", not args.no_install)
    if datasets is None:
        rep.skipped.append(f"datasets loading: {note}")
    else:
        try:
            datasets.disable_progress_bars()
            datasets.logging.set_verbosity(datasets.logging.CRITICAL)
        except Exception:
            pass
        with tempfile.TemporaryDirectory(prefix="check-export-hf-") as cache:
            for p in load_targets:
                rel = os.path.relpath(p, root)
                try:
                    n = hf_load(datasets, p, cache)
                    loaded += 1
                    want = line_counts.get(rel)
                    if want is not None and n != want:
                        rep.fail("files", f"{rel}: datasets loaded {n} rows, the file has {want} lines")
                except Exception as e:
                    chain, c = [], e
                    while c is not None and len(chain) < 4:
                        m = str(c).strip().splitlines()[0] if str(c).strip() else ""
                        chain.append(f"{type(c).__name__}: {m[:160]}")
                        c = c.__cause__ or c.__context__
                    rep.fail("files", f"{rel}: datasets.load_dataset failed ({' <- '.join(chain)})")
        # Empty files: datasets raises on them (reported above as EMPTY, not loaded).
    timing["datasets"] = round(time.time() - t, 2)

    # (c) videos -----------------------------------------------------------------------------------
    t = time.time()
    distinct = sorted(videos_seen)
    to_open = distinct if args.max_videos is None else distinct[: max(0, args.max_videos)]
    playable, failed, frames_total, dur_total = 0, 0, 0, 0.0
    video_info = {}
    av, note = ensure("av", "av", not args.no_install)
    if av is None:
        rep.skipped.append(f"video decoding: {note}")
        to_open = []
    else:
        try:
            av.logging.set_level(av.logging.PANIC)
        except Exception:
            pass
    for v in to_open:
        info = probe_video(av, os.path.join(root, v), args.count_frames)
        video_info[v] = info
        if info["ok"]:
            playable += 1
            frames_total += info.get("frames") or 0
            dur_total += info.get("duration") or 0.0
        else:
            failed += 1
            rep.fail("videos", f"{v}: {info['reason']}")
    timing["videos"] = round(time.time() - t, 2)
    timing["total"] = round(time.time() - t0, 2)

    # (d) summary ----------------------------------------------------------------------------------
    n_lines = sum(line_counts.values())
    reasons = {}
    for v, i in video_info.items():
        if not i["ok"]:
            r = i["reason"].split(":")[0] if i["reason"].startswith(("broken", "OSError", "InvalidData")) else i["reason"]
            reasons[r] = reasons.get(r, 0) + 1
    summary = {
        "dir": root,
        "files": {
            "shards": len(shards) + len(zst_shards), "evaluation_files": len(evals), "qa_ground_truth": int(os.path.isfile(gt)),
            "loaded_with_datasets": loaded if datasets is not None else None,
            "to_load": len(load_targets), "empty": empty,
        },
        "lines": {"total": n_lines, "bad": stats["bad_lines"], "qa_ground_truth_items": gt_items},
        "videos": {
            "distinct": len(distinct), "opened": len(to_open) if av is not None else 0,
            "playable": playable, "failed": failed, "failure_reasons": reasons,
            "frames_total": frames_total if (args.count_frames or frames_total) else None,
            "duration_total_s": round(dur_total, 2), "count_frames": args.count_frames,
            "on_both_sides": len(both),
        },
        "same_question_and_video_with_different_answers": conflicts,
        "duplicate_lines": rep.dup_lines,
        "curation_versions": len(versions),
        "problems": {k: {"count": rep.counts[k], "first": v} for k, v in rep.problems.items()},
        "warnings": {k: {"count": rep.wcounts[k], "first": v} for k, v in rep.warnings.items()},
        "skipped": rep.skipped,
        "seconds": timing,
    }
    bad = sum(rep.counts.values())
    summary["result"] = "FAIL" if bad else "OK"
    if args.json:
        summary["videos"]["details"] = video_info
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 1 if bad else 0

    f = summary["files"]
    print(f"check-export {root}")
    print(f"  files:    {f['shards']} shards, {f['evaluation_files']} evaluation files, QA ground truth "
          f"{'present' if f['qa_ground_truth'] else 'MISSING'}; "
          + (f"{loaded}/{len(load_targets)} non-empty files loaded with datasets" if datasets is not None
             else "datasets loading SKIPPED")
          + f"; {len(empty)} EMPTY")
    for e in empty:
        print(f"            EMPTY {e}")
    print(f"  lines:    {n_lines} checked ({gt_items} QA ground-truth items), {stats['bad_lines']} bad")
    vv = summary["videos"]
    extra = f", {len(distinct) - len(to_open)} not opened (--max-videos)" if av is not None and len(to_open) < len(distinct) else ""
    if av is None:
        print(f"  videos:   {len(distinct)} distinct; decoding SKIPPED")
    else:
        fr = (f"{frames_total} frames (decoded)" if args.count_frames
              else f"{frames_total} frames (container count; first two frames decoded)")
        print(f"  videos:   {len(distinct)} distinct, {len(to_open)} opened{extra}: {playable} playable, "
              f"{failed} failed; {fr}, {dur_total:.1f} s in all")
        for r, n in sorted(reasons.items(), key=lambda x: -x[1]):
            print(f"            {n} x {r}")
    print(f"  sides:    {len(both)} video(s) used by both train and test files")
    print(f"  samples:  {conflicts} question+video pair(s) with different answers, {rep.dup_lines} duplicate line(s) "
          "(warnings)")
    print(f"  curation: {len(versions)} version(s) checked")
    for s in rep.skipped:
        print(f"  SKIPPED:  {s}")
    for cat, lst in rep.problems.items():
        print(f"  FAILED {cat}: {rep.counts[cat]}" + (f" (first {FIRST})" if rep.counts[cat] > FIRST else ""))
        for m in lst:
            print(f"    - {m}")
    for cat, lst in rep.warnings.items():
        print(f"  warnings {cat}: {rep.wcounts[cat]}" + (f" (first {FIRST})" if rep.wcounts[cat] > FIRST else ""))
        for m in lst:
            print(f"    - {m}")
    print(f"  time:     " + ", ".join(f"{k} {v}s" for k, v in timing.items()))
    print(f"RESULT: {summary['result']}" + (f" ({bad} problem(s))" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
