"""Shared code of make-face-fixtures.py and make-face-bench-clips.py: a real face pasted into synthetic frames.

The face is NASA's public-domain portrait of Eileen Collins (`astronaut.png`, 512x512 RGB), which ships
in scikit-image's wheel under skimage/data/. It is taken from the wheel itself (pip download, then one
zip member) so scikit-image is never installed, and the picture itself is never committed.

Ground truth: ASTRONAUT_FACE is the face box in the original 512x512 picture. Every composite maps that
box exactly (sub-pixel) onto the requested box in the frame, so a frame's ground truth is known by
construction, not measured.

Needs numpy and PyAV (`av`, to decode the PNG); encoding uses the ffmpeg command-line tool.
"""
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

# The astronaut's face box in the ORIGINAL 512x512 astronaut.png, as (x, y, w, h) in pixels
# (x, y = top-left pixel; the box covers x .. x+w-1, y .. y+h-1).
# Obtained once with dlib's HOG frontal face detector from the PyPI package dlib-bin 20.0.1:
#   dlib.get_frontal_face_detector()(rgb, 1)  ->  rectangle (175, 76) (265, 166), score 1.16
# (dlib's right/bottom are inclusive, hence w = h = 91). The detector also fires at upsample 1 on
# the mission patch, (126, 335) (215, 425) with score 0.12; that area is never part of a crop here.
ASTRONAUT_FACE = (175, 76, 91, 91)
ASTRONAUT_SHA256 = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
# The head crop: the face box plus this fraction of the face width on each side (hair, collar).
HEAD_MARGIN = 0.6
SKIMAGE_VERSION = "0.26.0"  # the version the ground truth was measured on; any other is tried after it


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "emocfg-face-fixtures")


def fetch_skimage_data(names=("astronaut.png", "coffee.png")):
    """Returns {name: bytes} of files in skimage/data/, from scikit-image's wheel (downloaded, not installed).

    The extracted files are cached in ~/.cache/emocfg-face-fixtures so a second run needs no download.
    """
    cdir = cache_dir()
    out = {}
    if all(os.path.exists(os.path.join(cdir, n)) for n in names):
        for n in names:
            with open(os.path.join(cdir, n), "rb") as f:
                out[n] = f.read()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = None
            for spec in ("scikit-image==" + SKIMAGE_VERSION, "scikit-image"):
                r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                    "--quiet", spec, "-d", tmp], capture_output=True, text=True)
                wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
                if r.returncode == 0 and wheels:
                    wheel = os.path.join(tmp, wheels[0])
                    break
            if wheel is None:
                sys.exit("could not download scikit-image's wheel with pip:\n" + r.stderr)
            with zipfile.ZipFile(wheel) as z:
                for n in names:
                    out[n] = z.read("skimage/data/" + n)
        os.makedirs(cdir, exist_ok=True)
        for n, data in out.items():
            with open(os.path.join(cdir, n), "wb") as f:
                f.write(data)
    got = hashlib.sha256(out["astronaut.png"]).hexdigest() if "astronaut.png" in out else ASTRONAUT_SHA256
    if got != ASTRONAUT_SHA256:
        sys.exit("astronaut.png is not the picture the ground truth was measured on (sha256 %s)" % got)
    return out


def decode_image(data):
    """PNG/JPEG bytes -> HxWx3 uint8 RGB ndarray, decoded by PyAV (FFmpeg)."""
    import av
    with av.open(io.BytesIO(data)) as c:
        frame = next(c.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def load_astronaut():
    return decode_image(fetch_skimage_data(("astronaut.png",))["astronaut.png"])


# --- resampling -------------------------------------------------------------------------------------------

def _weights(n_out, out0, n_src, scale, offset):
    """Resampling matrix (n_out x n_src) for output pixels out0 .. out0+n_out-1.

    An output coordinate X (continuous, pixel edges at integers) shows source coordinate (X - offset) / scale.
    Triangle (bilinear) filter, widened by 1/scale when shrinking, so shrinking averages like an area filter.
    Rows are normalised over the source pixels that exist.
    """
    support = max(1.0, 1.0 / scale)
    centres = (np.arange(out0, out0 + n_out) + 0.5 - offset) / scale  # in source coordinates
    src = np.arange(n_src) + 0.5
    d = np.abs(src[None, :] - centres[:, None]) / support
    w = np.clip(1.0 - d, 0.0, None)
    s = w.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return (w / s).astype(np.float32)


def head_alpha(shape, face, margin=HEAD_MARGIN, feather=0.12):
    """Alpha (HxW float32) of the head crop in source coordinates: 1 inside the face box plus margin on each
    side, falling linearly to 0 over the outer `feather` fraction of the crop's width (never inside the face box)."""
    h, w = shape[:2]
    fx, fy, fw, fh = face
    m = margin * fw
    x0, x1 = fx - m, fx + fw + m
    y0, y1 = fy - m, fy + fh + m
    ramp = feather * (x1 - x0)
    xs = np.arange(w) + 0.5
    ys = np.arange(h) + 0.5
    ax = np.clip(np.minimum(xs - x0, x1 - xs) / ramp, 0.0, 1.0)
    ay = np.clip(np.minimum(ys - y0, y1 - ys) / ramp, 0.0, 1.0)
    return (ay[:, None] * ax[None, :]).astype(np.float32)


class Sprite:
    """A source picture, its face box and the alpha of its head crop; mirrored on request."""

    def __init__(self, rgb, face=ASTRONAUT_FACE, mirror=False, margin=HEAD_MARGIN):
        rgb = np.ascontiguousarray(rgb[:, ::-1] if mirror else rgb)
        fx, fy, fw, fh = face
        if mirror:
            fx = rgb.shape[1] - fx - fw
        self.face = (fx, fy, fw, fh)
        self.alpha = head_alpha(rgb.shape, self.face, margin)
        self.rgba = np.concatenate([rgb.astype(np.float32) * self.alpha[..., None], self.alpha[..., None]], axis=2)
        ys, xs = np.nonzero(self.alpha > 0)
        self.bounds = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)  # source area that can show

    def render(self, box):
        """Premultiplied RGBA patch for a face box (x, y, w) in the frame (the height follows the aspect).

        Returns (x0, y0, patch): patch is HxWx4 float32 for frame pixels x0.., y0.. (it may reach past the
        frame; paste() clips). The source face box lands exactly on [x, x+w) x [y, y+w*fh/fw).
        """
        x, y, w = box
        fx, fy, fw, fh = self.face
        s = w / fw
        ox, oy = x - fx * s, y - fy * s  # frame coordinate of the source origin
        bx0, by0, bx1, by1 = self.bounds
        X0, X1 = int(np.floor(ox + bx0 * s)) - 1, int(np.ceil(ox + bx1 * s)) + 1
        Y0, Y1 = int(np.floor(oy + by0 * s)) - 1, int(np.ceil(oy + by1 * s)) + 1
        src = self.rgba[by0:by1, bx0:bx1]
        wy = _weights(Y1 - Y0, Y0, by1 - by0, s, oy + by0 * s)
        wx = _weights(X1 - X0, X0, bx1 - bx0, s, ox + bx0 * s)
        patch = np.einsum("yi,ijc->yjc", wy, src, optimize=True)
        patch = np.einsum("xj,yjc->yxc", wx, patch, optimize=True)
        return X0, Y0, np.ascontiguousarray(patch, dtype=np.float32)


