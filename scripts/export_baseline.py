#!/usr/bin/env python3
"""The baseline of `emocfg-bench export`: the export written the way one would by hand in Python.

Reads an emocfg store (SQLite) and writes the same bytes as `emocfg export` for
  jsons/{train,test}/<dir>/{full,sampled}/<Source>_<task>.jsonl   every shard
  jsons/test/<dir>/<evaluation file>.json                          the 22 evaluation files
  anno/QA_test_sampling_all/QA_test_sampling_all.json              the QA ground truth (a JSON array)
  jsons/curation/vN/source.txt                                     one per mix of the default curriculum
It does not write receipts, line indexes or video links, and it takes each clip's side from the
`clip_splits` table (an `emocfg export` decides and records them first). It only reads the store.

Standard library only. Two passes over one snapshot: the first picks the sampled sets, the second
renders every accepted sample (json.loads of its content, the ms-swift dict, json.dumps) and writes it.
"""
import argparse
import hashlib
import json
import os
import sqlite3

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
    ("all", ["attribute", "expression", "emotion", "rationale", "caption", "qa"]),
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
    strata = {}
    for index, (uid, clip_uid, task, form, label, aspect) in enumerate(con.execute(
            "SELECT uid, clip_uid, task, form, json_extract(content, '$.label'), json_extract(content, '$.aspect')"
            " FROM samples WHERE status = 'accepted' ORDER BY uid")):
        clip = clips.get(clip_uid)
        if clip is None:
            continue
        source, _, side, clip_label = clip
        directory = folder(task, form)
        if directory == "rationale" and side == "test":
            continue
        if label is None:
            label = aspect if aspect is not None else (clip_label if clip_label is not None else "")
        strata.setdefault((side, directory, source, task, label), []).append((rank(args.seed, uid), index))
    selected = set()
    for candidates in strata.values():
        candidates.sort()
        selected.update(index for _, index in candidates[:cap])
    del strata

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
        if directory == "rationale" and side == "test":
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
