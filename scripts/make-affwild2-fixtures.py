#!/usr/bin/env python3
"""Writes the AffWild2 replica (Tests/Fixtures/AffWild2) in the native layout, with invented rows.

Videos are copies of Tests/Fixtures/_media (av.mp4 and video_only.mp4: 6 frames at 10 fps; clip.avi:
10 frames at 25 fps; square_av.mp4: 15 frames at 30 fps) under the irregular AffWild2 names.
Annotations use the `AU_Set`/`EXPR_Set`/`VA_Set` edition (the tests rebuild the challenge-named
edition from it): line 1 a header, then one line per frame; -1 (AU, EXPR) and -5 (VA) mark invalid
frames. `46.txt` has fewer lines than its video has frames; `77-25-640x480.txt` names a video that is
not there; some lines are malformed or out of range on purpose.

Also writes Tests/Fixtures/AffWild2_ABAW: the later ABAW releases' layout (one nested `videos/` folder,
`*_Challenge` annotation folders).
"""
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
media = os.path.join(fixtures, "_media")
root = os.path.join(fixtures, "AffWild2")
shutil.rmtree(root, ignore_errors=True)

videos = {
    "batch1/1-30-1280x720.mp4": "av.mp4",
    "batch1/46.avi": "clip.avi",
    "batch2/122-60-1920x1080-1.mp4": "video_only.mp4",
    "new_vids/video10_1.mp4": "av.mp4",      # two people: _left and _right annotations
    "new_vids/200.mp4": "square_av.mp4",     # no annotation (a test-set video)
}
for rel, src in videos.items():
    os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(media, src), os.path.join(root, rel))
# Face crops ship too; the adapter does not read them.
os.makedirs(os.path.join(root, "cropped_aligned", "1-30-1280x720"))
shutil.copyfile(os.path.join(media, "frame.jpg"), os.path.join(root, "cropped_aligned", "1-30-1280x720", "00001.jpg"))

AU = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
EXPR = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
VA = "valence,arousal"
zeros = ",".join(["0"] * 12)


def write(rel, header, rows):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(("\n".join([header] + rows) + "\n").encode())


write("AU_Set/Train_Set/1-30-1280x720.txt", AU, [
    "0,0,0,1,0,0,1,0,0,0,1,0",   # AU6 AU12 AU25
    "0,0,0,1,0,0,1,0,0,0,0,0",   # AU6 AU12
    ",".join(["-1"] * 12),       # invalid frame
    "1,0,0,0,0,0,0,0,0,0,0,0",   # AU1
    zeros,
    zeros,
])
write("EXPR_Set/Train_Set/1-30-1280x720.txt", EXPR, ["4", "4", "-1", "4", "0", "0"])
write("VA_Set/Validation_Set/1-30-1280x720.txt", VA, [
    "0.5,0.2", "0.3,-5", "-5,-5", "-0.2,0.4", "-0.4,0.6", "0.0,0.5"])
write("VA_Set/Train_Set/122-60-1920x1080-1.txt", VA, [
    "0.1,0.1", "0.2,0.3", "0.1", "1.7,0.2", "0.6,0.0", "0.2,0.0"])
write("EXPR_Set/Validation_Set/video10_1_left.txt", EXPR, ["6", "6", "6", "5", "5", "9"])
write("EXPR_Set/Validation_Set/video10_1_right.txt", EXPR, ["1", "1", "1", "1", "1", "1"])
write("AU_Set/Validation_Set/video10_1_left.txt", AU, [
    zeros, ",".join(["0"] * 11), zeros, zeros, "0,0,0,0,0,0,0,0,0,0,0,1", "0,0,0,0,0,0,0,0,0,0,0,1"])
# 4 frame lines for a 10-frame video.
write("EXPR_Set/Train_Set/46.txt", EXPR, ["2", "2", "3", "-1"])
# The video 77-25-640x480 is not in batch1/, batch2/ or new_vids/.
write("EXPR_Set/Train_Set/77-25-640x480.txt", EXPR, ["0", "0", "0", "0", "0", "0"])

# --- The later ABAW layout (Tests/Fixtures/AffWild2_ABAW) -----------------------------------------
# All videos in one `videos/` folder, nested as some releases ship it (`videos/videos/`,
# `videos/both_batches/`); annotations under `*_Challenge` names, some in a parent folder.
root = os.path.join(fixtures, "AffWild2_ABAW")
shutil.rmtree(root, ignore_errors=True)
for rel, src in {
    "videos/videos/1-30-1280x720.mp4": "av.mp4",
    "videos/both_batches/video10_1.mp4": "av.mp4",   # two people
    "videos/both_batches/46.avi": "clip.avi",        # no annotation: unlabelled windows
}.items():
    os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(media, src), os.path.join(root, rel))
write("6th ABAW Annotations/EXPR_Recognition_Challenge/Train_Set/1-30-1280x720.txt", EXPR, ["4", "4", "4", "0", "0", "0"])
write("6th ABAW Annotations/AU_Detection_Challenge/Validation_Set/video10_1_left.txt", AU, [
    "0,0,0,1,0,0,1,0,0,0,0,0"] * 6)
write("VA_Estimation_Challenge/Train_Set/video10_1_right.txt", VA, ["0.5,0.5"] * 6)
