#!/usr/bin/env python3
"""Writes the FERV39K replica (Tests/Fixtures/FERV39K) in the native layout, with invented rows.

The face-crop folder is the doubly nested variant the zip can unpack to
(`2_ClipsforFaceCrop/2_ClipsforFaceCrop/`); the tests build the flat and `FERV39K/`-nested variants
from it. Split files are space-separated despite `.csv`: `train_All.csv` has no header,
`test_All.csv` has one and CRLF line ends. Frames are copies of Tests/Fixtures/_media/frame.jpg.
"""
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
root = os.path.join(fixtures, "FERV39K")
frame = os.path.join(fixtures, "_media", "frame.jpg")
shutil.rmtree(root, ignore_errors=True)

faces = os.path.join(root, "2_ClipsforFaceCrop", "2_ClipsforFaceCrop")
clips = {
    "Action/Sad/0010": 3,
    "Action/Sad/0012": 2,       # its train_All row is malformed
    "Action/Happy/0011": 2,     # holds a stray Thumbs.db
    "Interview/Neutral/0203": 4,
    "DailyLife/Angry/0042": 3,
    "Talkshow/Surprise/0007": 2,  # on disk, in no split file
    "School/Happy/0300": 2,     # its row's label is out of vocabulary
    "War/Fear/0150": 2,         # its row's label disagrees with the folder
}
for key, n in clips.items():
    d = os.path.join(faces, key)
    os.makedirs(d)
    for i in range(1, n + 1):
        shutil.copyfile(frame, os.path.join(d, f"{i}.jpg"))
with open(os.path.join(faces, "Action/Happy/0011/Thumbs.db"), "wb") as f:
    f.write(b"not a frame\n")

scene = os.path.join(root, "3_ClipsforScenImages", "Action/Sad/0010")
os.makedirs(scene)
for i in range(1, 4):
    shutil.copyfile(frame, os.path.join(scene, f"{i}.jpg"))

setups = os.path.join(root, "4_setups")
os.makedirs(os.path.join(setups, "All_scenes"))
os.makedirs(os.path.join(setups, "Action"))
with open(os.path.join(setups, "All_scenes", "train_All.csv"), "wb") as f:
    f.write(b"Action/Sad/0010 Sad\n"
            b"Action/Happy/0011 Happy\n"
            b"Action/Sad/0012\n"
            b"School/Happy/0300 Joyful\n"
            b"Crime/Fear/0099 Fear\n")
with open(os.path.join(setups, "All_scenes", "test_All.csv"), "wb") as f:
    f.write(b"path label\r\n"
            b"Interview/Neutral/0203 Neutral\r\n"
            b"DailyLife/Angry/0042 Angry\r\n"
            b"War/Fear/0150 Sad\r\n")
# A per-scene file repeats All_scenes; the adapter does not read it.
with open(os.path.join(setups, "Action", "train_Action.csv"), "wb") as f:
    f.write(b"Action/Sad/0010 Sad\nAction/Happy/0011 Happy\nAction/Other/9999 Sad\n")
