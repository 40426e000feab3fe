#!/usr/bin/env python3
"""The baseline of the face-detection benchmark: face boxes the way one would get them by hand in Python.

  scripts/face_baseline.py CLIPDIR --out results.json [--frames 3] [--upsample 1]

One process. For each .mp4 in CLIPDIR (sorted by name): open it with PyAV, read its duration, take
`--frames` frames at the centres of as many equal segments (t_i = (i + 0.5) * duration / frames), each by
seeking (backward to the keyframe before t_i) and decoding forward to the first frame at or after t_i,
convert it to an RGB ndarray and run dlib's HOG frontal face detector (PyPI dlib-bin) with `--upsample`.

Writes JSON: {"clips", "seconds" (wall), "cpu_seconds" (this process), "clips_per_second", "peak_rss_mb",
"results": {"<file name>": [[[left, top, right, bottom], ...] per frame, ...]}} with dlib's boxes
(right and bottom inclusive, as dlib gives them). Installs dlib-bin and av with pip when they are missing;
exits with code 3 when that fails.
"""
import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time


def need(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    print("installing %s with pip ..." % package, file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], capture_output=True, text=True)
    try:
        importlib.invalidate_caches()
        return importlib.import_module(module)
    except ImportError:
        print("face_baseline: cannot import %s and `pip install %s` did not help (exit %d):\n%s"
              % (module, package, r.returncode, r.stderr.strip()), file=sys.stderr)
        sys.exit(3)


def frame_at(container, stream, t):
    """The first frame at or after t seconds, by seeking backward to a keyframe and decoding forward."""
    container.seek(int(t / stream.time_base) + (stream.start_time or 0), stream=stream, backward=True,
                   any_frame=False)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is not None and frame.time >= t:
            return frame
    return last  # t is past the last frame: the last one


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clipdir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--upsample", type=int, default=1)
    args = ap.parse_args()

    av = need("av", "av")
    dlib = need("dlib", "dlib-bin")
    detector = dlib.get_frontal_face_detector()
    names = sorted(f for f in os.listdir(args.clipdir) if f.endswith(".mp4"))

    wall, cpu = time.perf_counter(), time.process_time()
    results = {}
    for name in names:
        boxes = []
        with av.open(os.path.join(args.clipdir, name)) as container:
            stream = container.streams.video[0]
            if stream.duration is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = container.duration / 1e6
            for i in range(args.frames):
                t = (i + 0.5) * duration / args.frames
                frame = frame_at(container, stream, t)
                if frame is None:
                    boxes.append([])
                    continue
                img = frame.to_ndarray(format="rgb24")
                boxes.append([[d.left(), d.top(), d.right(), d.bottom()] for d in detector(img, args.upsample)])
        results[name] = boxes
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu

    doc = {
        "clips": len(names),
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "clips_per_second": round(len(names) / wall, 3) if wall > 0 else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "results": results,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f)
        f.write("\n")
    print("%d clips in %.1f s (%.2f clips/s, %.1f CPU s, peak RSS %.0f MB) -> %s"
          % (len(names), wall, doc["clips_per_second"] or 0, cpu, doc["peak_rss_mb"], args.out))


if __name__ == "__main__":
    main()
