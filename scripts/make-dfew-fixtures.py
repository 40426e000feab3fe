#!/usr/bin/env python3
"""Makes the parts of the DFEW replica that are not plain text: the frame folders of the two
aligned-frame variants and `Annotation/annotation.xlsx`, plus three deliberately odd annotation
workbooks the adapter tests copy into temporary roots.

Run once by a developer (`pip install openpyxl`); the outputs are committed so the tests need no
Python. Frames are copies of Tests/Fixtures/_media/frame.jpg (32x24). Every id, vote and row here
is invented.

DFEW's real annotation.xlsx headers are not known, so the replica uses one plausible spelling and
the variant workbooks use others (the adapter finds columns by name, leniently).
"""
import os
import shutil
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
root = os.path.join(fixtures, "DFEW")
frame = os.path.join(fixtures, "_media", "frame.jpg")


def frames(folder, names, extra=()):
    path = os.path.join(root, "Clip", folder)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    for n in names:
        shutil.copyfile(frame, os.path.join(path, n))
    for name, text in extra:
        with open(os.path.join(path, name), "wb") as f:
            f.write(text)


# clip_224x224: 5-digit folders, frames `<clip>_<frame>.jpg`. 00002 holds a stray Thumbs.db.
shutil.rmtree(os.path.join(root, "Clip", "clip_224x224"), ignore_errors=True)
frames("clip_224x224/00001", ["00001_%05d.jpg" % i for i in range(1, 4)])
frames("clip_224x224/00002", ["00002_%05d.jpg" % i for i in range(1, 3)], extra=[("Thumbs.db", b"\x00stray")])
frames("clip_224x224/00006", ["00006_%05d.jpg" % i for i in range(1, 5)])

# clip_224x224_16f: frames 1.jpg..16.jpg (cut to a few here; 10.jpg must come after 2.jpg).
# One folder is named by the unpadded id.
shutil.rmtree(os.path.join(root, "Clip", "clip_224x224_16f"), ignore_errors=True)
frames("clip_224x224_16f/00001", ["%d.jpg" % i for i in range(1, 6)])
frames("clip_224x224_16f/3", ["1.jpg", "2.jpg", "10.jpg"])
frames("clip_224x224_16f/00012", ["1.jpg", "2.jpg"])

VOTES = ["Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear"]


def save(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wb.save(path)


# The replica's annotation.xlsx: seven vote counts (10 annotators), the clip name, the single label.
# Clip names are stored as the authors might: a padded string, a bare number, an unpadded string.
# Only clips whose other tests pin their native labels exactly are left out (00001, 00007, 00008,
# 00010); 00006 is the multi-labelled clip, single label 0.
save(os.path.join(root, "Annotation", "annotation.xlsx"), [("Sheet1", [
    VOTES + ["Clip Name", "Single Label"],
    [0, 9, 1, 0, 0, 0, 0, "00002", 2],
    [0, 1, 8, 0, 1, 0, 0, 3, 3],
    [0, 0, 0, 10, 0, 0, 0, "00004", 4],
    [1, 0, 0, 0, 9, 0, 0, "00005", 5],
    [4, 0, 2, 0, 4, 0, 0, "00006", 0],
    [0, 0, 0, 0, 1, 0, 9, "12", 7],
])])

variants = os.path.join(fixtures, "_xlsx", "dfew")
# Other header spellings, a notes sheet before the data sheet, and every kind of bad row.
save(os.path.join(variants, "annotation_other_headers.xlsx"), [
    ("说明", [["This workbook lists the votes of ten annotators per clip."]]),
    ("votes", [
        ["video_name", "happiness", "sadness", "neutrality", "anger", "surprised", "disgusted", "fearful", "label"],
        ["00020", 8, 0, 2, 0, 0, 0, 0, 1],     # annotation only: a record at the padded path
        ["00021", 0, 0, 0, 0, 0, 5, 5, 8],     # single label outside 0-7
        ["00022", 0, "x", 10, 0, 0, 0, 0, 3],  # a vote that is not a number
        ["abc", 1, 1, 1, 1, 1, 1, 4, 7],       # not a clip number
        [1, 2, 8, 0, 0, 0, 0, 0, 2],           # fold CSVs say 1 (Happy)
        [6, 0, 0, 5, 5, 0, 0, 0, 0],           # multi-labelled
        ["00002", 0, 0, 0, 0, 0, 0, 0, 0],     # fold CSVs label it, annotation says not single-labelled
    ]),
])
# No column that names the clip, and the Fear column missing.
save(os.path.join(variants, "annotation_no_clip_column.xlsx"), [("Sheet1", [
    ["order", "Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Single Label"],
    [1, 10, 0, 0, 0, 0, 0, 1],
])])
# Six vote columns (Fear missing): the header is reported, the rows still read.
save(os.path.join(variants, "annotation_six_votes.xlsx"), [("Sheet1", [
    ["clip", "Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "single_label"],
    ["00030", 0, 0, 0, 10, 0, 0, 4],
])])
print("wrote DFEW frames, annotation.xlsx and", sorted(os.listdir(variants)))
