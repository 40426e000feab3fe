import Foundation

/// `jsons/curation/concat_receipt.py`: a standard-library-only Python 3 script, written by every
/// export beside the versions, that rebuilds a version's training mix from its `source.txt` without
/// emocfg, byte for byte as `Curation.reproduce` does (kept old shards, line counts, SHA-256, the
/// line index to name the first differing line; `.jsonl.zst` shards need the `zstandard` module, and
/// without it the script says so and exits 2). A string constant, so no resource bundle is needed.
public enum ConcatReceiptScript {
    public static let path = "jsons/curation/concat_receipt.py"

    /// Writes the script into the export folder `out` (executable), replacing an older copy.
    public static func write(into out: URL) throws {
        let url = out.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.contents(atPath: url.path) != Data(text.utf8) {
            try Data(text.utf8).write(to: url, options: .atomic)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }

    public static let text = #"""
#!/usr/bin/env python3
"""Rebuild one curation version's training mix from its source.txt, checking every shard.

    python concat_receipt.py v3                 # from jsons/curation/ of an export
    python concat_receipt.py v3 --root EXPORT   # from anywhere
    python concat_receipt.py v3 --to mix.jsonl  # default: jsons/curation/v3/train.jsonl

emocfg export writes this file beside the versions so that a version can be rebuilt without
emocfg. It does what `emocfg receipt reproduce vN` does and writes the same bytes: the shards
listed in vN/source.txt (path, line count, SHA-256, tab-separated), in order, each read from
jsons/curation/shards/<sha256>.jsonl[.zst] when a later export replaced the file and kept the old
content there, else from its path; each checked for its line count and SHA-256, and, when one
differs, the line named with the version's line index (jsons/curation/lines/<sha256>.fnv: one
64-bit FNV-1a per line, little-endian). `.jsonl.zst` shards need the `zstandard` module.

Python 3 standard library only. Exit status: 0 reproduced; 1 a difference (the shard and line are
named); 2 it cannot run (usage, missing files, no zstandard module for .zst shards).
"""
import argparse
import hashlib
import io
import json
import os
import struct
import sys

CHUNK = 1 << 20
FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1


class Difference(Exception):
    """A shard or the source list differs from what the receipt records."""


def fnv1a(data):
    h = FNV_BASIS
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def fail(status, message):
    sys.stderr.write("error: " + message + "\n")
    sys.exit(status)


def find_root(arg, version):
    if arg:
        return os.path.abspath(arg)
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.dirname(os.path.dirname(here)), os.path.abspath(os.path.join(os.getcwd(), "..", ".."))]
    for root in candidates:
        if os.path.isdir(os.path.join(root, "jsons", "curation", version)):
            return root
    fail(2, "no jsons/curation/%s next to this script or the working folder; pass --root EXPORT_FOLDER" % version)


def read_sources(curation, version):
    """The shards of source.txt, checked against receipt.json when it is there."""
    folder = os.path.join(curation, version)
    source_path = os.path.join(folder, "source.txt")
    try:
        with open(source_path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(2, "%s: cannot read %s: %s" % (version, source_path, e.strerror))
    shards = []
    for n, raw in enumerate(data.decode("utf-8").split("\n")[:-1], 1):
        parts = raw.split("\t")
        if len(parts) != 3 or not parts[1].isdigit():
            raise Difference("%s: source.txt:%d: expected path<TAB>lines<TAB>sha256, found %r" % (version, n, raw))
        shards.append((parts[0], int(parts[1]), parts[2]))
    receipt_path = os.path.join(folder, "receipt.json")
    if os.path.exists(receipt_path):
        with open(receipt_path, "rb") as f:
            receipt = json.loads(f.read().decode("utf-8"))
        if hashlib.sha256(data).hexdigest() != receipt.get("source_sha256"):
            raise Difference("%s: source.txt: does not match the SHA-256 its receipt records; it was edited" % version)
        listed = [(s.get("path"), int(s.get("lines", -1)), s.get("sha256")) for s in receipt.get("shards", [])]
        if listed != shards:
            raise Difference("%s: source.txt: lists other shards than its receipt" % version)
    else:
        sys.stderr.write("note: %s has no receipt.json; checking against source.txt alone\n" % folder)
    return shards


def shard_file(root, path, sha):
    zst = path.endswith(".zst")
    kept = os.path.join(root, "jsons", "curation", "shards", sha + ".jsonl" + (".zst" if zst else ""))
    return kept if os.path.exists(kept) else os.path.join(root, path)


class Frames(io.RawIOBase):
    """Concatenated zstd frames, for zstandard versions without read_across_frames."""

    def __init__(self, fh, zstandard):
        data, parts = fh.read(), []
        while data:
            d = zstandard.ZstdDecompressor().decompressobj()
            parts.append(d.decompress(data))
            data = d.unused_data
        self.buffer = io.BytesIO(b"".join(parts))

    def read(self, n=-1):
        return self.buffer.read(n)


def open_shard(file):
    fh = open(file, "rb")
    if not file.endswith(".zst"):
        return fh
    import zstandard
    try:
        return zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    except TypeError:
        return Frames(fh, zstandard)


def chunks(file):
    reader = open_shard(file)
    try:
        while True:
            chunk = reader.read(CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        reader.close()


def locate(root, version, path, lines, sha, file, actual_lines, actual_sha, ends_open):
    """Names the first line that differs, with the line index when there is one."""
    where = "%s: %s" % (version, path)
    index_path = os.path.join(root, "jsons", "curation", "lines", sha + ".fnv")
    index = None
    if os.path.exists(index_path):
        with open(index_path, "rb") as f:
            raw = f.read()
        index = struct.unpack("<%dQ" % (len(raw) // 8), raw[: len(raw) // 8 * 8])
    if index is not None:
        n, pending = 0, b""
        for chunk in chunks(file):
            pieces = (pending + chunk).split(b"\n")
            pending = pieces.pop()
            for piece in pieces:
                n += 1
                if n > len(index):
                    raise Difference("%s:%d: has more lines than the %d the receipt records" % (where, n, lines))
                if fnv1a(piece) != index[n - 1]:
                    raise Difference("%s:%d: differs from the line the receipt records (line index %s)"
                                     % (where, n, "jsons/curation/lines/%s.fnv" % sha))
    if ends_open:
        raise Difference("%s:%d: ends without a newline" % (where, actual_lines + 1))
    if actual_lines != lines:
        raise Difference("%s:%d: has %d lines; the receipt records %d" % (where, actual_lines + 1, actual_lines, lines))
    raise Difference("%s: has SHA-256 %s, the receipt records %s%s" % (
        where, actual_sha, sha, "" if index is not None else " (its line index is missing, so the line cannot be named)"))


def main():
    parser = argparse.ArgumentParser(description="Rebuild a curation version's training mix from its source.txt and check it.")
    parser.add_argument("version", help="the version, e.g. v3")
    parser.add_argument("--root", help="the export folder (default: the one this script sits in)")
    parser.add_argument("--to", help="where to write the mix (default: jsons/curation/vN/train.jsonl)")
    args = parser.parse_args()
    digits = args.version[1:] if args.version.startswith("v") else args.version
    if not digits.isdigit() or int(digits) <= 0:
        fail(2, "expected a version like v3, found %r" % args.version)
    version = "v%d" % int(digits)
    root = find_root(args.root, version)
    curation = os.path.join(root, "jsons", "curation")
    try:
        shards = read_sources(curation, version)
    except Difference as d:
        fail(1, str(d))
    files = [(path, lines, sha, shard_file(root, path, sha)) for path, lines, sha in shards]
    for path, _, _, file in files:
        if not os.path.exists(file):
            fail(1, "%s: %s: is missing" % (version, path))
    if any(f.endswith(".zst") for _, _, _, f in files):
        try:
            import zstandard  # noqa: F401
        except ImportError:
            fail(2, "%s lists .jsonl.zst shards and this Python has no 'zstandard' module: install it "
                    "(pip install zstandard) or decompress the shards (zstd -d), then run again" % version)
    output = os.path.abspath(args.to) if args.to else os.path.join(curation, version, "train.jsonl")
    partial = output + ".partial"
    os.makedirs(os.path.dirname(output), exist_ok=True)
    total, count = hashlib.sha256(), 0
    try:
        with open(partial, "wb") as out:
            for path, lines, sha, file in files:
                h, n, last = hashlib.sha256(), 0, b"\n"
                for chunk in chunks(file):
                    h.update(chunk)
                    total.update(chunk)
                    out.write(chunk)
                    n += chunk.count(b"\n")
                    last = chunk[-1:]
                actual = h.hexdigest()
                ends_open = last != b"\n"
                if actual != sha or n != lines or ends_open:
                    locate(root, version, path, lines, sha, file, n, actual, ends_open)
                count += n
    except Difference as d:
        os.remove(partial)
        fail(1, str(d))
    except OSError as e:
        if os.path.exists(partial):
            os.remove(partial)
        fail(1, "%s: %s" % (version, e))
    os.replace(partial, output)
    print("%s: %d shards, %d lines reproduced byte for byte -> %s (SHA-256 %s)"
          % (version, len(files), count, output, total.hexdigest()))


if __name__ == "__main__":
    main()

"""#
}
