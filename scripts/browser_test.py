"""The review page in headless Chromium (see scripts/browser-test.sh, which starts the server).

Opens the queue filtered to RAVDESS (whose clips are H.264 files the browser plays), opens the first
item, plays its video, saves a screenshot, accepts the item with the `a` key, corrects the next one
with `e`, typing and Ctrl+Enter, and checks both decisions in the store. Prints `N passed, N failed`.
"""
import argparse
import sqlite3
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name} {detail}")


def uid_on_page(driver):
    """The sample the item page shows (its decision forms' uid), or None while the page changes."""
    try:
        return driver.find_element(By.CSS_SELECTOR, "#accept-form input[name=uid]").get_attribute("value")
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    a = ap.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = a.chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=a.chromedriver), options=options)
    wait = WebDriverWait(driver, 60)
    db = sqlite3.connect(a.db)
    try:
        driver.get(a.url + "?source=RAVDESS")
        progress = driver.find_element(By.ID, "progress").text
        check("the queue shows progress", progress.startswith("reviewed 0 /"), progress)
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.item")
        check("the queue lists RAVDESS items", len(rows) > 2, f"{len(rows)} rows")

        # `u` opens the first item nobody has reviewed; then, from the queue, the first item whose clip
        # has a face box (for the screenshot).
        ActionChains(driver).send_keys("u").perform()
        wait.until(lambda d: "/item?" in d.current_url)
        check("`u` opens an item page", bool(uid_on_page(driver)), driver.current_url)
        driver.back()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.item")) > 0)
        with_face = None
        for row in driver.find_elements(By.CSS_SELECTOR, "tr.item"):
            uid = row.get_attribute("data-uid")
            face = db.execute("SELECT c.face_x FROM samples s JOIN clips c ON c.uid = s.clip_uid WHERE s.uid = ?", (uid,)).fetchone()
            if face and face[0] is not None:
                with_face = row
                break
        check("the queue has an item whose clip has a face box", with_face is not None)
        (with_face or rows[0]).find_element(By.TAG_NAME, "a").click()
        wait.until(lambda d: "/item?" in d.current_url)
        first = uid_on_page(driver)

        # The clip plays: the video element gets data and its clock moves.
        videos = driver.find_elements(By.TAG_NAME, "video")
        check("the item shows a video player", len(videos) == 1)
        if videos:
            driver.execute_script("const v = arguments[0]; v.muted = true; v.play().catch(() => {});", videos[0])
            try:
                wait.until(lambda d: d.execute_script("return arguments[0].currentTime > 0.2 || arguments[0].ended;", videos[0]))
                played = True
            except Exception:
                played = False
            state = driver.execute_script("const v = arguments[0]; return [v.readyState, v.currentTime, v.videoWidth, v.error && v.error.code];", videos[0])
            check("the video plays in the browser", played and state[2] > 0, f"readyState, time, width, error = {state}")
            driver.execute_script("arguments[0].pause();", videos[0])
        frames = driver.find_elements(By.CSS_SELECTOR, "#frames img")
        wait.until(lambda d: all(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", f) for f in frames))
        check("the sampled frames load", len(frames) > 0, f"{len(frames)} frames")
        check("the face box is drawn on the frames", len(driver.find_elements(By.CSS_SELECTOR, ".frame .face")) > 0)
        driver.execute_script("window.scrollTo(0, 0);")
        driver.save_screenshot(a.screenshot)
        print(f"screenshot: {a.screenshot}")

        # `a` accepts; the page moves on to the next unreviewed item.
        ActionChains(driver).send_keys("a").perform()
        wait.until(lambda d: uid_on_page(d) not in (None, first))
        row = db.execute("SELECT judge, decision FROM human_verdicts WHERE sample_uid = ? ORDER BY id DESC", (first,)).fetchone()
        check("`a` accepted the item in the store", row == ("human:browser-test", "accept"), str(row))

        # `e` focuses the answer; type a correction, Ctrl+Enter saves it.
        second = uid_on_page(driver)
        ActionChains(driver).send_keys("e").perform()
        active = driver.switch_to.active_element
        check("`e` focuses the answer", active.get_attribute("id") == "edit-answer")
        is_mcq = "option letters" in driver.find_element(By.CSS_SELECTOR, "label[for=edit-answer]").text
        correction = "A" if is_mcq else "Corrected in the browser test: the person looks calm, then pleased."
        active.send_keys(Keys.CONTROL, "a")
        active.send_keys(correction)
        ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
        wait.until(lambda d: uid_on_page(d) not in (None, second))
        edit = db.execute("SELECT decision, revision_uid FROM human_verdicts WHERE sample_uid = ? ORDER BY id DESC", (second,)).fetchone()
        check("Ctrl+Enter saved a correction", edit is not None and edit[0] == "edit" and edit[1] == second + "#h1", str(edit))
        if edit and edit[1]:
            rev = db.execute("SELECT status, origin, parent_uid, json_extract(content, '$.answer') FROM samples WHERE uid = ?", (edit[1],)).fetchone()
            check("the correction is an accepted sample of origin human", rev is not None and rev[0] == "accepted" and rev[1] == "human"
                  and rev[2] == second and rev[3] == correction, str(rev))
            orig = db.execute("SELECT status FROM samples WHERE uid = ?", (second,)).fetchone()
            check("the original is no longer exported", orig == ("rejected",), str(orig))

        # `k` goes back; the progress counts both decisions.
        ActionChains(driver).send_keys("k").perform()
        wait.until(lambda d: uid_on_page(d) == second)
        check("`k` goes to the previous item", True)
        check("progress counts both decisions", driver.find_element(By.ID, "reviewed-count").text == "2",
              driver.find_element(By.ID, "progress").text)
    finally:
        driver.quit()
        db.close()
    print(f"browser test: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
