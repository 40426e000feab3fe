#!/usr/bin/env python3
"""Makes the clips of the face-detection benchmark: N at 360p (640x360) and N at 720p (1280x720).

  scripts/make-face-bench-clips.py --out DIR --count N [--jobs 2] [--seed 1]

DIR/360p/clip_0000.mp4 ... and DIR/720p/clip_0000.mp4 ...: 3 s, 25 fps, H.264 yuv420p (libx264 veryfast,
crf 28, GOP 50), no audio. Each shows NASA's public-domain astronaut portrait (see face_compositing.py)
pasted at a random size (face width 60-200 px at 360p, twice that at 720p) and position on a face-free
gradient, drifting by at most 1 px between frames; about 10% of the clips have no face. DIR/clips.json
gives each clip's ground-truth face box (frame pixels, or none).

A cache: when DIR already holds the clips of the same count and seed, nothing is made. Frames are drawn with
numpy and piped raw into ffmpeg, `--jobs` clips at a time (one x264 thread each). Prints how long it took.
"""
import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import face_compositing as fc  # noqa: E402

FPS = 25
SECONDS = 3
GOP = 50
CRF = 28
RESOLUTIONS = {"360p": (640, 360, 1), "720p": (1280, 720, 2)}  # width, height, face scale
NO_FACE_SHARE = 0.10

_person = None


def _init(astro):
    global _person
    _person = fc.Sprite(astro)


def plan(count, seed):
    """The clips to make: [(res, name, seed, box or None)], reproducible from (count, seed)."""
    rng = np.random.default_rng(seed)
    clips = []
    for res, (w, h, k) in RESOLUTIONS.items():
        for i in range(count):
            cseed = int(rng.integers(1 << 31))
            if rng.random() < NO_FACE_SHARE:
                box = None
            else:
                size = int(rng.integers(60, 201)) * k
                x = int(rng.integers(0, w - size + 1))
                y = int(rng.integers(0, h - size + 1))
                box = (x, y, size)
            clips.append((res, "clip_%04d.mp4" % i, cseed, box))
    return clips


def make_clip(job):
    out, res, name, seed, box = job
    w, h, _ = RESOLUTIONS[res]
    base = fc.to_uint8(fc.background(w, h, seed=seed))
    rendered = _person.render(box) if box else None
    path = os.path.join(out, res, name)
    tmp = path + ".part.mp4"
    enc = fc.Encoder(tmp, w, h, FPS, crf=CRF, preset="veryfast", gop=GOP, threads=1)
    drawn = {}  # the drift takes a handful of offsets: each frame is drawn once
    for i in range(FPS * SECONDS):
        d = fc.drift(i) if rendered else (0, 0)
        if d not in drawn:
            frame = base.copy()
            if rendered:
                x0, y0, patch = rendered
                fc.paste(frame, x0 + d[0], y0 + d[1], patch)
            drawn[d] = frame.tobytes()
        enc.proc.stdin.write(drawn[d])
    enc.close()
    os.replace(tmp, path)
    return res, name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, required=True, help="clips per resolution")
    ap.add_argument("--jobs", type=int, default=2, help="clips made at once (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    clips = plan(args.count, args.seed)
    manifest_path = os.path.join(args.out, "clips.json")
    manifest = {
        "count": args.count, "seed": args.seed, "fps": FPS, "seconds": SECONDS, "gop": GOP, "crf": CRF,
        "clips": {
            "%s/%s" % (res, name): ({"x": b[0], "y": b[1], "w": b[2], "h": b[2]} if b else None)  # the face is square
            for res, name, _, b in clips
        },
    }
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
        if old == manifest and all(os.path.exists(os.path.join(args.out, r, n)) for r, n, _, _ in clips):
            print("%s already holds the %d+%d clips (seed %d): nothing to make" % (args.out, args.count, args.count,
                                                                                 args.seed))
            return
    for res in RESOLUTIONS:
        os.makedirs(os.path.join(args.out, res), exist_ok=True)
    todo = [(args.out, res, name, seed, box) for res, name, seed, box in clips
            if not os.path.exists(os.path.join(args.out, res, name))]
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # the cache is valid only once every clip is there
    astro = fc.load_astronaut()
    start = time.time()
    with Pool(args.jobs, initializer=_init, initargs=(astro,)) as pool:
        for done, _ in enumerate(pool.imap_unordered(make_clip, todo, chunksize=1), start=1):
            if done % 50 == 0 or done == len(todo):
                print("  %d/%d clips" % (done, len(todo)), flush=True)
    took = time.time() - start
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=0)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(args.out, r, n)) for r, n, _, _ in clips)
    print("made %d clips (%d per resolution) in %.1f s (%.1f clips/s, %d jobs); %.1f MB in %s"
          % (len(todo), args.count, took, len(todo) / took if took else 0, args.jobs, size / 1e6, args.out))


if __name__ == "__main__":
    main()
