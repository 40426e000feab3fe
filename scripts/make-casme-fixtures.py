#!/usr/bin/env python3
"""Makes the CASME, CASME II and CAS(ME)^2 replicas under Tests/Fixtures/ with openpyxl.

Run once by a developer (`pip install openpyxl`); the spreadsheets and folders it writes are
committed so the tests need no Python. Every row is invented; the layouts and quirks follow
../shared/datasets.md: blank header cells, CAS(ME)^2's header-less main sheet and naming-rule
sheets, subjects written `1` beside folders named `sub01`, non-numeric apexes, `4+L10` action
units, offset 0, a stray `Desktop - Shortcut.lnk`, and folder names with typos.
"""
import os
import shutil
import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Tests", "Fixtures")
media = os.path.join(fixtures, "_media")


def reset(name):
    root = os.path.join(fixtures, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return root


def frames(folder, names, source="frame.jpg"):
    os.makedirs(folder, exist_ok=True)
    for n in names:
        shutil.copyfile(os.path.join(media, source), os.path.join(folder, n))


def video(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copyfile(os.path.join(media, "clip.avi"), path)


def write(path, text):
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


# --- CASME II -----------------------------------------------------------------------------------
root = reset("CASME2")
raw = os.path.join(root, "CASME2_RAW_selected")
frames(os.path.join(raw, "sub01", "EP02_01f"), ["img46.jpg", "img47.jpg", "img48.jpg"])
frames(os.path.join(raw, "sub01", "EP03_02"), ["img99.jpg", "img100.jpg", "img101.jpg"])  # natural order
frames(os.path.join(raw, "sub01", "EP19_05f"), ["img1.jpg", "img2.jpg"])
write(os.path.join(raw, "sub01", "EP19_05f", "Thumbs.db"), "not a frame")  # a non-image in a frame folder
write(os.path.join(raw, "sub01", "Desktop - Shortcut.lnk"), "L\x00\x00\x00shortcut")  # the stray file
frames(os.path.join(raw, "sub02", "EP01_11f"), ["img5.jpg", "img6.jpg", "img7.jpg"], "frame.png")
frames(os.path.join(raw, "sub02", "EP09_03"), ["img1.jpg", "img2.jpg"])  # no row: unlabelled
frames(os.path.join(raw, "sub02", "EP04_04"), ["img30.jpg", "img31.jpg"])
frames(os.path.join(raw, "sub26", "EP13_02"), ["img10.jpg", "img11.jpg"])  # the sheet misspells it EP13_O2
video(os.path.join(root, "CASME2_compressed", "sub01", "EP02_01f.avi"))  # beside its frame folder
video(os.path.join(root, "CASME2_compressed", "sub26", "EP07_04.avi"))  # no frame folder: the AVI is the clip

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Sheet1"
ws.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units", "Estimated Emotion"])
ws.append([1, "EP02_01f", None, 46, 47, 48, None, "12", "happiness"])          # row 2: subject a number
ws.append(["01", "EP03_02", None, 99, 100, 101, None, "4+L10", "repression"])  # row 3: subject text, side prefix
ws.append([1, "EP19_05f", None, 1, "/", 2, None, "R12", "others"])              # row 4: non-numeric apex
ws.append([2, "EP01_11f", None, 5, 6, 0, None, "L1+L2+4", "disgust"])           # row 5: offset 0 = not coded
ws.append([26, "EP07_04", None, 20, 25, 30, None, "1+2", "surprise"])            # row 6: AVI only
ws.append([26, "EP13_O2", None, 10, 10, 11, None, "4", "fear"])                  # row 7: typo, folder is EP13_02
ws.append([2, "EP04_04", None, 30, 30, 31, None, "14", "anger"])                 # row 8: not a CASME II emotion
ws.append([2, None, None, 1, 2, 3, None, "4", "sadness"])                        # row 9: no file name
wb.save(os.path.join(root, "CASME2-coding-20140508.xlsx"))

# --- CASME ----------------------------------------------------------------------------------------
root = reset("CASME")
raw = os.path.join(root, "CASME_raw_selected")
frames(os.path.join(raw, "sub01", "EP01_5"), ["EP01_5-1.jpg", "EP01_5-2.jpg", "EP01_5-10.jpg"])
frames(os.path.join(raw, "sub01", "EP03_2"), ["EP03_2-0045.jpg", "EP03_2-0046.jpg"])  # zero-padded frame numbers
frames(os.path.join(raw, "sub04", "EP12_01"), ["EP12_01-3.jpg", "EP12_01-4.jpg"])
frames(os.path.join(raw, "sub07", "EP02_6"), ["EP02_6-1.jpg", "EP02_6-2.jpg"])  # no row: unlabelled

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Sheet1"
ws.append(["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None, "Emotion", "Action Units"])
ws.append([1, "EP01_5", None, 1, 2, None, 10, None, "tense", "4+L10"])       # row 2
ws.append([1, "EP03_2", None, 45, 45, 46, 46, None, "repression", "14"])     # row 3: two apexes
ws.append([4, "EP12_01", None, 3, "/", None, 4, None, "Disgust", "9+R14"])   # row 4: capitalised, `/` apex
ws.append([4, "EP12_02", None, 9, 8, None, 5, None, "joy", "4+X"])           # row 5: no folder, onset after offset, bad AU, bad emotion
wb.save(os.path.join(root, "CASME-coding.xlsx"))

# --- CAS(ME)^2 ------------------------------------------------------------------------------------
root = reset("CASME_sq")
pic = os.path.join(root, "rawpic")
# One long recording holding three coded expressions (rows 1, 2 and 9), as many frames as its AVI;
# frame 3 is zero bytes and frame 5 is not an image: both are counted out and reported.
disgusting = os.path.join(pic, "s15", "15_0101disgustingteeth")
frames(disgusting, ["img%d.jpg" % n for n in range(1, 11)])
write(os.path.join(disgusting, "img3.jpg"), "")
write(os.path.join(disgusting, "img5.jpg"), "not a jpeg")
frames(os.path.join(pic, "s15", "15_0102wormdinner"), ["img1.jpg", "img2.jpg"])        # no row: unlabelled
frames(os.path.join(pic, "s15", "15_0401carcrahs"), ["img%d.jpg" % n for n in range(1, 10)])  # typo in the title
frames(os.path.join(pic, "s16", "16_0101disgustingteeth"), ["img1.jpg", "img2.jpg"])
frames(os.path.join(pic, "s16", "16_0402shoutingmatch"), ["img1.jpg", "img2.jpg"])
video(os.path.join(root, "rawvideo", "s15", "15_0101disgustingteeth.avi"))           # 10 frames at 25 fps
video(os.path.join(root, "rawvideo", "s16", "16_0502funnypets.avi"))                  # no frame folder

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "CASFEcode_final"  # no header row: nine columns by position
ws.append([1, "disgust1_1", 2, 4, 6, "4+L10", "negative", "micro-expression", "disgust"])    # row 1: frames 2..6
ws.append([1, "disgust1_2", 7, 9, 0, "9", "negative", "macro-expression", "disgust"])        # row 2: offset 0: 7..9 (apex)
ws.append([1, "anger1_1", 2, 0, 9, None, "neutral", "macro-expression", "anger"])            # row 3: bad class, apex 0
ws.append([1, "anger9_1", 3, 4, 5, "12", "others", "macro-expression", "happy"])             # row 4: not in naming rule2
ws.append([2, "disgust1_1", 1, 2, 2, "4+7", "surprise", "micro-expression", "surprise"])     # row 5
ws.append([2, "anger2_1", 1, 1, 2, "R12", "others", "macro-expression", "anger"])            # row 6
ws.append([2, "happy2_1", 4, 6, 8, "12", "positive", "macro-expression", "happy"])           # row 7: AVI only
ws.append(["x", "happy2_2", 1, 2, 3, "12", "positive", "macro-expression", "happy"])         # row 8: bad subject
ws.append([1, "disgust1_3", 8, 0, 0, "4", "negative", "micro-expression", "disgust"])        # row 9: apex and offset 0
ws = wb.create_sheet("naming rule1")  # folder number, name, subject serial in the main sheet
ws.append([15, "casme_015", 1])
ws.append([16, "casme_016", 2])
ws = wb.create_sheet("naming rule2")  # video code, video word
ws.append([101, "disgust1"])
ws.append([102, "disgust2"])
ws.append(["0401", "anger1"])  # a code stored as text
ws.append([402, "anger2"])
ws.append([502, "happy2"])
wb.save(os.path.join(root, "CAS(ME)^2code_final.xlsx"))

print("wrote CASME, CASME2 and CASME_sq under", os.path.normpath(fixtures))
