"""Write the claims ledger and the final numbers of the committed results as CSV files.

    python scripts/export_results.py [--out results] [--runs results/runs] [--check]

``results/ledger.csv``: one row per sub-claim of the ledger (``claims.evaluate_claims`` at
``Scope("cpu", "mnist")`` with each dataset's ``BOOK_SEEDS``, as the ledger page);
``results/final_numbers.csv``: one row per run family of the book (``book_families("cpu")``),
see :mod:`advsel.repro.export`.  Only cached runs are read (``ADVSEL_CACHED_ONLY=1``: a missing
run is an error, nothing is trained).  ``--check`` writes nothing and exits 1 when a committed
file differs from what the runs give.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("ledger.csv", "final_numbers.csv")


def tables() -> dict[str, str]:
    """The two files' contents, from the run cache that ``$ADVSEL_RUNS`` names (set by :func:`main`)."""
    from advsel.repro import BOOK_SEEDS, book_families, claims, export, pages
    from advsel.repro.scope import Scope

    evaluated = claims.evaluate_claims(Scope("cpu", "mnist", seeds=BOOK_SEEDS["mnist"]), seeds_for=BOOK_SEEDS)
    return {"ledger.csv": export.csv_text(export.ledger_rows(evaluated, pages.titles(ROOT / "notebooks"))),
            "final_numbers.csv": export.csv_text(export.final_numbers(book_families("cpu")))}


def write(text: str, path: Path) -> None:
    """``text`` to ``path`` as UTF-8, atomically (a temporary file copied into place)."""
    from advsel.runs import atomic_copy

    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", suffix=".csv") as tmp:
        tmp.write(text)
        tmp.flush()
        atomic_copy(tmp.name, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results", help="folder of the CSV files (default results/)")
    ap.add_argument("--runs", type=Path, default=ROOT / "results" / "runs",
                    help="folder of the run results (default results/runs/)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file in --out differs")
    args = ap.parse_args(argv)
    if not args.runs.is_dir():
        ap.error(f"--runs {args.runs}: not a folder of run results")
    os.environ["ADVSEL_RUNS"] = str(args.runs)
    os.environ["ADVSEL_CACHED_ONLY"] = "1"
    texts = tables()
    if args.check:
        stale = [name for name, text in texts.items()
                 if not (args.out / name).is_file() or (args.out / name).read_bytes() != text.encode("utf-8")]
        for name in stale:
            print(f"{args.out / name} differs from the runs in {args.runs}: run python scripts/export_results.py")
        return 1 if stale else 0
    for name, text in texts.items():
        write(text, args.out / name)
        print(f"wrote {args.out / name} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
