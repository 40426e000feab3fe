#!/usr/bin/env python3
"""The baseline of `emocfg-bench export`: the export written the way one would by hand in Python.

Reads an emocfg store (SQLite) and writes the same bytes as `emocfg export` for
  jsons/{train,test}/<dir>/{full,sampled}/<Source>_<task>.jsonl   every shard
  jsons/test/<dir>/<evaluation file>.json                          the 22 evaluation files
  anno/QA_test_sampling_all/QA_test_sampling_all.json              the QA ground truth (a JSON array)
  jsons/train/rl/{full,sampled}/<Source>_rl.jsonl                  the GRPO rows (tree and multiple-choice rewards)
  jsons/curation/vN/source.txt                                     one per mix of the default curriculum
It does not write receipts, line indexes or video links, and it takes each clip's side from the
`clip_splits` table (an `emocfg export` decides and records them first). It only reads the store.

Standard library, and emocfg's reward plugin for the affective trees. Two passes over one snapshot:
the first picks the sampled sets, the second renders every accepted sample (json.loads of its
content, the ms-swift dict, json.dumps) and writes it.
"""
import argparse
import hashlib
import json
import os
import sqlite3
import sys

# The affective tree's parsing, structure checks and label normalisation: emocfg's reward plugin.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins"))
from affective_tree_reward import extract_tree, normalise, tree_problems  # noqa: E402

# name, folder under jsons/test/, rule: ("instruct", source, family, form) | ("captions",) | ("qa",)
EVALUATION_FILES = [
    ("RAVDESS_Fine-grained-Emotion-Recognition.json", "emotion", ("instruct", "RAVDESS", "fine_emotion", "open")),
    ("PERR_Single-Label-Conversational-Emotion-Recognition.json", "emotion", ("instruct", "PERR", "emotion", "open")),
    ("MOSI_Single-Label-Sentiment-Recognition.json", "emotion", ("instruct", "MOSI", "sentiment", "open")),
    ("MOSEI_Single-Label-Sentiment-Recognition.json", "emotion", ("instruct", "MOSEI", "sentiment", "open")),
    ("MER2023_Single-Label-Emotion-Recognition.json", "emotion", ("instruct", "MER2023", "emotion", "open")),
    ("MELD_Single-Label-Conversational-Emotion-Recognition_new.json", "emotion", ("instruct", "MELD", "emotion", "open")),
    ("MEAD_Fine-grained-Emotion-Recognition.json", "emotion", ("instruct", "MEAD", "fine_emotion", "open")),
    ("MEAD_ID.json", "attribute", ("instruct", "MEAD", "identity", "open")),
    ("MEAD_Head-Pose.json", "attribute", ("instruct", "MEAD", "head_pose", "open")),
    ("MAFW_Single-Label-Emotion-Recognition.json", "emotion", ("instruct", "MAFW", "emotion", "open")),
    ("DFEW_Single-Label-Emotion-Recognition.json", "emotion", ("instruct", "DFEW", "emotion", "open")),
    ("CHSIMIv1_Fine-grained-Sentiment-Recognition.json", "emotion", ("instruct", "CH-SIMS", "fine_sentiment", "open")),
    ("CelebV-Text_Emotion-Caption.json", "caption", ("instruct", "CelebV-Text", "emotion_caption", "caption")),
    ("CelebV-Text_Appearance-Caption.json", "caption", ("instruct", "CelebV-Text", "appearance_caption", "caption")),
    ("CelebV-Text_Action-Caption.json", "caption", ("instruct", "CelebV-Text", "action_caption", "caption")),
    ("CAS_Single-Label-Micro-Expression-Recognition.json", "emotion", ("instruct", "CAS(ME)^2", "micro_expression", "open")),
    ("MAFW_Multiple-Label-Emotion-Recognition.json", "emotion", ("instruct", "MAFW", "compound_emotion", "mcq")),
    ("AffWild2_Action_Unit_Detection.json", "emotion", ("instruct", "AffWild2", "action_units", "open")),
    ("CelebV-HQ_Appearance-Recognition.json", "attribute", ("instruct", "CelebV-HQ", "appearance", "open")),
    ("CelebV-HQ_Action-Recognition.json", "attribute", ("instruct", "CelebV-HQ", "action", "open")),
    ("caption_test_sampling_v2_all_example.json", "caption", ("captions",)),
    ("QA_test_sampling_all.json", "qa", ("qa",)),
]
QA_ATTRIBUTES = {
    "Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
    "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape",
}
QA_TRUTH = "anno/QA_test_sampling_all/QA_test_sampling_all.json"
# The default curriculum: (mix, sample tasks); every mix takes the train side's full shards.
CURRICULUM = [
    ("attribute", ["attribute"]),
    ("expression", ["attribute", "expression"]),
    ("emotion", ["attribute", "expression", "emotion"]),
    ("rationale", ["attribute", "expression", "emotion", "rationale"]),
    ("all", ["attribute", "expression", "emotion", "rationale", "caption", "qa", "tree"]),
    ("rl", ["rl"]),
]


