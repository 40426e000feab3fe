#!/usr/bin/env bash
# Makes the tiny real videos that the dataset replicas under Tests/Fixtures copy.
# Run once by a developer (needs the ffmpeg tool); the outputs are committed so tests need no ffmpeg.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/Tests/Fixtures/_media"
mkdir -p "$out"
cd "$out"
x264=(-c:v libx264 -preset veryfast -crf 40 -pix_fmt yuv420p)
# 64x48, 10 fps, 0.6 s, H.264 + AAC (an audio-video clip)
ffmpeg -v error -y -f lavfi -i "testsrc2=size=64x48:rate=10:duration=0.6" \
  -f lavfi -i "sine=frequency=440:duration=0.6:sample_rate=8000" "${x264[@]}" -c:a aac -b:a 8k -shortest av.mp4
# the same picture without audio (RAVDESS's video-only files)
ffmpeg -v error -y -f lavfi -i "testsrc2=size=64x48:rate=10:duration=0.6" "${x264[@]}" video_only.mp4
# 48x64, 25 fps, 0.4 s, MPEG-4 part 2 in AVI (AFEW, CAER, MER2023)
ffmpeg -v error -y -f lavfi -i "testsrc2=size=48x64:rate=25:duration=0.4" -c:v mpeg4 -q:v 20 clip.avi
# 80x80, 30 fps, 0.5 s, H.264 + AAC
ffmpeg -v error -y -f lavfi -i "testsrc2=size=80x80:rate=30:duration=0.5" \
  -f lavfi -i "sine=frequency=300:duration=0.5:sample_rate=8000" "${x264[@]}" -c:a aac -b:a 8k -shortest square_av.mp4
# Matroska states no frame count: the probe must estimate it from duration x fps
ffmpeg -v error -y -f lavfi -i "testsrc2=size=64x48:rate=10:duration=0.6" "${x264[@]}" estimated.mkv
ls -la "$out"
# single frames for frame-folder replicas (32x24)
ffmpeg -v error -y -f lavfi -i "testsrc2=size=32x24:rate=1:duration=1" -frames:v 1 -q:v 10 frame.jpg
ffmpeg -v error -y -f lavfi -i "testsrc2=size=32x24:rate=1:duration=1" -frames:v 1 frame.png
# 320x240, 25 fps, 2 s, H.264 with B-frames and a keyframe every 10 frames, for frame sampling:
# the left half is flat grey at luma 16 + 4 x the frame number (so a decoded frame tells its own
# number), the right half is testsrc2 (texture and motion, so the encoder makes real B-frames)
ffmpeg -v error -y -filter_complex \
  "nullsrc=s=160x240:r=25:d=2,geq=lum='16+N*4':cb=128:cr=128,format=yuv420p[l];testsrc2=s=160x240:r=25:d=2[r];[l][r]hstack" \
  -c:v libx264 -preset veryfast -crf 35 -g 10 -pix_fmt yuv420p counter.mp4
# the same frames in MPEG-TS: no seek index, and seeks land on any packet by decoding time
ffmpeg -v error -y -i counter.mp4 -c copy -bsf:v h264_mp4toannexb counter.ts
# 64x48, 10 fps, 0.6 s, H.264 + AAC like av.mp4, but showing a real face about 30 px wide: NASA's
# public-domain astronaut portrait (taken from scikit-image's wheel by scripts/face_compositing.py;
# face box 175,76,91,91 in the 512x512 original), cropped around the face. The MEAD, MAFW and MELD
# replicas copy it, so the demo's face detector has faces to find.
astro="$(python3 -c 'import sys, tempfile; sys.path.insert(0, sys.argv[1]); import face_compositing as f
p = tempfile.mktemp(suffix=".png"); open(p, "wb").write(f.fetch_skimage_data(("astronaut.png",))["astronaut.png"]); print(p)' "$(dirname "$out")/../../scripts")"
ffmpeg -v error -y -loop 1 -framerate 10 -i "$astro" -f lavfi -i "sine=frequency=440:duration=0.6:sample_rate=8000" \
  -filter_complex "[0]crop=194:146:123:48,scale=64:48,format=yuv420p[v]" -map "[v]" -map 1 -t 0.6 \
  "${x264[@]}" -c:a aac -b:a 8k -shortest av_face.mp4
rm -f "$astro"
