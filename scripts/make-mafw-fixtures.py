#!/usr/bin/env python3
"""Makes the MAFW replica in Tests/Fixtures/MAFW/ in MAFW's native layout.

Run once by a developer (`pip install openpyxl`); the outputs are committed so the tests need no
Python. Every id, vote, label and sentence here is invented.

Layout (shared/datasets.md, MAFW):
  data/clips/NNNNN.mp4                                 copies of Tests/Fixtures/_media/av.mp4
  Labels/annotation.xlsx                               clip, invalid, 11 vote columns
  Labels/single-set.xlsx                               ... last column single_label (1..11)
  Labels/multi-set.xlsx                                ... last column multi_label ("1,2")
  Labels/descriptive_text.xlsx                         no header: clip, Chinese, English
  Labels(auto)/gender.txt                              "00019: 1"
  Train & Test Set/{single,compound}/{no_caption,with_caption}/set_{1..5}/{train,test}.txt
      no_caption: "00025.mp4 anger" (LF); with_caption: clip<TAB>label<TAB>Chinese<TAB>English in GBK (CRLF)

The clips and what each one exercises:
  00001 anger         clean single-label clip, all files
  00002 happiness     clean; gender 0
  00003 neutral       absent from descriptive_text.xlsx (neutral clips are); empty caption fields
  00004 anger+disgust compound clip (multi "1,2", split label anger_disgust), no single label
  00005 sadness       not in descriptive_text.xlsx: its texts come from the GBK with_caption line
  00006 surprise+fear multi_label written "7,3": emotions come out in class order
  00007 -             single_label 12 and multi_label "4,13": out of vocabulary
  00008 surprise      no mp4: a record at data/clips/00008.mp4, status missing
  00009 -             an mp4 with no label anywhere: an unlabelled clip
  00010 contempt      clip stored as the number 10; its with_caption line is neither UTF-8 nor GBK
  00011 disappointment clip stored as "00011.mp4"; a vote "?"; its gender line lacks the colon
  00012 anxiety       the split files say "helplessness": a disagreement
"""
import os
import shutil
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
root = os.path.join(fixtures, "MAFW")
shutil.rmtree(root, ignore_errors=True)

CLASSES = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
           "contempt", "anxiety", "helplessness", "disappointment"]


