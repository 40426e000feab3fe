#!/usr/bin/env python3
"""Makes the spreadsheets the .xlsx reader's tests read, with real spreadsheet libraries.

Run once by a developer (`pip install openpyxl xlsxwriter`); the outputs are committed so the tests
need no Python. openpyxl writes strings to the shared-string table; XlsxWriter in constant-memory
mode writes them inline in the sheet, so both encodings are exercised.
"""
import os
import openpyxl
import xlsxwriter

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "_xlsx")
os.makedirs(out, exist_ok=True)

# Shared strings, numbers, blank header cells, empty cells, a no-header sheet, a sheet with a space.
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Sheet1"
ws.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units", "Estimated Emotion"])
ws.append(["01", "EP02_01f", None, 46, 59, 86, None, "12", "happiness"])
ws.append([1, "EP03_02", None, 0.5, "/", 151, None, "4+L10", "others"])
ws.append([])  # a blank row is skipped
ws.append(["26", "EP18_51", None, 1, None, 30, None, "R12", "repression"])
ws2 = wb.create_sheet("naming rule1")
ws2.append([15, "s15"])
ws2.append([16, "s16"])
ws3 = wb.create_sheet("NoHeader")
ws3.append([1, "15_0101disgustingteeth", 61, 77, 101, "4+7", "negative", "macro-expression", "disgust"])
ws3.append([1, "15_0102eatingworms", 0, 11, 0, "", "negative", "micro-expression", "disgust"])
ws3["J3"] = "far right"
wb.save(os.path.join(out, "shared_strings.xlsx"))

# Inline strings (XlsxWriter constant_memory), booleans, a number that is a float.
wb = xlsxwriter.Workbook(os.path.join(out, "inline_strings.xlsx"), {"constant_memory": True})
ws = wb.add_worksheet("Sheet1")
for r, row in enumerate([["clip", "anger", "single_label"], ["00025", 3, 1], ["00026", 0.25, 11], ["中文 clip", True, None]]):
    for c, v in enumerate(row):
        if v is not None:
            ws.write(r, c, v)
wb.close()

# A damaged file: the first half of a real one.
with open(os.path.join(out, "shared_strings.xlsx"), "rb") as f:
    data = f.read()
with open(os.path.join(out, "corrupt.xlsx"), "wb") as f:
    f.write(data[: len(data) // 2])
print("wrote", sorted(os.listdir(out)))
