"""The browser's submit -> 查看 time: in Debian's Chromium (Playwright), a holder applies for a copy
N times, and the page itself records the moment of the click on 提交加注申请 and the moment the
new copy's 查看 button is in the page (a MutationObserver; no Playwright polling in the figure).

    measure(stack) -> [(label, value)]

The demo holder has one e-certificate with 3 copies in 90 days at most, so the runs use a holder
of their own with enough certificates (3 copies each), made as bench_load does.
"""

from __future__ import annotations

import statistics
from typing import Any

Row = tuple[str, str]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

WATCH = """() => { window.__benchTook = new Promise(resolve => {
    const button = [...document.querySelectorAll('button')].find(b => b.textContent === '提交加注申请');
    let clicked = null;
    button.addEventListener('click', () => { clicked = performance.now(); }, {capture: true, once: true});
    const seen = new Set([...document.querySelectorAll('li[data-annotation-id]')].map(li => li.dataset.annotationId));
    const observer = new MutationObserver(() => {
        for (const li of document.querySelectorAll('li[data-annotation-id]')) {
            if (seen.has(li.dataset.annotationId)) continue;
            if ([...li.querySelectorAll('button')].some(b => b.textContent === '查看')) {
                observer.disconnect();
                resolve(performance.now() - clicked);
            }
        }
    });
    observer.observe(document.getElementById('view'), {childList: true, subtree: true});
}); }"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure(stack: Any, runs: int = 20) -> list[Row]:
    from playwright.sync_api import sync_playwright

    from bench.bench_load import holder_with_certificates

    per_certificate = 3
    _, certificate_ids = holder_with_certificates(stack, runs // per_certificate + 1, "benchweb")
    timings: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(stack.url("/"))
        page.get_by_label("用户名").fill("benchweb_holder")
        page.get_by_label("密码", exact=True).fill("Load#2026pw")
        page.get_by_role("button", name="登录", exact=True).click()
        page.get_by_role("heading", name="持证人查询下载").wait_for()
        for i in range(runs):
            certificate_id = certificate_ids[i // per_certificate]
            page.goto(stack.url(f"/#/certificates/{certificate_id}"))
            page.get_by_role("button", name="申请证书加注").click()
            page.get_by_label("使用场景").wait_for()
            page.evaluate(WATCH)
            page.get_by_role("button", name="提交加注申请").click()
            timings.append(float(page.evaluate("() => window.__benchTook")) / 1000)
        browser.close()
    return [
        (f"browser submit -> 查看 visible, median of {runs} (Chromium)", f"{statistics.median(timings) * 1000:.0f} ms"),
        (f"browser submit -> 查看 visible, p95 of {runs}", f"{pct(timings, 95) * 1000:.0f} ms"),
    ]


if __name__ == "__main__":
    from infra.harness import RAISED_CODE_LIMITS, running_stack

    with running_stack(env=RAISED_CODE_LIMITS) as running:
        for label, value in measure(running):
            print(f"{label:60} {value}")
