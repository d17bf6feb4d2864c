"""Check the built book as a reader sees it: links, images, equations and screenshots.

    python scripts/check_book.py [--html _build/html] [--out _build/screenshots] [--page REL]

1. Static: every internal link (``href``/``src`` without a scheme such as ``http:``,
   ``mailto:`` or ``data:``) of every HTML page under ``--html`` resolves to an existing
   file, and its ``#fragment`` names an ``id`` (or ``<a name>``) of the target page;
   same-page ``#fragment`` links too, a bare ``#`` is skipped.  ``_static/`` (the theme's
   templates), ``_sources/`` and ``_images/`` hold no pages and are not scanned.
2. Rendered: ``index.html`` (or the page its meta refresh points to) and one figure page
   (the first page under ``book/generated/``, in the book's order, with an ``<img>``;
   or ``--page``) are rendered by headless Chromium's command line (``--screenshot`` and
   ``--dump-dom`` after a virtual time budget, so the page's scripts have run).  In the
   dumped DOM every ``<img>`` file must exist, be non-empty and decode with PIL, and the
   equations (``class="math"``) must have been typeset by MathJax (``<mjx-container>``).
   Screenshots go to ``--out`` as ``index.png`` and ``<page>.png``.

Exits 1 with the list of problems, 0 when everything holds.  Installs nothing: when
Chromium (``/usr/bin/chromium``, Debian's package; ``$CHROMIUM`` overrides) is missing it
prints the ``apt-get`` command that installs it.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

from advsel.repro import book

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
# --disable-dev-shm-usage: containers often have a tiny /dev/shm, which crashes the renderer
FLAGS = ["--headless=new", "--virtual-time-budget=10000", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900"]
LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src",
              "video": "src", "audio": "src", "embed": "src", "object": "data"}
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, data:, javascript:, file: ...
SKIP_DIRS = ("_static", "_sources", "_images")


class PageParser(html.parser.HTMLParser):
    """The ids, links, meta refresh target and equations (found / typeset) of one HTML document."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.refresh: str | None = None
        self.math = self.typeset = 0
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url=(.+)$", a.get("content", ""), re.IGNORECASE)
            self.refresh = m.group(1).strip().strip("'\"") if m else None
        if LINK_ATTRS.get(tag) in a:
            self.links.append((tag, a[LINK_ATTRS[tag]]))
        self.math += "math" in a.get("class", "").split()
        self.typeset += tag == "mjx-container"


@functools.cache
def parse_page(path: Path) -> PageParser:
    return PageParser(path.read_text(encoding="utf-8", errors="replace"))


def target_of(page: Path, url: str, html_root: Path) -> tuple[Path, str]:
    """The file that a relative or root-relative ``url`` of ``page`` points to, and its fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = html_root / path.lstrip("/")
    else:
        target = page.parent / path
    return (target / "index.html" if target.is_dir() else target), unquote(parts.fragment)


def rel(p: Path, root: Path) -> str:
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def check_links(html_root: Path) -> list[str]:
    """Every internal link of every page resolves to a file, and its #fragment to an id there."""
    problems = []
    pages = sorted(p for p in html_root.rglob("*.html") if p.relative_to(html_root).parts[0] not in SKIP_DIRS)
    for page in pages:
        name = rel(page, html_root)
        for tag, url in parse_page(page).links:
            if url.lower().startswith("file:"):
                problems.append(f"{name}: <{tag}> {url} -> points into the builder's disk")
                continue
            if url == "#" or SCHEME.match(url):
                continue
            target, fragment = target_of(page, url, html_root)
            if not target.is_file():
                problems.append(f"{name}: <{tag}> {url} -> missing file {rel(target, html_root)}")
            elif fragment and target.suffix == ".html" and fragment not in parse_page(target).ids:
                problems.append(f"{name}: <{tag}> {url} -> no id {fragment!r} in {rel(target, html_root)}")
    print(f"links: {len(pages)} pages checked, {len(problems)} problem(s)")
    return problems


def figure_page(html_root: Path, wanted: str | None) -> Path | None:
    """``--page``, else the first page of book/generated/ (the page registry's order, then the others) with
    an <img>."""
    if wanted:
        return html_root / wanted if (html_root / wanted).is_file() else None
    pages = [html_root / book.GENERATED / f"{name}.html" for name in book.PAGES]
    pages += sorted(set((html_root / "book" / "generated").glob("*.html")) - set(pages))
    return next((p for p in pages if p.is_file() and any(t == "img" for t, _ in parse_page(p).links)), None)


