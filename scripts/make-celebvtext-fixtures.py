#!/usr/bin/env python3
"""Writes the CelebV-Text replica (Tests/Fixtures/CelebV-Text) in the native layout, with invented
ids, boxes and sentences.

`celebvtext_info.json` is the newer flat shape (`{<clip_key>: {...}}`), one key ending in `.mp4`;
boxes are normalised for some clips and in pixels for others (the tests write the older
`{"clips": {...}}` shape themselves). The light-colour folder uses the release's spelling
`light_colot_temp`. One text file has CRLF line ends; one describes a clip nothing else lists.
Videos are copies of Tests/Fixtures/_media.
"""
import json
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
media = os.path.join(fixtures, "_media")
root = os.path.join(fixtures, "CelebV-Text")
shutil.rmtree(root, ignore_errors=True)

videos = {
    "videos/celebvtext_1/zYeLz4c4qYc_15_0.mp4": "av.mp4",           # 64x48, pixel box
    "videos/celebvtext_1/-aB3dE5fG7h_2_1.mp4": "video_only.mp4",    # JSON key ends in .mp4
    "videos/celebvtext_2/_Qw8Er7Ty6u_0_0.mp4": "square_av.mp4",
    "videos/celebvtext_2/Kx9Lm8Nb7Vc_3_2.mp4": "av.mp4",            # not in the JSON
}
for rel, src in videos.items():
    os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(media, src), os.path.join(root, rel))

info = {
    "zYeLz4c4qYc_15_0": {
        "ytb_id": "zYeLz4c4qYc", "duration": {"start_sec": 12.5, "end_sec": 26.0},
        "bbox": {"top": 12, "bottom": 36, "left": 16, "right": 48}, "version": "v0.1"},
    "-aB3dE5fG7h_2_1.mp4": {
        "ytb_id": "-aB3dE5fG7h", "duration": {"start_sec": 3, "end_sec": 17.25},
        "bbox": {"top": 0.1, "bottom": 0.9, "left": 0.2, "right": 0.8}, "version": "v0.1"},
    "_Qw8Er7Ty6u_0_0": {
        "ytb_id": "_Qw8Er7Ty6u", "duration": {"start_sec": 0, "end_sec": 9.5},
        "bbox": {"top": 0.05, "bottom": 0.75, "left": 0.3, "right": 0.9}, "version": "v0.2"},
    # Listed, but its mp4 is not there; its box is in pixels, so it cannot be normalised.
    "Mn4Bv5Cx6Za_7_0.mp4": {
        "ytb_id": "Mn4Bv5Cx6Za", "duration": {"start_sec": 40, "end_sec": 52},
        "bbox": {"top": 100, "bottom": 400, "left": 220, "right": 520}, "version": "v0.1"},
}
with open(os.path.join(root, "celebvtext_info.json"), "w") as f:
    json.dump(info, f, indent=4)
    f.write("\n")


def text(folder, clip, lines, crlf=False):
    d = os.path.join(root, "texts", folder)
    os.makedirs(d, exist_ok=True)
    end = "\r\n" if crlf else "\n"
    with open(os.path.join(d, clip + ".txt"), "wb") as f:
        f.write("".join(l + end for l in lines).encode())


c = "zYeLz4c4qYc_15_0"
text("action_dur", c, ["The man talks and then nods slowly."])
text("emotion", c, ["He looks calm at first.", "Then he smiles warmly."], crlf=True)
text("face40_details_new", c, ["A young man with short black hair and a beard."])
text("light_dir", c, ["The light comes from the left."])
text("light_intensity", c, ["The light is soft."])
text("light_colot_temp", c, ["The light is warm."])
c = "-aB3dE5fG7h_2_1"
text("action_dur", c, ["The woman turns her head and laughs."])
text("emotion", c, ["She is happy throughout."])
c = "_Qw8Er7Ty6u_0_0"
text("face40_details_new", c, ["An older woman wearing glasses."])
text("light_dir", c, ["The light comes from above."])
# Describes a clip neither the JSON nor videos/ has.
text("emotion", "Zz0Yy1Xx2Ww_9_9", ["Nobody is here."])
