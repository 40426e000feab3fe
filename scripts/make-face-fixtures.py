#!/usr/bin/env python3
"""Makes the face-detection fixtures in Tests/Fixtures/_faces: short H.264 videos (and one JPEG frame folder)
with a real face at known boxes, and faces.json with those boxes.

The face is NASA's public-domain portrait of Eileen Collins, astronaut.png, taken from scikit-image's wheel
(downloaded with pip, never installed; see face_compositing.py). Each frame is a smooth face-free gradient
with a scaled head crop pasted so that the picture's face box lands exactly on the clip's ground-truth box;
the face drifts by at most 1 px from frame to frame (the ground truth is the median position) so the
encoder makes real P/B-frames.

Run once by a developer; the outputs are committed. Needs numpy, PyAV and the ffmpeg tool.
  scripts/make-face-fixtures.py            make the fixtures
  scripts/make-face-fixtures.py --check    also run dlib's HOG detector (dlib-bin, upsample 1) on the middle
                                           frame of each clip and print the IoU with the ground truth
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import face_compositing as fc  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Fixtures", "_faces")
FPS = 10
SECONDS = 1.5
# face centres as fractions of the frame
POSITIONS = {"centre": (0.5, 0.5), "topleft": (0.25, 0.3), "bottomright": (0.75, 0.7)}
SWEEP = [(40, "centre"), (40, "topleft"), (44, "centre"), (48, "bottomright"), (64, "topleft"),
         (80, "centre"), (80, "topleft"), (80, "bottomright"), (120, "bottomright"), (160, "topleft"),
         (240, "centre")]


def place(width, height, size, fx, fy):
    """A face box (x, y, w) of `size` px centred at the fractions (fx, fy) of the frame, kept inside it."""
    x = int(round(fx * width - size / 2))
    y = int(round(fy * height - size / 2))
    x = min(max(x, 0), width - size)
    y = min(max(y, 0), height - size)
    return (x, y, size)


def frames(bg, segments):
    """segments: [(n_frames, [(sprite, (x, y, w)), ...]), ...] -> yields uint8 frames; faces drift <= 1 px."""
    base = fc.to_uint8(bg)
    i = 0
    for n, placements in segments:
        rendered = [sprite.render(box) for sprite, box in placements]
        for _ in range(n):
            dx, dy = fc.drift(i)
            frame = base.copy()
            for x0, y0, patch in rendered:
                fc.paste(frame, x0 + dx, y0 + dy, patch)
            yield frame
            i += 1


def encode(path, width, height, segments, bg):
    enc = fc.Encoder(path, width, height, FPS, crf=28, preset="veryfast")
    for frame in frames(bg, segments):
        enc.write(frame)
    enc.close()


def make(out):
    data = fc.fetch_skimage_data(("astronaut.png", "coffee.png"))
    astro = fc.decode_image(data["astronaut.png"])
    coffee = fc.decode_image(data["coffee.png"])
    person = fc.Sprite(astro)
    mirrored = fc.Sprite(astro, mirror=True)
    n = int(round(FPS * SECONDS))
    clips = []
    if os.path.isdir(out):
        for f in os.listdir(out):
            if f.endswith(".mp4") or f == "faces.json":
                os.remove(os.path.join(out, f))
        shutil.rmtree(os.path.join(out, "frames_face"), ignore_errors=True)
    os.makedirs(out, exist_ok=True)

    def video(name, w, h, segments, faces, main, seed, window=None, note=None):
        encode(os.path.join(out, name), w, h, segments, fc.background(w, h, seed=seed))
        clip = {"file": name, "width": w, "height": h, "faces": faces, "main": main, "window": window,
                "kind": "video"}
        if note:
            clip["note"] = note
        clips.append(clip)

    # 1. size sweep at 640x360
    for seed, (size, pos) in enumerate(SWEEP, start=1):
        box = place(640, 360, size, *POSITIONS[pos])
        video("size%03d_%s.mp4" % (size, pos), 640, 360, [(n, [(person, box)])], [fc.face_box(person, box)], 0, seed)
    # 2. a 300 px face in 640x480
    box = place(640, 480, 300, 0.5, 0.5)
    video("size300_480p.mp4", 640, 480, [(n, [(person, box)])], [fc.face_box(person, box)], 0, 20)
    # 3. two people: the main face 120 px, a mirrored second person 64 px, well apart
    a = place(640, 360, 120, 0.3, 0.45)
    b = place(640, 360, 64, 0.82, 0.6)
    video("two_people_120_064.mp4", 640, 360, [(n, [(person, a), (mirrored, b)])],
          [fc.face_box(person, a), fc.face_box(mirrored, b)], 0, 21)
    # 4. no face: the background and a cup of coffee (coffee.png from the same wheel)
    bg = fc.background(640, 360, seed=22)
    cup = fc.object_sprite(coffee)
    bg = fc.composite(bg, [(cup, (380, 90, 220))])
    encode(os.path.join(out, "no_face.mp4"), 640, 360, [(n, [])], bg)
    clips.append({"file": "no_face.mp4", "width": 640, "height": 360, "faces": [], "main": None, "window": None,
                  "kind": "video"})
    # 5. 4 s: a 100 px face at A for [0, 2) s, then at B far away for [2, 4) s
    a = place(640, 360, 100, 0.2, 0.3)
    b = place(640, 360, 100, 0.8, 0.7)
    segs = [(2 * FPS, [(person, a)]), (2 * FPS, [(person, b)])]
    name = "window_a0-2_b2-4.mp4"
    encode(os.path.join(out, name), 640, 360, segs, fc.background(640, 360, seed=23))
    for faces, window, main, note in (
            ([fc.face_box(person, a)], {"start": 0, "end": 2}, 0, "window [0, 2) s: box A only"),
            ([fc.face_box(person, b)], {"start": 2, "end": 4}, 0, "window [2, 4) s: box B only"),
            ([fc.face_box(person, a), fc.face_box(person, b)], None, None,
             "whole clip: A for [0, 2) s, B for [2, 4) s; either box is right")):
        clips.append({"file": name, "width": 640, "height": 360, "faces": faces, "main": main, "window": window,
                      "kind": "video", "note": note})
    # 6. a frame folder: 6 JPEGs, 320x240, 90 px face
    box = place(320, 240, 90, 0.5, 0.5)
    fdir = os.path.join(out, "frames_face")
    os.makedirs(fdir)
    bg = fc.background(320, 240, seed=24)
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x240",
                             "-r", "10", "-i", "-", "-q:v", "5", "-start_number", "1",
                             os.path.join(fdir, "%06d.jpg")], stdin=subprocess.PIPE)
    for frame in frames(bg, [(6, [(person, box)])]):
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        sys.exit("ffmpeg failed on the frame folder")
    clips.append({"file": "frames_face", "width": 320, "height": 240, "faces": [fc.face_box(person, box)],
                  "main": 0, "window": None, "kind": "frames"})
    # 7. 720p with an 80 px face
    box = place(1280, 720, 80, 0.6, 0.45)
    video("size080_720p.mp4", 1280, 720, [(n, [(person, box)])], [fc.face_box(person, box)], 0, 25)

    doc = {
        "source": "Made by scripts/make-face-fixtures.py: NASA's public-domain portrait of Eileen Collins "
                  "(astronaut.png from scikit-image's skimage/data, taken from the wheel) with its face box "
                  "(x=%d, y=%d, w=%d, h=%d in the 512x512 original, from dlib's HOG detector at upsample 1) mapped "
                  "exactly onto each box below; head crop = face box + %d%% margin per side, soft edges, on a "
                  "face-free gradient. H.264 yuv420p, libx264 veryfast crf 28, %d fps; the face drifts by at most "
                  "1 px between frames (boxes are the median position). Boxes are frame pixels, x/y = top-left."
                  % (fc.ASTRONAUT_FACE + (int(fc.HEAD_MARGIN * 100), FPS)),
        "clips": clips,
    }
    with open(os.path.join(out, "faces.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    return doc


def iou(a, b):
    ax1, ay1 = a["x"] + a["w"], a["y"] + a["h"]
    bx1, by1 = b["x"] + b["w"], b["y"] + b["h"]
    iw = max(0, min(ax1, bx1) - max(a["x"], b["x"]))
    ih = max(0, min(ay1, by1) - max(a["y"], b["y"]))
    inter = iw * ih
    return inter / float(a["w"] * a["h"] + b["w"] * b["h"] - inter)


def middle_frame(path, start=None, end=None):
    import av
    with av.open(path) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)
                   if (start is None or f.time >= start) and (end is None or f.time < end)]
    return decoded[len(decoded) // 2]


def check(out, doc):
    try:
        import dlib
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "dlib-bin"])
        import dlib
    detector = dlib.get_frontal_face_detector()
    print("%-28s %-10s %-22s %-30s %s" % ("clip", "window", "truth", "dlib (x,y,w,h; score)", "IoU"))
    ok = True
    for clip in doc["clips"]:
        path = os.path.join(out, clip["file"])
        w = clip["window"]
        if clip["kind"] == "frames":
            files = sorted(os.listdir(path))
            with open(os.path.join(path, files[len(files) // 2]), "rb") as f:
                img = fc.decode_image(f.read())
        else:
            img = middle_frame(path, w and w["start"], w and w["end"])
        dets, scores, _ = detector.run(img, 1, 0.0)
        found = [{"x": d.left(), "y": d.top(), "w": d.width(), "h": d.height()} for d in dets]
        win = "[%g,%g)" % (w["start"], w["end"]) if w else "all"
        if not clip["faces"]:
            print("%-28s %-10s %-22s %-30s %s" % (clip["file"], win, "none",
                                                    "; ".join("%d,%d,%d,%d" % tuple(d.values()) for d in found) or "none",
                                                    "ok" if not found else "FALSE POSITIVE"))
            ok &= not found
            continue
        used, bests = set(), []
        for truth in clip["faces"]:
            best, bi = 0.0, None
            for i, d in enumerate(found):
                v = iou(truth, d)
                if v > best:
                    best, bi = v, i
            used.add(bi)
            bests.append(best)
            desc = "%d,%d,%d,%d; %.2f" % (tuple(found[bi].values()) + (scores[bi],)) if bi is not None else "not found"
            print("%-28s %-10s %-22s %-30s %.3f" % (clip["file"], win, "%d,%d,%d,%d" % tuple(truth.values()), desc, best))
        if clip["main"] is None:  # either box is right (the whole windowed clip): one must be found
            ok &= max(bests) >= 0.5
        else:
            ok &= all(b >= 0.5 for b in bests)
            extra = [d for i, d in enumerate(found) if i not in used]
            if extra:
                print("   EXTRA detections:", extra)
                ok = False
    print("all faces found with IoU >= 0.5, no false positives" if ok else "SOME CHECKS FAILED")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--check", action="store_true", help="run dlib-bin's detector on the results and print IoUs")
    args = ap.parse_args()
    doc = make(args.out)
    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %d entries to %s (%.0f KB in all)" % (len(doc["clips"]), args.out, total / 1024))
    if args.check and not check(args.out, doc):
        sys.exit(1)


if __name__ == "__main__":
    main()