def face_box(sprite, box):
    """The ground-truth face box {x, y, w, h} in frame pixels for a placement (x, y, w) of the sprite."""
    x, y, w = box
    fx, fy, fw, fh = sprite.face
    return {"x": int(round(x)), "y": int(round(y)), "w": int(round(w)), "h": int(round(w * fh / fw))}


def paste(frame, x0, y0, patch):
    """Blends a premultiplied RGBA patch into frame (HxWx3 uint8, in place) at (x0, y0), clipped to the frame."""
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(w, x0 + pw), min(h, y0 + ph)
    if fx1 <= fx0 or fy1 <= fy0:
        return frame
    p = patch[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    region *= 1.0 - p[..., 3:4]
    region += p[..., :3]
    frame[fy0:fy1, fx0:fx1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return frame


def composite(background, placements):
    """background HxWx3 + [(sprite, (x, y, w)), ...] -> HxWx3 uint8 frame."""
    frame = to_uint8(background)
    for sprite, box in placements:
        paste(frame, *sprite.render(box))
    return frame


def to_uint8(img):
    if img.dtype == np.uint8:
        return img.copy()
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def object_sprite(rgb):
    """A whole picture (e.g. coffee.png) as a sprite with soft edges; its "face" box is the whole picture."""
    sprite = Sprite(rgb, face=(0, 0, rgb.shape[1], rgb.shape[0]), margin=0.0)
    alpha = np.ones(rgb.shape[:2], np.float32)
    ramp = max(2, rgb.shape[1] // 30)
    for axis, n in ((0, rgb.shape[0]), (1, rgb.shape[1])):
        r = np.clip(np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5) / ramp, 0, 1).astype(np.float32)
        alpha *= r[:, None] if axis == 0 else r[None, :]
    sprite.alpha = alpha
    sprite.rgba = np.concatenate([rgb.astype(np.float32) * alpha[..., None], alpha[..., None]], axis=2)
    sprite.bounds = (0, 0, rgb.shape[1], rgb.shape[0])
    return sprite


# --- backgrounds and encoding -----------------------------------------------------------------------------

def background(width, height, seed=0, noise=2.0):
    """A neutral, face-free backdrop: a smooth two-colour diagonal gradient with a soft vignette and mild
    static noise (float32 HxWx3)."""
    rng = np.random.default_rng(seed)
    c0 = rng.uniform(110, 190) + rng.uniform(-25, 25, 3)  # greys with a mild tint
    c1 = rng.uniform(70, 170) + rng.uniform(-25, 25, 3)
    angle = rng.uniform(0, np.pi)
    u = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    v = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
    t = np.clip(u[None, :] * float(np.cos(angle)) + v[:, None] * float(np.sin(angle)) + 0.5, 0, 1)[..., None]
    img = c0.astype(np.float32) * (1 - t) + c1.astype(np.float32) * t
    img *= (1.0 - 0.25 * (u[None, :] ** 2 + v[:, None] ** 2))[..., None]
    if noise:
        img += noise * rng.standard_normal(img.shape, dtype=np.float32)
    return img


class Encoder:
    """Raw RGB frames piped into `ffmpeg ... libx264` (H.264, yuv420p, no audio)."""

    def __init__(self, path, width, height, fps, crf=28, preset="veryfast", gop=None, threads=None):
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % (width, height),
               "-r", str(fps), "-i", "-", "-an", "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
               "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
        if gop:
            cmd += ["-g", str(gop)]
        if threads:
            cmd += ["-threads", str(threads)]
        self.proc = subprocess.Popen(cmd + [path], stdin=subprocess.PIPE)
        self.path = path

    def write(self, rgb):
        self.proc.stdin.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())

    def close(self):
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise RuntimeError("ffmpeg failed on " + self.path)


# per-frame drift of the face (pixels): the median is 0 and no frame is more than 1 px off
DRIFT = [(0, 0), (1, 0), (0, 0), (0, 1), (0, 0), (-1, 0), (0, 0), (0, -1)]


def drift(i):
    return DRIFT[i % len(DRIFT)]
