"""Check the built book as a reader sees it: headless Chromium, screenshots, images, links.

    python scripts/check_book.py [--html _build/html] [--out _build/screenshots] [--page REL] [--cli]

1. Every internal link (``href``/``src`` that is not ``http:``, ``https:``, ``mailto:``,
   ``data:`` ...) of every HTML page under ``--html`` must resolve to an existing file,
   and a ``#fragment`` must name an ``id`` (or ``<a name>``) of the target page (same-page
   ``#fragment`` links too; a bare ``#`` is skipped).  ``_static/`` (theme templates),
   ``_sources/`` and ``_images/`` hold no pages and are not scanned.
2. ``index.html`` and one figure page (the first page under ``book/generated/``, in
   ``_toc.yml`` order, whose HTML holds an ``<img>``; or ``--page``) are opened in
   headless Chromium (``/usr/bin/chromium``, Debian's package; ``$CHROMIUM`` overrides).
   After the page's scripts ran, every ``<img>`` must have loaded and decoded
   (``img.complete && img.naturalWidth > 0``, read over the DevTools protocol on a pipe),
   its file must exist, be non-empty and decode with PIL; no local resource
   (CSS, JS, fonts, images) may fail to load; equations must have been typeset by
   MathJax.  JavaScript exceptions are printed, not counted as failures (Jupyter Book 1's
   sphinx-thebe declares ``THEBE_JS_URL`` twice on every page).  Screenshots go to
   ``--out``: ``index.png``, ``<page>.png`` and ``<page>-figure.png`` (scrolled to the first
   figure).
3. ``--cli`` (or a DevTools failure) falls back to Chromium's ``--screenshot`` and
   ``--dump-dom`` with ``--virtual-time-budget``: the images of the dumped DOM are then
   checked on disk only.

Exits 1 with the list of problems, 0 when everything holds.  Installs nothing: when
Chromium is missing it prints the ``apt-get`` command that installs it.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import html.parser
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
WIDTH, HEIGHT = 1280, 900
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}"]
LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src",
              "video": "src", "audio": "src", "embed": "src", "object": "data"}
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # any scheme: http:, https:, mailto:, data:, javascript: ...
TIMEOUT_S = 30.0
SKIP_DIRS = ("_static", "_sources", "_images")


# ----------------------------------------------------------------------------- static HTML
class _PageParser(html.parser.HTMLParser):
    """Collects the ids (anchors) and the links of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.refresh: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url=(.+)$", a.get("content", ""), re.IGNORECASE)
            if m:
                self.refresh = m.group(1).strip().strip("'\"")
        attr = LINK_ATTRS.get(tag)
        if attr and a.get(attr):
            self.links.append((tag, a[attr]))
        if tag in ("img", "source") and a.get("srcset"):
            self.links += [(tag, part.strip().split()[0]) for part in a["srcset"].split(",") if part.strip()]


_PARSED: dict[Path, _PageParser] = {}


def parse_page(path: Path) -> _PageParser:
    if path not in _PARSED:
        p = _PageParser()
        p.feed(path.read_text(encoding="utf-8", errors="replace"))
        _PARSED[path] = p
    return _PARSED[path]


def _target(page: Path, url: str, html_root: Path) -> tuple[Path, str]:
    """The file a relative or root-relative URL of ``page`` points to, and its fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = html_root / path.lstrip("/")
    else:
        target = page.parent / path
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def check_links(html_root: Path) -> list[str]:
    """Every internal link of every page resolves to a file, and its #fragment to an id there."""
    problems = []
    # _static/ holds the theme's Jinja templates (*.html that are no pages), _sources/ the page sources
    pages = sorted(p for p in html_root.rglob("*.html") if p.relative_to(html_root).parts[0] not in SKIP_DIRS)
    for page in pages:
        rel = page.relative_to(html_root)
        for tag, url in parse_page(page).links:
            if url == "#" or (EXTERNAL.match(url) and not url.lower().startswith("file:")):
                continue
            if url.lower().startswith("file:"):
                problems.append(f"{rel}: <{tag}> points into the builder's disk: {url}")
                continue
            target, fragment = _target(page, url, html_root)
            if not target.is_file():
                problems.append(f"{rel}: <{tag}> {url} -> missing file {_rel(target, html_root)}")
            elif fragment and target.suffix == ".html" and fragment not in parse_page(target).ids:
                problems.append(f"{rel}: <{tag}> {url} -> no id {fragment!r} in {_rel(target, html_root)}")
    print(f"links: {len(pages)} pages checked, {len(problems)} problem(s)")
    return problems


