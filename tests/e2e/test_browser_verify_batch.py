"""The verifier's page checking many copies at once, in Debian's Chromium: pasted codes in one
batch (a duplicate and an unknown code among them), a CSV of the table made in the browser,
dropped PDF files in the same table, a QR code read from a picture by the decoder the app
serves itself, and a throttled verifier told how long to wait. The CSP is the pages' own
(test_browser.py checks it); any violation fails the test."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import segno
from playwright.sync_api import expect

from tests.e2e import test_browser as web
from tests.e2e.helpers import HEADER, a_resident_id, accepted_session, certificates, drop, register, row
from tests.e2e.test_browser import CHROMIUM, Watched, assert_accessible_basics, beijing_minutes
from tests.e2e.test_verification import ready_copy, the_file

# test_browser.py's fixtures, as this module's own: the browser, watched pages, screenshots.
browser, open_page, shots = web.browser, web.open_page, web.shots

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")

UNKNOWN = "ZZZZ-ZZZZ-ZZZZ-ZZZ7"
COPY = "电子证书加注件"  # the table's 文件类型 of an annotated copy
# Every browser connects from 127.0.0.1: this module checks in throttle windows nobody else uses.
OWN_MINUTES = 2 * 24 * 3600 + 300


@pytest.fixture(scope="module")
def holding(stack: Any) -> dict[str, Any]:
    id_number = a_resident_id("19940404")
    tag = id_number[-6:]
    drop(stack, f"browser-batch-{tag}.csv", HEADER + row(f"BB{tag}0", id_number, name="郑十一"))
    username = f"browser_batch_{tag}"
    register(stack, username=username, password="Browse#2026pw", name="郑十一", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, username, "Browse#2026pw", proof=(f"BB{tag}0", "郑十一"))
    [cert] = certificates(stack, token).values()
    copy = ready_copy(stack, token, cert["certificate_id"])
    return {"token": token, "certificate_no": cert["certificate_no"], "copy": copy,
            "pdf": the_file(stack, token, copy["annotation_id"])}


def table_rows(page: Any) -> list[list[str]]:
    return [[cell.strip() for cell in r.locator("td").all_inner_texts()]
            for r in page.locator("#batch-rows tr").all()]


def test_pasted_codes_dropped_files_and_a_qr_picture_fill_one_table_that_downloads_as_csv(
        stack: Any, open_page: Callable[..., Watched], holding: dict[str, Any], tmp_path: Path, shots: Path) -> None:
    copy, code = holding["copy"], holding["copy"]["verification_code"]
    until = beijing_minutes(requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["annotation"]["valid_until"])
    name = requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["certificate"]["holder_name"]
    w = open_page()
    page = w.page
    w.allow(404, "/verify/file")
    w.allow(429, "/verify/batch")
    with stack.clock_moved(OWN_MINUTES):
        page.goto(stack.url("/verify"))
        page.get_by_label("验证码（最多 100 个）").fill(f"{code}\n{code.lower()}, {UNKNOWN}")
        page.get_by_role("button", name="批量查验", exact=True).click()
        expect(page.locator("#batch-rows tr")).to_have_count(3)
        assert table_rows(page) == [
            [code, "有效", COPY, holding["certificate_no"], name, until],
            [code.lower(), "有效", COPY, holding["certificate_no"], name, until],
            [UNKNOWN, "未找到", "—", "—", "—", "—"],
        ]
        expect(page.locator("#batch-summary")).to_have_text("共 3 项：有效 2，未找到 1")
        expect(page.locator("#batch-result-title")).to_be_focused()
        assert_accessible_basics(page)
        page.screenshot(path=shots / "verify-batch.png", full_page=True)

        # The CSV is made in the page (a blob: link with a download name), not fetched.
        with page.expect_download() as download:
            page.get_by_role("button", name="下载 CSV").click()
        saved = download.value
        assert saved.url.startswith("blob:") and saved.suggested_filename.endswith(".csv")
        content = Path(saved.path()).read_bytes().decode("utf-8")
        assert content.startswith("\ufeff")
        assert list(csv.reader(io.StringIO(content[1:]))) == [
            ["验证码或文件", "查验结果", "文件类型", "证书编号", "姓名", "加注有效期至"],
            [code, "有效", COPY, holding["certificate_no"], name, until],
            [code.lower(), "有效", COPY, holding["certificate_no"], name, until],
            [UNKNOWN, "未找到", "", "", "", ""],
        ]

        # Several files: one check each, their rows added to the same table.
        genuine, stranger = tmp_path / "copy.pdf", tmp_path / "stranger.pdf"
        genuine.write_bytes(holding["pdf"])
        stranger.write_bytes(b"%PDF-1.7\n% not issued by this service\n%%EOF\n")
        page.get_by_label("加注件或证书电子文件 (PDF，可多选)").set_input_files([genuine, stranger])
        expect(page.locator("#batch-rows tr")).to_have_count(5)
        assert table_rows(page)[3:] == [["copy.pdf", "有效", COPY, holding["certificate_no"], name, until],
                                        ["stranger.pdf", "未找到", "—", "—", "—", "—"]]

        # A picture of the QR code: read by jsQR from this origin, then checked by its code.
        picture = tmp_path / "qr.png"
        segno.make(copy["verify_url"], error="m").save(str(picture), kind="png", scale=6, border=4)
        page.get_by_label("或上传二维码图片").set_input_files(picture)
        expect(page.locator("#result .badge")).to_have_text("有效")
        expect(page.locator("#result")).to_contain_text(copy["annotation_no"])
        assert urlsplit(page.url).query == urlsplit(copy["verify_url"]).query  # the code the picture carries
        decoder = requests.get(stack.url("/static/jsQR.js"), timeout=5)
        assert decoder.status_code == 200 and decoder.headers["Content-Type"].startswith("text/javascript")

        # More unknown codes than the client may miss in a minute: refused whole, with the wait.
        page.get_by_label("验证码（最多 100 个）").fill(
            "\n".join(f"ZZZZ-YYYY-XXXX-WW{a}{b}" for a in "23456" for b in "2345"))
        page.get_by_role("button", name="批量查验", exact=True).click()
        expect(page.locator("#batch-codes-error")).to_have_text(re.compile(r"查验过于频繁，请 (\d+ 秒|1 分钟)后再试。"))
        expect(page.locator("#batch-rows tr")).to_have_count(5)  # the table keeps its rows