def path(*parts):
    p = os.path.join(root, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


# Clips: every id but 00008 (missing media).
for n in [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]:
    shutil.copyfile(os.path.join(fixtures, "_media", "av.mp4"), path("data", "clips", "%05d.mp4" % n))


def votes(**counts):
    return [counts.get(c, 0) for c in CLASSES]


# (clip cell as stored, invalid, votes, single_label or None, multi_label or None)
ROWS = [
    ("00001", 0, votes(anger=8, disgust=2, contempt=1), 1, None),
    ("00002", 0, votes(happiness=11), 4, None),
    ("00003", 1, votes(neutral=9, sadness=1), 5, None),
    ("00004", 0, votes(anger=6, disgust=5), None, "1,2"),
    ("00005", 0, votes(sadness=7, helplessness=4), 6, None),
    ("00006", 0, votes(surprise=6, fear=5), None, "7,3"),
    ("00007", 2, votes(happiness=3, anxiety=3), 12, "4,13"),
    ("00008", 0, votes(surprise=10, fear=1), 7, None),
    (10, 0, votes(contempt=9, anger=2), 8, None),
    ("00011.mp4", 0, votes(disappointment=8, sadness=2), 11, None),
    ("00012", 0, votes(anxiety=7, fear=4), 9, None),
]


def save(name, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r in rows:
        ws.append(r)
    wb.save(path("Labels", name))


HEADER = ["clip", "invalid"] + CLASSES
annotation = [HEADER] + [[c, inv] + v for c, inv, v, _, _ in ROWS]
annotation[10][2 + CLASSES.index("disappointment")] = "?"  # 00011: a vote that is not a number
save("annotation.xlsx", annotation)
save("single-set.xlsx", [HEADER + ["single_label"]] + [[c, inv] + v + [s] for c, inv, v, s, _ in ROWS if s is not None])
save("multi-set.xlsx", [HEADER + ["multi_label"]] + [[c, inv] + v + [m] for c, inv, v, _, m in ROWS if m is not None])

# descriptive_text.xlsx: no header. Neutral 00003 is absent, and so is 00005 (its texts come from
# the with_caption files).
TEXTS = {
    "00001": ("男人皱着眉头，对着电话大声喊叫。", "A man frowns and shouts into the phone."),
    "00002": ("女孩收到礼物后开心地笑了。", "The girl laughs happily after opening the gift."),
    "00004": ("他看着桌上的剩饭，脸色越来越难看。", "He stares at the leftovers, his face growing darker."),
    "00005": ("老人独自坐在窗边，低头流泪。", "An old man sits alone by the window, crying quietly."),
    "00006": ("她猛地转身，睁大眼睛后退了一步。", "She spins round, eyes wide, and steps back."),
    "00007": ("两个人在走廊里不安地交谈。", "Two people talk uneasily in the corridor."),
    "00008": ("门突然打开，孩子们惊呼起来。", "The door bursts open and the children gasp."),
    "00010": ("她冷笑一声，把信扔到一边。", "She sneers and tosses the letter aside."),
    "00011": ("他看着成绩单，长长地叹了口气。", "He looks at the report card and sighs."),
    "00012": ("她不停地看表，手指敲着桌子。", "She keeps checking her watch, tapping the table."),
}
save("descriptive_text.xlsx", [[c, zh, en] for c, (zh, en) in TEXTS.items() if c != "00005"])

# Labels(auto)/gender.txt; the 0/1 meaning is not published. 00011's line lacks the colon.
with open(path("Labels(auto)", "gender.txt"), "wb") as f:
    f.write(b"00001: 1\n00002: 0\n00003: 1\n00005: 0\n00011 1\n00012: 0\n")

# Train & Test Set: the single set holds the single-label clips, the compound set the multi ones.
SINGLE = {"00001": "anger", "00002": "happiness", "00003": "neutral", "00005": "sadness",
          "00008": "surprise", "00010": "contempt", "00011": "disappointment", "00012": "helplessness"}
SINGLE_TEST = {1: ["00001", "00005"], 2: ["00002", "00008"], 3: ["00003", "00010"], 4: ["00011"], 5: ["00012"]}
COMPOUND = {"00004": "anger_disgust", "00006": "fear_surprise"}
COMPOUND_TEST = {1: ["00006"], 2: ["00004"], 3: ["00004"], 4: ["00006"], 5: ["00004"]}


def caption_line(clip, label):
    if clip == "00010":
        # Bytes that are neither UTF-8 nor GBK/GB18030 where the Chinese text should be.
        return b"00010.mp4\tcontempt\t\xff\xfe\x80\tShe sneers and tosses the letter aside.\r\n"
    zh, en = TEXTS.get(clip, ("", ""))
    return ("%s.mp4\t%s\t%s\t%s\r\n" % (clip, label, zh, en)).encode("gbk")


def write_sets(kind, labels, tests):
    for n in range(1, 6):
        for side in ["train", "test"]:
            clips = [c for c in sorted(labels) if (c in tests[n]) == (side == "test")]
            plain = "".join("%s.mp4 %s\n" % (c, labels[c]) for c in clips)
            if kind == "single" and n == 5 and side == "train":
                plain += "00013.mp4\n"  # a line with one field: a bad row
            with open(path("Train & Test Set", kind, "no_caption", "set_%d" % n, side + ".txt"), "wb") as f:
                f.write(plain.encode("ascii"))
            with open(path("Train & Test Set", kind, "with_caption", "set_%d" % n, side + ".txt"), "wb") as f:
                f.write(b"".join(caption_line(c, labels[c]) for c in clips))


write_sets("single", SINGLE, SINGLE_TEST)
write_sets("compound", COMPOUND, COMPOUND_TEST)

# The with_caption files really are GBK: they must not decode as UTF-8.
with open(path("Train & Test Set", "single", "with_caption", "set_1", "test.txt"), "rb") as f:
    data = f.read()
try:
    data.decode("utf-8")
    raise SystemExit("with_caption file decodes as UTF-8; expected GBK")
except UnicodeDecodeError:
    pass
print("wrote", root)
