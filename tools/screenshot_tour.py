"""A screenshot tour of every page, for each role, at a laptop's and a phone's width.

Run against a running Salesops with the demo company (`make run`, then in another shell
`make tour`, or `.venv/bin/python tools/screenshot_tour.py --base-url http://127.0.0.1:8000`).
For each role it signs in (the demo password), follows every link of the navbar and the
user menu, and one detail page of each kind it finds on them (an opportunity, a proposal,
a review, a 1:1, a meeting, a candidate …), and writes for each page and width:

    var/tour/<role>/<page>-<width>.png     the whole page
    var/tour/index.html                    every screenshot, by role
    var/tour/report.txt                    status and page width of each; what is wrong

A page is wrong when it does not answer 200 or is wider than the window (sideways
scrolling of the page itself; a wide table may scroll inside its card). The exit code is
the number of wrong pages (0: all fine), so the tour can gate a release.

Headless Chromium comes from the system (`apt-get install chromium`), never downloaded.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

from playwright.sync_api import Page, sync_playwright

ROLES = ("rep1", "manager1", "leader", "admin")
WIDTHS = {1440: 900, 390: 844}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# One detail page of each kind, when a visited page links to one.
DETAIL_KINDS = {
    "opportunity": r"^/opportunities/\d+/$",
    "proposal": r"^/proposals/\d+/$",
    "review": r"^/coaching/reviews/\d+/$",
    "one-on-one": r"^/coaching/sessions/\d+/$",
    "meeting": r"^/forecast/meetings/\d+/$",
    "candidate": r"^/hiring/candidates/\d+/$",
    "decision": r"^/hiring/candidates/\d+/decision/$",
    "onboarding": r"^/hiring/onboarding/\d+/$",
    "import": r"^/imports/\d+/$",
}
SKIP = re.compile(r"^/(accounts/logout|admin/|api/)|\.(csv|json|pdf)$|/export/")


@dataclass
class Shot:
    role: str
    name: str
    path: str
    width: int
    status: int
    page_width: int

    @property
    def problem(self) -> str:
        if self.status != 200:
            return f"answered {self.status}"
        if self.page_width > self.width:
            return f"{self.page_width} px wide in a {self.width} px window"
        return ""


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(urljoin(base, "/accounts/login/"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    if "/accounts/login/" in page.url:
        raise SystemExit(f"Could not sign in as {username}: is the demo loaded and DEBUG on?")


def links_on(page: Page, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/") and not SKIP.search(h)]


def page_name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.strip("/").lower()) or "home"


def tour_role(page: Page, base: str, role: str, password: str, out: Path) -> list[Shot]:
    sign_in(page, base, role, password)
    navbar = links_on(page, "nav a[href], .dropdown-menu a[href]")
    seen: dict[str, str] = {}
    for path in navbar:
        seen.setdefault(urlparse(path).path, page_name(path))
    details: dict[str, str] = {}
    for path in list(seen):
        page.goto(urljoin(base, path))
        for href in links_on(page, "main a[href]"):
            target = urlparse(href).path
            for kind, pattern in DETAIL_KINDS.items():
                if kind not in details and re.match(pattern, target):
                    details[kind] = target
    for kind, path in details.items():
        seen.setdefault(path, kind)
    shots = []
    for path, name in seen.items():
        for width, height in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            answer = page.goto(urljoin(base, path))
            page.wait_for_load_state("networkidle")
            wide = page.evaluate("document.documentElement.scrollWidth")
            target = out / role / f"{name}-{width}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
            shots.append(Shot(role, name, path, width, answer.status if answer else 0, wide))
    return shots


def write_index(shots: list[Shot], out: Path) -> None:
    rows = []
    for role in dict.fromkeys(s.role for s in shots):
        rows.append(f"<h2>{html.escape(role)}</h2>")
        for shot in (s for s in shots if s.role == role):
            image = f"{role}/{shot.name}-{shot.width}.png"
            note = html.escape(shot.problem or "fine")
            rows.append(
                f'<figure><a href="{image}"><img src="{image}" width="{shot.width // 4}" '
                f'alt="{html.escape(shot.path)} at {shot.width} px"></a><figcaption>'
                f"{html.escape(shot.path)} · {shot.width} px · {note}</figcaption></figure>"
            )
    (out / "index.html").write_text(
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Salesops tour</title>"
        "<style>figure{display:inline-block;vertical-align:top;margin:8px;font:12px sans-serif}"
        "</style><h1>Salesops screenshot tour</h1>" + "".join(rows) + "</html>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="var/tour", type=Path)
    parser.add_argument("--roles", nargs="+", default=list(ROLES))
    parser.add_argument("--password", default="demo")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("No chromium on PATH: apt-get install chromium")
    shots: list[Shot] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for role in args.roles:
            context = browser.new_context()
            shots += tour_role(context.new_page(), args.base_url, role, args.password, args.out)
            context.close()
        browser.close()
    write_index(shots, args.out)
    wrong = [s for s in shots if s.problem]
    lines = [
        f"{s.role:9} {s.width:5} {s.status} {s.page_width:5} px  {s.path}  {s.problem}".rstrip()
        for s in shots
    ]
    summary = f"{len(shots)} screenshots, {len(wrong)} wrong"
    (args.out / "report.txt").write_text("\n".join([*lines, summary]) + "\n")
    for shot in wrong:
        print(f"WRONG {shot.role} {shot.width} px {shot.path}: {shot.problem}")
    print(f"{summary}; written to {args.out}/index.html and report.txt")
    return min(len(wrong), 100)


if __name__ == "__main__":
    sys.exit(main())