def check_image(name: str, src: str, file: Path | None) -> list[str]:
    """The image file exists, is non-empty and decodes (SVG: holds an <svg> element)."""
    if file is None:
        return [] if src.startswith("data:") else [f"{name}: <img src={src!r}> is not a local file"]
    if not file.is_file() or file.stat().st_size == 0:
        return [f"{name}: <img src={src!r}> -> {'missing' if not file.is_file() else 'empty'} file {file}"]
    if file.suffix.lower() == ".svg":
        return [] if b"<svg" in file.read_bytes()[:4096].lower() else [f"{name}: <img src={src!r}> is no SVG"]
    try:
        with Image.open(file) as im:
            im.load()
    except Exception as e:  # noqa: BLE001 - any decoding failure is a broken image
        return [f"{name}: <img src={src!r}> -> {file} does not decode ({type(e).__name__}: {e})"]
    return []


def chromium(exe: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium once, with a throwaway profile."""
    with tempfile.TemporaryDirectory(prefix="check_book-") as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, timeout=180)


def render(exe: str, page: Path, html_root: Path, shot: Path, want_img: bool) -> list[str]:
    """Screenshot ``page``, then check the images and equations of its DOM after the scripts ran."""
    name, url = rel(page, html_root), page.resolve().as_uri()
    try:
        r = chromium(exe, f"--screenshot={shot}", url)
        problems = [] if r.returncode == 0 and shot.is_file() else [
            f"{name}: chromium --screenshot failed (exit {r.returncode}): {r.stderr.decode(errors='replace')[-500:]}"]
        r = chromium(exe, "--dump-dom", url)
    except subprocess.TimeoutExpired as e:
        return [f"{name}: chromium timed out ({e.timeout:.0f} s)"]
    text = r.stdout.decode(errors="replace")
    if r.returncode != 0 or "<html" not in text.lower():
        return problems + [f"{name}: chromium --dump-dom failed (exit {r.returncode})"]
    dom = PageParser(text)
    imgs = [src for tag, src in dom.links if tag == "img"]
    print(f"{name}: {len(imgs)} image(s), {dom.typeset}/{dom.math} equation(s) typeset, screenshot {shot}")
    for src in imgs:
        problems += check_image(name, src, None if SCHEME.match(src) else target_of(page, src, html_root)[0].resolve())
    if dom.math and not dom.typeset:
        problems.append(f"{name}: {dom.math} equation(s) but none typeset by MathJax")
    if want_img and not imgs:
        problems.append(f"{name}: no <img> in the rendered page")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built book (default: _build/html)")
    ap.add_argument("--out", default=str(ROOT / "_build" / "screenshots"), help="where screenshots go")
    ap.add_argument("--page", help="figure page to render, relative to --html "
                                   "(default: the first with an <img> under book/generated/)")
    args = ap.parse_args(argv)
    html_root, out = Path(args.html), Path(args.out)
    index = html_root / "index.html"
    if not index.is_file():
        print(f"check_book: {index} does not exist; build the book first: "
              "jupyter-book build . -W -n --keep-going", file=sys.stderr)
        return 1

    problems = check_links(html_root)
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        print(f"check_book: Chromium not found at {CHROMIUM}. Install Debian's package (as root):\n"
              f"    {INSTALL_HINT}", file=sys.stderr)
        problems.append(f"Chromium missing at {CHROMIUM}: pages not rendered")
    else:
        # index.html only redirects (meta refresh): render its target, so that relative URLs resolve
        refresh = parse_page(index).refresh
        start = index.parent / refresh if refresh and (index.parent / refresh).is_file() else index
        jobs = [(start, out / "index.png", False)]
        fig = figure_page(html_root, args.page)
        if fig is not None:
            jobs.append((fig, out / f"{fig.stem}.png", True))
        elif args.page:
            problems.append(f"--page {args.page} does not exist")
        else:
            problems.append("no page under book/generated/ shows an <img>: the figures are missing. Were the "
                            "notebooks executed (python scripts/notebooks.py execute) with MPLBACKEND=Agg set? "
                            "Then plt.show() draws nothing into the notebook.")
        out.mkdir(parents=True, exist_ok=True)
        for page, shot, want_img in jobs:
            problems += render(CHROMIUM, page, html_root, shot, want_img)

    if problems:
        print(f"\ncheck_book: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"check_book: OK (links resolve, images decode, equations typeset, screenshots in {out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
