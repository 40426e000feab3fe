#!/usr/bin/env python3
"""Run VidEmo's evaluation rules (KlingTeam/VidEmo eval/eval_results.py + eval/config.py) over an export.

usage: scripts/check-eval.py DIR [--json]

Simulates a perfect model (its response is the test line's assistant answer) and a faithful judge (yes for
yes/no tasks, 100 for scored tasks, six 100 scores for the caption task, and for the F1 tasks the answer
converted into the option format the judge prompt asks for), then scores every task of VidEmo's config the way
eval_results.py does, in the order its main loop runs them, and reports:
  - per task: lines, the score a perfect model would get (100 when the file is right);
  - every condition under which the real evaluation would crash (missing file, JSONDecodeError,
    ZeroDivisionError, KeyError on the QA ground truth, ...) -- the real run stops at the first one, so
    every task after it is never evaluated;
  - silent misbehaviour (a line dropped after 50 retries, an answer outside the task's classes so F1 cannot
    reach 100, MAFW answers not letters A-K, AU answers not from the 12 AU names, CelebV-HQ names not from the
    vocabularies, duplicate QA keys with different attributes, a constant answer, ...).
Exit 1 when the real evaluation would crash on any file or any answer format is wrong, 0 otherwise.
Standard library only. The rules are reproduced from the published code; none of it is imported.
"""

import argparse
import glob
import json
import os
import re
import sys
import time

# ---- VidEmo eval/config.py, as data: (task name, file name, result_process, result_evaluate, kind) --------
# kind: yn / score (SCORE prompt, int) / f1 / caption / qa. The order is the definition order of `Tasks`,
# which is the order eval_results.py's main loop evaluates them (and stops at the first exception).
AU_CLASSES = ["au1", "au2", "au4", "au6", "au7", "au10", "au12", "au15", "au23", "au24", "au25", "au26"]
HQ_APPEARANCE = [
    "blurry", "male", "young", "chubby", "pale_skin", "rosy_cheeks", "oval_face", "receding_hairline", "bald",
    "bangs", "black_hair", "blonde_hair", "gray_hair", "brown_hair", "straight_hair", "wavy_hair", "long_hair",
    "arched_eyebrows", "bushy_eyebrows", "bags_under_eyes", "eyeglasses", "sunglasses", "narrow_eyes",
    "big_nose", "pointy_nose", "high_cheekbones", "big_lips", "double_chin", "no_beard", "5_o_clock_shadow",
    "goatee", "mustache", "sideburns", "heavy_makeup", "wearing_earrings", "wearing_hat", "wearing_lipstick",
    "wearing_necklace", "wearing_necktie", "wearing_mask",
]
HQ_ACTION = [
    "blow", "chew", "close_eyes", "cough", "cry", "drink", "eat", "frown", "gaze", "glare", "head_wagging",
    "kiss", "laugh", "listen_to_music", "look_around", "make_a_face", "nod", "play_instrument", "read",
    "shake_head", "shout", "sigh", "sing", "sleep", "smile", "smoke", "sneer", "sneeze", "sniff", "talk",
    "turn", "weep", "whisper", "wink", "yawn",
]
MAFW_LETTERS = list("ABCDEFGHIJK")
MAFW_NAMES = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt", "anxiety",
              "helplessness", "disappointment"]
QA_GT = "anno/QA_test_sampling_all/QA_test_sampling_all.json"
QA_ATTRIBUTES = ["Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
                 "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape"]


def T(name, filename, kind, process="strip", evaluate="float", classes=None):
    return {"task": name, "filename": filename, "kind": kind, "result_process": process,
            "result_evaluate": evaluate, "classes": classes}


