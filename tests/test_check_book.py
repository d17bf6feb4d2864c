"""The static link check of scripts/check_book.py on a tiny fake book (no browser)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_book", REPO / "scripts" / "check_book.py")
check_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_book)

_buf = io.BytesIO()
Image.new("RGB", (4, 3), "red").save(_buf, format="PNG")
PNG = _buf.getvalue()


def write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><head></head><body>{body}</body></html>", encoding="utf-8")


def test_static_check_reports_exactly_the_broken_links(tmp_path: Path) -> None:
    write(tmp_path / "index.html", """
        <h1 id="top">Book</h1>
        <a href="page.html">good file</a>
        <a href="page.html#sec">good fragment</a>
        <a href="book/">directory: its index.html</a>
        <a href="#top">good same-page fragment</a>
        <a href="#">bare hash</a>
        <a href="https://example.com/missing.html">external</a>
        <a href="mailto:someone@example.com">mail</a>
        <img src="data:image/png;base64,AAAA">
        <img src="_images/fig.png">
        <a href="missing.html">broken file</a>
        <a href="page.html#nowhere">broken fragment</a>
        <a href="#gone">broken same-page fragment</a>
        <img src="_images/absent.png">
    """)
    write(tmp_path / "page.html", '<h2 id="sec">Section</h2><a name="old"></a><a href="index.html#top">back</a>')
    write(tmp_path / "book" / "index.html", '<a href="../page.html#old">named anchor</a>')
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "fig.png").write_bytes(PNG)
    # theme templates and page sources are not pages: their links are not checked
    write(tmp_path / "_static" / "template.html", '<a href="{{ pathto(master_doc) }}">template</a>')
    write(tmp_path / "_sources" / "index.html", '<a href="nothing.html">source</a>')

    problems = check_book.check_links(tmp_path)

    assert sorted(p.split(" -> ")[0] for p in problems) == [
        "index.html: <a> #gone",
        "index.html: <a> missing.html",
        "index.html: <a> page.html#nowhere",
        "index.html: <img> _images/absent.png",
    ]
    assert any("no id 'nowhere' in page.html" in p for p in problems)
    assert any("missing file missing.html" in p for p in problems)


def test_image_check_decodes(tmp_path: Path) -> None:
    good, bad, empty = tmp_path / "good.png", tmp_path / "bad.png", tmp_path / "empty.png"
    good.write_bytes(PNG)
    bad.write_bytes(PNG[:20])
    empty.write_bytes(b"")
    assert check_book.check_image("p", "good.png", good) == []
    assert "does not decode" in check_book.check_image("p", "bad.png", bad)[0]
    assert "empty file" in check_book.check_image("p", "empty.png", empty)[0]
    assert "missing file" in check_book.check_image("p", "x.png", tmp_path / "x.png")[0]
    assert "not a local file" in check_book.check_image("p", "https://example.com/a.png", None)[0]