def _rel(p: Path, root: Path) -> str:
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def toc_generated_pages(html_root: Path) -> list[Path]:
    """The built pages of book/generated/, in _toc.yml order (then any others, sorted)."""
    order = []
    toc = ROOT / "_toc.yml"
    if toc.is_file():
        order = re.findall(r"file:\s*['\"]?(book/generated/[^\s'\"#]+)", toc.read_text())
    pages = [html_root / f"{Path(f).with_suffix('')}.html" for f in order]
    rest = sorted(set((html_root / "book" / "generated").glob("*.html")) - set(pages))
    return [p for p in pages + rest if p.is_file()]


def figure_page(html_root: Path, wanted: str | None) -> Path | None:
    if wanted:
        p = html_root / wanted
        return p if p.is_file() else None
    for p in toc_generated_pages(html_root):
        if any(tag == "img" for tag, _ in parse_page(p).links):
            return p
    return None


# ----------------------------------------------------------------------------- images on disk
def check_image_file(page_rel: str, src: str, file: Path | None) -> list[str]:
    """The image file exists, is non-empty and decodes (PIL when available, else a signature check)."""
    if file is None:
        return [] if src.startswith("data:") else [f"{page_rel}: <img src={src!r}> is not a local file"]
    if not file.is_file():
        return [f"{page_rel}: <img src={src!r}> -> missing file {file}"]
    if file.stat().st_size == 0:
        return [f"{page_rel}: <img src={src!r}> -> empty file {file}"]
    if file.suffix.lower() == ".svg":
        head = file.read_bytes()[:4096].lower()
        return [] if b"<svg" in head else [f"{page_rel}: <img src={src!r}> -> {file} is not an SVG"]
    try:
        from PIL import Image
    except ImportError:
        sig = file.read_bytes()[:12]
        ok = sig.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")) or sig[8:12] == b"WEBP"
        return [] if ok else [f"{page_rel}: <img src={src!r}> -> {file} is not a PNG/JPEG/GIF/WebP image"]
    try:
        with Image.open(file) as im:
            im.verify()
        with Image.open(file) as im:
            im.load()
            if im.width == 0 or im.height == 0:
                return [f"{page_rel}: <img src={src!r}> -> {file} has size {im.size}"]
    except Exception as e:  # noqa: BLE001 - any decoding failure is a broken image
        return [f"{page_rel}: <img src={src!r}> -> {file} does not decode ({type(e).__name__}: {e})"]
    return []