TASKS = [
    T("ravd_test", "RAVDESS_Fine-grained-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("perr_test", "PERR_Single-Label-Conversational-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("mosi_test", "MOSI_Single-Label-Sentiment-Recognition.json", "yn", evaluate="yn"),
    T("mosei_test", "MOSEI_Single-Label-Sentiment-Recognition.json", "yn", evaluate="yn"),
    T("mer2023_test", "MER2023_Single-Label-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("meld_test", "MELD_Single-Label-Conversational-Emotion-Recognition_new.json", "yn", evaluate="yn"),
    T("meld_test_emotion", "MEAD_Fine-grained-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("mead_id", "MEAD_ID.json", "yn", evaluate="yn"),
    T("mead_head_pose", "MEAD_Head-Pose.json", "yn", evaluate="yn"),
    T("mafw_single_test", "MAFW_Single-Label-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("dfew_single_test", "DFEW_Single-Label-Emotion-Recognition.json", "yn", evaluate="yn"),
    T("chsimsv1_test", "CHSIMIv1_Fine-grained-Sentiment-Recognition.json", "yn", evaluate="yn"),
    T("celebvtext_emotion", "CelebV-Text_Emotion-Caption.json", "score", evaluate="int"),
    T("celebvtext_appearance", "CelebV-Text_Appearance-Caption.json", "score", evaluate="int"),
    T("celebvtext_action", "CelebV-Text_Action-Caption.json", "score", evaluate="int"),
    T("cas_test", "CAS_Single-Label-Micro-Expression-Recognition.json", "yn", evaluate="yn"),
    T("mafw_multi_test", "MAFW_Multiple-Label-Emotion-Recognition.json", "f1", "f1", "float", MAFW_LETTERS),
    T("aff_test", "AffWild2_Action_Unit_Detection.json", "f1", "f1", "float", AU_CLASSES),
    T("celebvhq_appearance", "CelebV-HQ_Appearance-Recognition.json", "f1", "f1", "float", HQ_APPEARANCE),
    T("celebvhq_action", "CelebV-HQ_Action-Recognition.json", "f1", "f1", "float", HQ_ACTION),
    T("emotion_understanding_caption", "caption_test_sampling_v2_all_example.json", "caption"),
    T("open_attribute_qa", "QA_test_sampling_all.json", "qa", evaluate="int"),
]
# calculate_f1 lower-cases and comma-splits only for these tasks (Tasks.AFF / CELEBVHQ_APPEARANCE / _ACTION).
COMMA_SPLIT_TASKS = {"aff_test", "celebvhq_appearance", "celebvhq_action"}
RETRY = 50  # eval_results.py --retry default; a failing line costs RETRY attempts with a 1 s sleep each
CAPTION_RE = re.compile(r"\[?score[s]?\]?: (\d+)")
FIRST = 12


class TaskResult:
    def __init__(self, spec, path):
        self.spec = spec
        self.path = path
        self.lines = 0
        self.score = None
        self.scores = {}      # caption aspects / QA attributes
        self.crash = None     # the exception the real evaluation would raise on this task
        self.wrong = []       # answer-format errors (exit 1)
        self.wrong_n = 0
        self.notes = []       # silent misbehaviour / warnings
        self.notes_n = 0

    def bad(self, msg):
        self.wrong_n += 1
        if len(self.wrong) < FIRST:
            self.wrong.append(msg)

    def note(self, msg):
        self.notes_n += 1
        if len(self.notes) < FIRST:
            self.notes.append(msg)

    def as_dict(self, root):
        return {
            "task": self.spec["task"], "file": os.path.relpath(self.path, root) if self.path else None,
            "kind": self.spec["kind"], "lines": self.lines,
            "perfect_score": self.score, "detail_scores": self.scores or None,
            "crash": self.crash, "format_errors": {"count": self.wrong_n, "first": self.wrong},
            "warnings": {"count": self.notes_n, "first": self.notes},
        }


# ---- eval_results.py rules ----------------------------------------------------------------------------------
def read_json_like_eval(path):
    """EvaluationPipeline._read_json: read, strip, splitlines, strip, skip empty, json.loads (raises)."""
    with open(path, "r", encoding="utf-8") as f:
        content = f.read().strip()
    out = []
    for line in content.splitlines():
        line = line.strip()
        if not line:
            continue
        out.append(json.loads(line))
    return out


def labels_of(item):
    """What swift infer stores as `labels`: the content of the final assistant turn."""
    msgs = item.get("messages") if isinstance(item, dict) else None
    if isinstance(msgs, list) and msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "assistant":
        return msgs[-1].get("content")
    return None


def query_of(item):
    """get_response: data["messages"][0]["content"].replace("<video>.", ""); raises like the original."""
    q = item["messages"][0]["content"]
    return q.replace("<video>.", "")


def micro_f1(true_label, pred_label, classes):
    """MultiLabelBinarizer(classes) + f1_score(average="micro") on one sample; unknown labels are ignored,
    TP+FP+FN == 0 gives 0 (zero_division="warn")."""
    cs = set(classes)
    t = set(x for x in true_label if x in cs)
    p = set(x for x in pred_label if x in cs)
    tp, fp, fn = len(t & p), len(p - t), len(t - p)
    if tp + fp + fn == 0:
        return 0.0
    return 2 * tp / (2 * tp + fp + fn) * 100


def calculate_f1(task, true_label, pred_label, classes):
    if task in COMMA_SPLIT_TASKS:
        if pred_label.lower() != "none":
            pred_label = [i.lower() for i in pred_label.split(",")]
        else:
            pred_label = []
        true_label = [i.lower() for i in true_label.split(",")]
    return micro_f1(list(true_label), list(pred_label), classes)


# ---- the faithful judge ------------------------------------------------------------------------------------
def mafw_options(query):
    """Lettered options the question lists, e.g. '(A) anger'."""
    return {m.group(2).strip().lower(): m.group(1)
            for m in re.finditer(r"\(([A-K])\)\s*([A-Za-z][A-Za-z _-]*?)(?=\s*(?:\(|,|;|\.|\n|$))", query)}


def judge_f1(task, answer, query):
    """What the MAFW_MULTI / AFF / CELEBVHQ_* judge prompt would turn a (perfect) answer into."""
    a = answer.strip()
    if task == "mafw_multi_test":
        if a and all(c in "ABCDEFGHIJK" for c in a):
            return a
        opts = mafw_options(query) or {n: l for n, l in zip(MAFW_NAMES, MAFW_LETTERS)}
        words = re.findall(r"[a-z]+", a.lower())
        letters = [opts[w] for w in words if w in opts]
        letters += [c for c in re.findall(r"\b([A-K])\b", a)]
        return "".join(dict.fromkeys(letters)) or "none"
    if task == "aff_test":
        found = ["AU" + n for n in re.findall(r"au\s*(\d+)", a.lower()) if "au" + n in AU_CLASSES]
        return ",".join(dict.fromkeys(found)) or "none"
    vocab = HQ_APPEARANCE if task == "celebvhq_appearance" else HQ_ACTION
    toks = [re.sub(r"[\s-]+", "_", x.strip().lower()) for x in re.split(r",|;|\band\b|\n", a)]
    found = [x for x in toks if x in vocab]
    return ",".join(dict.fromkeys(found)) or "none"


# ---- per-item simulation of eval_single/get_response -------------------------------------------------------
def simulate_item(res, idx, item, kind):
    """Returns (judge output or None when the line is dropped). Raises when the real eval would crash."""
    spec = res.spec
    try:
        if not isinstance(item, dict):
            raise TypeError(f"line is a JSON {type(item).__name__}, not an object")
        labels = labels_of(item)
        query = query_of(item)  # KeyError / IndexError / TypeError / AttributeError like the original
        if spec["result_process"] == "f1":
            if not isinstance(labels, str):
                raise AttributeError(f"labels is {labels!r}")
            judged = judge_f1(spec["task"], labels, query)
            return str(calculate_f1(spec["task"], labels, judged, spec["classes"]))
        if kind == "yn":
            return "yes"
        if kind == "caption":
            return "\n".join(f"{i}. x: ok, [Score]: 100" for i in range(1, 7))
        return "100"
    except Exception as e:
        # eval_single catches it, retries RETRY times (1 s apart), then prints data["videos"][0]
        try:
            item["videos"][0]
        except Exception as e2:
            raise RuntimeError(f"line {idx + 1}: get_response failed ({type(e).__name__}: {e}) and the "
                               f"except-handler's data['videos'][0] raised {type(e2).__name__}: {e2}") from None
        res.note(f"line {idx + 1}: get_response raises {type(e).__name__}: {e} -> retried {RETRY} times "
                 f"(~{RETRY} s) then dropped")
        res.dropped = getattr(res, "dropped", 0) + 1
        return None


def result_evaluate(kind_eval, results, n_src):
    if kind_eval == "yn":
        total = sum(1 for r in results if r is not None and r.lower() == "yes")
        return total / n_src * 100  # ZeroDivisionError on an empty file
    func = int if kind_eval == "int" else float
    scores = []
    for r in results:
        try:
            scores.append(func(r))
        except Exception:
            scores.append(0)
    return sum(scores) / len(scores)  # ZeroDivisionError when there is no result


def caption_evaluate(results):
    cols = [[] for _ in range(6)]
    for r in results:
        try:
            vals = [float(v) for v in CAPTION_RE.findall(r.lower())]
            if len(vals) != 6:
                raise ValueError
        except Exception:
            vals = [0] * 6
        for c, v in zip(cols, vals):
            c.append(v)
    names = ["vtr", "flu", "ra", "ia", "lab", "clu"]
    return {n: sum(c) / len(c) for n, c in zip(names, cols)}  # ZeroDivisionError on no result


# ---- answer-format checks (what the judge/F1 rules need) --------------------------------------------------
def check_formats(res, items):
    task = res.spec["task"]
    answers = []
    for i, it in enumerate(items, 1):
        if not isinstance(it, dict):
            continue
        msgs = it.get("messages")
        lab = labels_of(it)
        if not isinstance(msgs, list) or not msgs or not isinstance(msgs[0], dict) \
                or not isinstance(msgs[0].get("content"), str):
            res.bad(f"line {i}: messages[0] is not an object with a string content")
        elif msgs[0].get("role") != "user":
            res.bad(f"line {i}: messages[0] is the {msgs[0].get('role')!r} turn: the query sent to the judge "
                    "is not the question")
        if not isinstance(lab, str) or not lab.strip():
            res.bad(f"line {i}: no assistant answer (labels would be {lab!r})")
            continue
        answers.append(lab)
        vids = it.get("videos")
        if not isinstance(vids, list) or not vids:
            res.bad(f"line {i}: no videos")
        q = msgs[0].get("content", "") if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) else ""
        q = q if isinstance(q, str) else ""
        if task == "mafw_multi_test":
            if not re.fullmatch(r"[A-K]+", lab):
                res.bad(f"line {i}: MAFW multi-label answer {lab!r} is not letters A-K concatenated")
            elif len(set(lab)) != len(lab):
                res.note(f"line {i}: answer {lab!r} repeats a letter")
            elif list(lab) != sorted(lab):
                res.note(f"line {i}: answer {lab!r} letters not in option order")
            opts = mafw_options(q)
            want = dict(zip(MAFW_NAMES, MAFW_LETTERS))
            if opts != want:
                res.bad(f"line {i}: the question does not list (A) anger ... (K) disappointment in class order "
                        f"(found {len(opts)} option(s))")
        elif task in COMMA_SPLIT_TASKS:
            classes = res.spec["classes"]
            parts = lab.split(",")
            stray = [p for p in parts if p.lower() not in classes]
            if task == "aff_test" and lab.lower() == "none":
                res.bad(f"line {i}: answer 'none' -- no AU in the classes, so F1 is 0 even for a perfect model")
            elif stray:
                what = {"aff_test": "not one of the 12 AU names",
                        "celebvhq_appearance": "not in the CelebV-HQ appearance vocabulary",
                        "celebvhq_action": "not in the CelebV-HQ action vocabulary"}[task]
                res.bad(f"line {i}: {', '.join(repr(s) for s in stray)} {what} (comma-split without strip; "
                        "ignored by MultiLabelBinarizer, F1 < 100)")
            if len(set(p.lower() for p in parts)) != len(parts):
                res.note(f"line {i}: answer {lab!r} repeats a name")
    return answers


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.dir)
    if not os.path.isdir(root):
        print(f"check-eval: {root} is not a folder", file=sys.stderr)
        return 2
    t0 = time.time()
    results = []
    general = []

    for spec in TASKS:
        hits = sorted(glob.glob(os.path.join(glob.escape(root), "jsons", "test", "*", spec["filename"])))
        res = TaskResult(spec, hits[0] if hits else None)
        results.append(res)
        if len(hits) > 1:
            res.bad(f"{len(hits)} files named {spec['filename']}: " + ", ".join(os.path.relpath(h, root) for h in hits))
        if not hits:
            res.crash = f"FileNotFoundError: no jsons/test/<task>/{spec['filename']}"
            continue
        # -- _read_json
        try:
            items = read_json_like_eval(res.path)
        except Exception as e:
            res.crash = f"{type(e).__name__} in _read_json: {e}"
            raw = open(res.path, encoding="utf-8", errors="replace").read()
            if len(raw.strip().splitlines()) != len([l for l in raw.strip().split("\n") if l.strip()]):
                res.crash += " (a U+2028/U+0085/... inside a line: str.splitlines() breaks it)"
            continue
        res.lines = len(items)
        answers = check_formats(res, items)
        kind = spec["kind"]

        if kind == "qa":
            simulate_qa(res, root, items)
            continue

        # -- evaluate(): one judged result per line (dropped lines give none)
        try:
            outs = [simulate_item(res, i, it, kind) for i, it in enumerate(items)]
        except RuntimeError as e:
            res.crash = str(e)
            continue
        outs = [o for o in outs if o is not None]
        try:
            if kind == "caption":
                res.scores = caption_evaluate(outs)
                res.score = sum(res.scores.values()) / 6
            else:
                res.score = result_evaluate(spec["result_evaluate"], outs, len(items))
        except ZeroDivisionError:
            why = "empty file" if not items else "no line produced a result"
            res.crash = f"ZeroDivisionError in {'result_evaluate_caption' if kind == 'caption' else 'result_evaluate'} ({why})"
            continue
        if res.score is not None and res.score < 100 - 1e-9:
            res.note(f"a perfect model scores {res.score:.2f}, not 100")
        if kind == "yn" and len(items) > 1 and len(set(answers)) == 1:
            res.note(f"all {len(items)} answers are {answers[0]!r}: a constant answer scores 100")

    identity_check(root, results)

    # The real main loop stops at the first exception.
    first_crash = next((r for r in results if r.crash), None)
    never = []
    if first_crash:
        i = results.index(first_crash)
        never = [r.spec["task"] for r in results[i + 1:]]
    crashed = [r for r in results if r.crash]
    wrong = [r for r in results if r.wrong_n]
    rc = 1 if crashed or wrong else 0
    secs = round(time.time() - t0, 2)

    if args.json:
        print(json.dumps({
            "dir": root, "tasks": [r.as_dict(root) for r in results],
            "first_crash": ({"task": first_crash.spec["task"], "error": first_crash.crash} if first_crash else None),
            "never_evaluated_after_first_crash": never,
            "crashing_tasks": len(crashed), "tasks_with_format_errors": len(wrong),
            "result": "FAIL" if rc else "OK", "seconds": secs,
        }, indent=2, ensure_ascii=False))
        return rc

    print(f"check-eval {root}  (VidEmo eval rules, perfect model + faithful judge)")
    w = max(len(r.spec["filename"]) for r in results)
    print(f"  {'#':>2} {'file':<{w}} {'kind':<7} {'lines':>5} {'score':>7}  status")
    for n, r in enumerate(results, 1):
        sc = "-" if r.score is None else f"{r.score:.1f}"
        status = "CRASH " + r.crash if r.crash else ("FORMAT" if r.wrong_n else "ok")
        if not r.crash and r.notes_n:
            status += f" ({r.notes_n} warning(s))"
        print(f"  {n:>2} {r.spec['filename']:<{w}} {r.spec['kind']:<7} {r.lines:>5} {sc:>7}  {status}")
    for r in results:
        if r.scores:
            print(f"  {r.spec['filename']}: " + ", ".join(
                f"{k} {('-' if v is None else format(v, '.0f'))}" for k, v in r.scores.items()))
    for r in results:
        if r.wrong or r.notes:
            print(f"  {r.spec['filename']}:")
            for m in r.wrong:
                print(f"    FORMAT  {m}")
            if r.wrong_n > len(r.wrong):
                print(f"    FORMAT  ... {r.wrong_n - len(r.wrong)} more")
            for m in r.notes:
                print(f"    warning {m}")
            if r.notes_n > len(r.notes):
                print(f"    warning ... {r.notes_n - len(r.notes)} more")
    if first_crash:
        print(f"  the real evaluation stops at task {results.index(first_crash) + 1} ({first_crash.spec['filename']}): "
              f"{first_crash.crash}")
        print(f"  never evaluated after it: {len(never)} task(s)")
    print(f"  {len(crashed)} task(s) would crash, {len(wrong)} with answer-format errors; {secs}s")
    print(f"RESULT: {'FAIL' if rc else 'OK'}")
    return rc


def simulate_qa(res, root, items):
    """execute() for Tasks.QA: read_json_qa_gt, then per attribute filter_src_data_qa + evaluate + result_evaluate."""
    gt_path = os.path.join(root, QA_GT)
    # read_json_qa_gt
    try:
        with open(gt_path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except Exception as e:
        res.crash = f"{type(e).__name__} in read_json_qa_gt ({QA_GT}): {e}"
        return
    gt, first_attr = {}, {}
    try:
        for n, item in enumerate(data):
            messages = item.get("messages", [])
            videos = item.get("videos", [])
            video_path = videos[0]
            source = item.get("source", [])
            source = source.split("QA_")[-1]
            user_content = None
            for msg in messages:
                if msg.get("role") == "user":
                    user_content = msg.get("content")
            key = user_content + video_path
            if key in gt and gt[key] != source:
                res.note(f"ground truth item [{n}]: duplicate key with attribute {source!r} overwrites "
                         f"{gt[key]!r} ({video_path})")
            elif key in gt:
                res.note(f"ground truth item [{n}]: duplicate key ({video_path})")
            if source not in QA_ATTRIBUTES:
                res.bad(f"ground truth item [{n}]: attribute {source!r} is none of the 15 evaluated attributes")
            gt[key] = source
    except Exception as e:
        res.crash = f"{type(e).__name__} in read_json_qa_gt at item [{n}]: {e}"
        return
    # filter_src_data_qa over every line (the first attribute's filter already visits every line)
    per_attr = {a: [] for a in QA_ATTRIBUTES}
    seen = {}
    for i, src in enumerate(items):
        try:
            messages = src.get("messages", [])
            videos = src.get("videos", [""])
            video_path = videos[0]
            user_content = ""
            for msg in messages:
                if msg.get("role") == "user":
                    user_content = msg.get("content")
            key = user_content + video_path
            source = gt[key]
        except KeyError as e:
            res.crash = f"KeyError in filter_src_data_qa: line {i + 1} has no ground-truth item ({str(e)[:80]}...)"
            return
        except Exception as e:
            res.crash = f"{type(e).__name__} in filter_src_data_qa at line {i + 1}: {e}"
            return
        if key in seen:
            res.note(f"line {i + 1}: same key as line {seen[key] + 1} (scored twice)")
        seen[key] = i
        if source in per_attr:
            per_attr[source].append((i, src))
        else:
            res.note(f"line {i + 1}: attribute {source!r} is never evaluated")
    unused = len(set(gt) - set(seen))
    if unused:
        res.note(f"{unused} ground-truth item(s) have no test line")
    # per attribute: evaluate + result_evaluate("int"); an attribute with no item divides by zero
    for attr in QA_ATTRIBUTES:
        outs = []
        for i, src in per_attr[attr]:
            try:
                o = simulate_item(res, i, src, "qa")
            except RuntimeError as e:
                res.crash = f"attribute {attr}: {e}"
                return
            if o is not None:
                outs.append(o)
        try:
            res.scores[attr] = result_evaluate("int", outs, len(per_attr[attr]))
        except ZeroDivisionError:
            res.scores[attr] = None
            if res.crash is None:
                res.crash = f"ZeroDivisionError in result_evaluate for attribute {attr} (no item)"
    empty = [a for a in QA_ATTRIBUTES if res.scores.get(a) is None]
    if empty:
        res.note(f"{len(empty)} of 15 attributes have no item: {', '.join(empty)}")
    done = [v for v in res.scores.values() if v is not None]
    res.score = sum(done) / len(done) if done else None


def identity_check(root, results):
    """MEAD_ID is judged yes/no against the actor id: the test identities must be trained on too."""
    r = next(x for x in results if x.spec["task"] == "mead_id")
    if r.crash or not r.path:
        return
    try:
        items = read_json_like_eval(r.path)
    except Exception:
        return
    ids = {labels_of(it) for it in items if isinstance(it, dict)}
    ids.discard(None)
    train_ids = set()
    for p in glob.glob(os.path.join(glob.escape(root), "jsons", "train", "*", "*", "MEAD_*.jsonl")):
        with open(p, encoding="utf-8") as f:
            for line in f:
                m = re.search(r'"videos/MEAD/([A-Za-z]\d{3})', line)
                if m:
                    train_ids.add(m.group(1))
    missing = sorted(i for i in ids if i not in train_ids)
    if missing:
        r.note(f"identities {missing} never appear in the training shards (train has {sorted(train_ids)}): "
               "an ID task cannot be learned for them")


if __name__ == "__main__":
    sys.exit(main())