def folder(task, form):
    """The tree folder of a sample: caption-form samples go to caption/, expression with emotion."""
    if form == "caption":
        return "caption"
    if task in ("expression", "emotion"):
        return "emotion"
    return task


def shard_path(side, directory, set_, source, task):
    return f"jsons/{side}/{directory}/{set_}/{source}_{task}.jsonl"


def rank(seed, uid):
    """First 8 bytes of SHA-256(seed|uid), big-endian."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{uid}".encode()).digest()[:8], "big")


def dumps(obj):
    # U+2028, U+2029 and U+0085 escaped: str.splitlines (VidEmo's evaluation reads with it) breaks there.
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\u0085", "\\u0085"))


def canonical(value):
    """A tree's JSON text as emocfg's `JSONValue.canonical` writes it: keys sorted, no spaces; in
    strings only `"`, `\\`, \\n, \\r, \\t and \\u00XX for the other control characters are escaped."""
    if isinstance(value, dict):
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rl_row(stage, task, form, c):
    """The GRPO row of an accepted train-side sample: (reward task, solution, tree text, prompt
    extra, stratum), or None when no reward scores it."""
    question = c.get("question") or ""
    if not isinstance(question, str):
        question = ""
    if task == "tree":
        answer = c.get("answer")
        tree = extract_tree(answer if isinstance(answer, str) else "")
        if tree is None or tree_problems(tree):
            return None
        # The tree as emocfg keeps it: the schema's fields only, lists in the order given.
        kept = {"attributes": [{"id": a["id"], "aspect": a["aspect"], "item": a["item"]} for a in tree["attributes"]],
                "expressions": [{"id": x["id"], "aspect": x["aspect"], "item": x["item"], "supported_by": list(x["supported_by"])}
                                for x in tree["expressions"]],
                "emotions": [{"id": m["id"], "item": m["item"], "supported_by": list(m["supported_by"])} for m in tree["emotions"]]}
        stratum = ",".join(sorted(normalise(m["item"]) for m in tree["emotions"]))
        return "affective_tree", None, canonical(kept), question, "affective_tree|" + stratum
    letters = c.get("answer_letters")
    if form == "mcq" and isinstance(letters, str) and letters:
        kind = "mcq_accuracy" if len(letters) == 1 else "mcq_f1"
        options = c.get("options")
        prompt = question
        if isinstance(options, list):
            options = [o for o in options if isinstance(o, str)]
            # The options follow the question unless it shows the first one already.
            if options and not (options[0] and options[0] in question):
                prompt += "\n" + "\n".join(options)
        family, label = c.get("kind"), c.get("label")
        stratum = "|".join([kind, family if isinstance(family, str) else "", label if isinstance(label, str) else ""])
        return kind, letters, None, prompt, stratum
    return None


def rl_candidate(stage, form):
    return stage == "tree" or (stage == "instruct" and form == "mcq")


PUBLISHED_FOLDERS = {
    "AFEW": "AFEW", "AffWild2": "AffWild2", "CAER": "CAER", "CASME": "CASME", "CAS(ME)^2": "CAS(ME)2",
    "CASME2": "CASME2", "CelebV-HQ": "CelebV-HQ", "CelebV-Text": "CelebV-Text", "DFEW": "Dfew", "FERV39K": "FERV39K",
    "MAFW": "MAFW", "MEAD": "MEAD", "MELD": "MELD", "MER2023": "Mer2023", "MOSEI": "MOSEI", "MOSI": "MOSI",
    "PERR": "PERR", "RAVDESS": "RAVDESS", "CH-SIMS": "SIMS",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", default="emocfg")
    ap.add_argument("--sampled-per-label", type=int, default=200)
    args = ap.parse_args()
    cap = args.sampled_per_label

    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True, isolation_level=None)
    con.execute("BEGIN")  # one snapshot for both passes

    clips = {}
    for uid, source, path, side, label in con.execute(
            "SELECT c.uid, c.source, c.path, s.side,"
            " coalesce(json_extract(c.labels, '$.emotion'), json_extract(c.labels, '$.sentiment'))"
            " FROM clips c JOIN clip_splits s ON s.clip_uid = c.uid WHERE c.status = 'ok'"):
        clips[uid] = (source, path, side, label)

    # Pass 1: the sampled sets. Per shard and stratum (the sample's label, else its QA aspect, else
    # its clip's label), the `cap` samples with the smallest rank, ties by position.
    # The GRPO rows' strata too: per source, the reward task and the tree's emotions or the family and label.
    strata = {}
    rl_strata = {}
    for index, (uid, clip_uid, stage, task, form, label, aspect, answer, letters, family) in enumerate(con.execute(
            "SELECT uid, clip_uid, stage, task, form, json_extract(content, '$.label'), json_extract(content, '$.aspect'),"
            " CASE WHEN stage = 'tree' THEN json_extract(content, '$.answer') END,"
            " CASE WHEN stage IN ('tree', 'instruct') AND form = 'mcq' THEN json_extract(content, '$.answer_letters') END,"
            " CASE WHEN stage IN ('tree', 'instruct') AND form = 'mcq' THEN json_extract(content, '$.kind') END"
            " FROM samples WHERE status = 'accepted' ORDER BY uid")):
        clip = clips.get(clip_uid)
        if clip is None:
            continue
        source, _, side, clip_label = clip
        directory = folder(task, form)
        if directory in ("rationale", "tree") and side == "test":
            continue
        r = rank(args.seed, uid)
        if label is None:
            label = aspect if aspect is not None else (clip_label if clip_label is not None else "")
        strata.setdefault((side, directory, source, task, label), []).append((r, index))
        if side == "train" and rl_candidate(stage, form):
            row = rl_row(stage, task, form, {"answer": answer, "answer_letters": letters, "kind": family, "label": label})
            if row is not None:
                rl_strata.setdefault((source, row[4]), []).append((r, index))
    selected = set()
    for candidates in strata.values():
        candidates.sort()
        selected.update(index for _, index in candidates[:cap])
    rl_selected = set()
    for candidates in rl_strata.values():
        candidates.sort()
        rl_selected.update(index for _, index in candidates[:cap])
    del strata, rl_strata

    # Pass 2: every accepted sample once, to its full shard, its sampled shard and evaluation files.
    out = args.out
    files = {}   # path -> open file
    lines = {}   # path -> line count
    tasks = {}   # train full shard path -> sample task

    def write(path, line):
        f = files.get(path)
        if f is None:
            full = os.path.join(out, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            f = files[path] = open(full, "w", encoding="utf-8", newline="\n")
            lines[path] = 0
        f.write(line)
        f.write("\n")
        lines[path] += 1

    evaluation = []
    for name, directory, rule in EVALUATION_FILES:
        path = f"jsons/test/{directory}/{name}"
        evaluation.append((path, rule))
        os.makedirs(os.path.dirname(os.path.join(out, path)), exist_ok=True)
        open(os.path.join(out, path), "w").close()  # every evaluation file exists, empty if nothing belongs in it
    truth = []
    qa_keys = set()
    # videos/<Folder>: export_name from sources.yaml, else the published Emo-CFG name, else the source's own.
    folders = {name: export_name or PUBLISHED_FOLDERS.get(name, name)
               for name, export_name in con.execute("SELECT name, export_name FROM sources")}

    for index, (uid, clip_uid, stage, task, form, content) in enumerate(con.execute(
            "SELECT uid, clip_uid, stage, task, form, content FROM samples WHERE status = 'accepted' ORDER BY uid")):
        clip = clips.get(clip_uid)
        if clip is None:
            continue
        source, path, side, _ = clip
        directory = folder(task, form)
        if directory in ("rationale", "tree") and side == "test":
            continue
        c = json.loads(content)
        question = c.get("question") or ""
        options = c.get("options")
        if isinstance(options, list):
            options = [o for o in options if isinstance(o, str)]
            # Appended unless the question shows them all already (an empty option never counts as shown).
            if options and not all(o and o in question for o in options):
                question += "\n" + "\n".join(options)
        answer = c.get("answer_letters") or c.get("answer") or ""
        video = f"videos/{folders.get(source, source)}/{path}"
        sample = {"messages": [{"role": "user", "content": "<video>" + question},
                               {"role": "assistant", "content": answer}],
                  "videos": [video]}
        line = dumps(sample)

        full = shard_path(side, directory, "full", source, task)
        write(full, line)
        if side == "train":
            tasks[full] = task
        sampled = index in selected
        if sampled:
            write(shard_path(side, directory, "sampled", source, task), line)
        if side == "train" and rl_candidate(stage, form):
            row = rl_row(stage, task, form, c)
            if row is not None:
                kind, solution, tree, prompt, _ = row
                rl = dumps({"messages": [{"role": "user", "content": "<video>" + prompt}], "videos": [video],
                            "task": kind, "solution": solution, "tree": tree})
                rl_full = shard_path("train", "rl", "full", source, "rl")
                write(rl_full, rl)
                tasks[rl_full] = "rl"
                if index in rl_selected:
                    write(shard_path("train", "rl", "sampled", source, "rl"), rl)
        if side != "test":
            continue
        aspect = c.get("aspect")
        for epath, rule in evaluation:
            if rule[0] == "instruct":
                takes = stage == "instruct" and source == rule[1] and c.get("kind") == rule[2] and form == rule[3]
            elif rule[0] == "captions":
                takes = sampled and stage == "caption"
            else:
                takes = sampled and stage == "qa" and aspect in QA_ATTRIBUTES
                if takes:
                    # VidEmo keys the ground truth by user content + first video: a repeated key goes nowhere.
                    key = sample["messages"][0]["content"] + video
                    if key in qa_keys:
                        continue
                    qa_keys.add(key)
                    sample["source"] = f"QA_{aspect}"
                    truth.append(dumps(sample))
            if takes:
                write(epath, line)

    for f in files.values():
        f.close()
    os.makedirs(os.path.dirname(os.path.join(out, QA_TRUTH)), exist_ok=True)
    with open(os.path.join(out, QA_TRUTH), "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n" + ",\n".join(truth) + "\n]\n")

    # The curation versions: each mix's train shards, task by task, in path order.
    def sha256(path):
        with open(os.path.join(out, path), "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    train = sorted(tasks)
    digests = {p: sha256(p) for p in train}
    for version, (mix, mix_tasks) in enumerate(CURRICULUM, start=1):
        text = "".join(f"{p}\t{lines[p]}\t{digests[p]}\n" for t in mix_tasks for p in train if tasks[p] == t)
        d = os.path.join(out, f"jsons/curation/v{version}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "source.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    con.close()


if __name__ == "__main__":
    main()