def url_to_file(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


# ----------------------------------------------------------------------------- DevTools over a pipe
class CDPError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (fd 3: commands in, fd 4: replies out)."""

    def __init__(self, exe: str, profile: str) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def child_fds() -> None:
            # Move both ends above 4 first so that the dup2s cannot clobber each other,
            # then place them at 3 and 4 without close-on-exec.
            r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.close(r)
            os.close(w)

        # stderr goes to a file: a pipe nobody reads could fill up and stall the browser
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, close_fds=False, preexec_fn=child_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    self._stderr.seek(0)
                    err = self._stderr.read().decode(errors="replace")[-2000:]
                    raise CDPError(f"Chromium closed the DevTools pipe (exit {self.proc.poll()}): {err}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = TIMEOUT_S) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str | None, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["method"] == method and ev.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()


# What a reader's browser shows once scripts ran: wait for fonts, MathJax and every image.
INSPECT_JS = """
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (document.fonts) await Promise.race([document.fonts.ready, sleep(5000)]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await Promise.race([MathJax.startup.promise, sleep(10000)]);
  const imgs = Array.from(document.images);
  for (const img of imgs) img.loading = 'eager';
  await Promise.race([Promise.all(imgs.map(i => i.decode().catch(() => null))), sleep(10000)]);
  return {
    url: location.href, title: document.title,
    imgs: imgs.map(i => ({src: i.getAttribute('src'), url: i.currentSrc || i.src, complete: i.complete,
                          width: i.naturalWidth, height: i.naturalHeight})),
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
  };
})()
"""

SCROLL_JS = """
(async () => {
  const img = document.images[%d];
  img.scrollIntoView({block: 'center'});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return window.scrollY;
})()
"""


def _evaluate(b: Chromium, session: str, expr: str) -> Any:
    r = b.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        raise CDPError(f"page script failed: {r['exceptionDetails'].get('text')} "
                       f"{r['exceptionDetails'].get('exception', {}).get('description', '')}")
    return r["result"].get("value")


def render_cdp(b: Chromium, page: Path, html_root: Path, shots: list[Path]) -> tuple[list[str], list[str]]:
    """Open ``page``, follow a meta refresh, check what loaded, take screenshots. Returns (problems, notes)."""
    rel = _rel(page, html_root)
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    problems, notes = [], []
    try:
        for domain in ("Page", "Network", "Runtime"):
            b.send(f"{domain}.enable", session=session)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}, session)
        b.events.clear()
        b.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
        b.wait_event("Page.loadEventFired", session)
        if parse_page(page).refresh:  # index.html redirects to the root page of the book
            b.wait_event("Page.loadEventFired", session)
        info = _evaluate(b, session, INSPECT_JS)
        shown = url_to_file(info["url"])
        if shown is not None and shown.resolve() != page.resolve():  # followed a redirect
            rel = f"{rel} -> {_rel(shown, html_root)}"
        notes.append(f"{rel}: title {info['title']!r}, {len(info['imgs'])} image(s), "
                     f"{info['typeset']} typeset equation(s)")
        requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                    for e in b.events if e["method"] == "Network.requestWillBeSent"}
        for e in b.events:
            if e["method"] == "Network.loadingFailed":
                url = requests.get(e["params"]["requestId"], "?")
                if url.startswith("file:"):
                    problems.append(f"{rel}: {url} failed to load ({e['params'].get('errorText')})")
            elif e["method"] == "Runtime.exceptionThrown":
                d = e["params"]["exceptionDetails"]
                notes.append(f"{rel}: JavaScript exception: {d.get('exception', {}).get('description', d.get('text'))}")
        for img in info["imgs"]:
            if not (img["complete"] and img["width"] > 0 and img["height"] > 0):
                problems.append(f"{rel}: <img src={img['src']!r}> did not load in the browser "
                                f"(complete={img['complete']}, naturalWidth={img['width']})")
            problems += check_image_file(rel, img["src"], url_to_file(img["url"]))
        if info["math"] and not info["typeset"]:
            problems.append(f"{rel}: {info['math']} equation(s) but none typeset by MathJax")
        shot = _capture(b, session, shots[0])
        notes.append(f"{rel}: screenshot {shot}")
        if len(shots) > 1 and info["imgs"]:
            _evaluate(b, session, SCROLL_JS % 0)
            notes.append(f"{rel}: screenshot at the first figure {_capture(b, session, shots[1])}")
        elif len(shots) > 1:
            problems.append(f"{rel}: no <img> in the rendered page")
    finally:
        b.events.clear()
        b.send("Target.closeTarget", {"targetId": target})
    return problems, notes


def _capture(b: Chromium, session: str, path: Path) -> Path:
    data = b.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
    path.write_bytes(base64.b64decode(data))
    return path


# ----------------------------------------------------------------------------- command-line fallback
def render_cli(exe: str, page: Path, html_root: Path, shots: list[Path]) -> tuple[list[str], list[str]]:
    """Chromium's --screenshot and --dump-dom (virtual time budget); images checked on disk."""
    rel = _rel(page, html_root)
    problems, notes = [], []
    base = [*FLAGS, "--virtual-time-budget=10000"]
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([exe, *base, f"--user-data-dir={prof}", f"--screenshot={shots[0]}",
                            page.resolve().as_uri()], capture_output=True, timeout=120)
    if r.returncode != 0 or not shots[0].is_file():
        problems.append(f"{rel}: chromium --screenshot failed (exit {r.returncode}): "
                        f"{r.stderr.decode(errors='replace')[-500:]}")
    else:
        notes.append(f"{rel}: screenshot {shots[0]}")
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([exe, *base, f"--user-data-dir={prof}", "--dump-dom", page.resolve().as_uri()],
                           capture_output=True, timeout=120)
    dom = r.stdout.decode(errors="replace")
    if r.returncode != 0 or "<html" not in dom.lower():
        return problems + [f"{rel}: chromium --dump-dom failed (exit {r.returncode})"], notes
    parser = _PageParser()
    parser.feed(dom)
    base_page = page
    if parser.refresh and (page.parent / parser.refresh).is_file():  # a redirect page: check its target
        base_page = page.parent / parser.refresh
        parser = parse_page(base_page)
    imgs = [u for tag, u in parser.links if tag == "img"]
    notes.append(f"{rel}: dumped DOM has {len(imgs)} image(s)")
    for src in imgs:
        file = None if EXTERNAL.match(src) else _target(base_page, src, html_root)[0]
        problems += check_image_file(rel, src, file)
    if len(shots) > 1 and not imgs:
        problems.append(f"{rel}: no <img> in the rendered page")
    return problems, notes


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the built book (default: _build/html)")
    ap.add_argument("--out", default=str(ROOT / "_build" / "screenshots"), help="where screenshots go")
    ap.add_argument("--page", help="figure page to render, relative to --html (default: first with an <img> "
                                   "under book/generated/)")
    ap.add_argument("--cli", action="store_true", help="use --screenshot/--dump-dom instead of DevTools")
    args = ap.parse_args(argv)

    exe = CHROMIUM if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK) else None
    if exe is None:
        print(f"check_book: Chromium not found at {CHROMIUM}. Install Debian's package (as root):\n"
              f"    {INSTALL_HINT}", file=sys.stderr)
        return 1
    html_root = Path(args.html)
    index = html_root / "index.html"
    if not index.is_file():
        print(f"check_book: {index} does not exist; build the book first: "
              "jupyter-book build . -W -n --keep-going", file=sys.stderr)
        return 1

    problems = check_links(html_root)
    fig = figure_page(html_root, args.page)
    if fig is None:
        problems.append(("--page " + args.page + " does not exist") if args.page else
                        "no page under book/generated/ shows an <img>: the figures are missing. Were the notebooks "
                        "executed (python scripts/notebooks.py execute) with MPLBACKEND=Agg in the environment? "
                        "Then plt.show() draws nothing into the notebook.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(index, [out / "index.png"])]
    if fig is not None:
        stem = fig.stem
        jobs.append((fig, [out / f"{stem}.png", out / f"{stem}-figure.png"]))

    notes: list[str] = []
    use_cli = args.cli
    if not use_cli:
        profile = tempfile.mkdtemp(prefix="check_book-")
        b = None
        try:
            b = Chromium(exe, profile)
            for page, shots in jobs:
                p, n = render_cdp(b, page, html_root, shots)
                problems += p
                notes += n
        except (CDPError, OSError, KeyError) as e:
            print(f"check_book: DevTools session failed ({e}); falling back to --screenshot/--dump-dom",
                  file=sys.stderr)
            use_cli = True
        finally:
            if b is not None:
                b.close()
            shutil.rmtree(profile, ignore_errors=True)
    if use_cli:
        for page, shots in jobs:
            p, n = render_cli(exe, page, html_root, shots)
            problems += p
            notes += n

    for n in notes:
        print(n)
    if problems:
        print(f"\ncheck_book: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("check_book: OK (links resolve, images load, screenshots in " + str(out) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
