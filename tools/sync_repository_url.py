"""Copy ``repository.url`` from ``_config.yml`` to every place that repeats it.

``_config.yml`` is the single source of truth for the repository URL (change it
there when you fork). This script rewrites the other copies:

* the Colab cell of each ``notebooks/*.ipynb`` (``tlbook-helpers[colab] @ git+URL``),
* the ``git clone URL`` line (and the ``cd`` line after it) of ``book/setup.md``,
* ``README.md``, where it has a ``git clone`` or ``git+`` URL.

    python tools/sync_repository_url.py          # rewrite what disagrees (idempotent)
    python tools/sync_repository_url.py --check  # exit 1 and name each file that disagrees

A notebook is rewritten only when its Colab cell changes, with the formatting
Jupyter uses (``indent=1``, non-ASCII kept, final newline), so the diff is that cell.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COLAB_MARKER = '"google.colab" in sys.modules'
# The URL after ``git+`` (pip's VCS form) or ``git clone``: up to a quote, whitespace, ``#`` or ``@`` (a ref).
_PIP_URL = re.compile(r"(?<=git\+)[a-z][a-z0-9+.-]*://[^\s\"'#@]+", re.IGNORECASE)
_CLONE = re.compile(r"(git clone )([^\s`'\"]+)([ \t]*\r?\n[ \t]*cd )([^\s`'\"]+)|(git clone )([^\s`'\"]+)")


def config_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``, without a trailing slash."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    url = str((config.get("repository") or {}).get("url") or "").strip().rstrip("/")
    if not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", url, re.IGNORECASE):
        raise ValueError(f"_config.yml: repository.url is missing or not a URL: {url!r}")
    return url


def _folder_name(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".git") else name


def colab_cell_index(nb: dict) -> int | None:
    """Index of the notebook's Colab install cell (the first code cell that tests for Colab)."""
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and COLAB_MARKER in "".join(cell.get("source", [])):
            return i
    return None


def _rewrite_pip(text: str, url: str) -> str:
    return _PIP_URL.sub(url, text)


def _rewrite_clone(text: str, url: str) -> str:
    def repl(m: re.Match) -> str:
        if m.group(1):
            return f"{m.group(1)}{url}{m.group(3)}{_folder_name(url)}"
        return f"{m.group(5)}{url}"

    return _CLONE.sub(repl, text)


def _urls(text: str) -> list[str]:
    found = _PIP_URL.findall(text)
    for m in _CLONE.finditer(text):
        found.append(m.group(2) or m.group(6))
    return found


def _targets(root: Path) -> list[tuple[Path, bool]]:
    """(path, required): notebooks and setup.md must hold the URL; README only where it has one."""
    out = [(p, True) for p in sorted((root / "notebooks").glob("*.ipynb"))]
    out.append((root / "book" / "setup.md", True))
    out.append((root / "README.md", False))
    return out


def _sync_notebook(path: Path, url: str, write: bool) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    idx = colab_cell_index(nb)
    if idx is None:
        return [f"{path}: no Colab cell (a code cell testing {COLAB_MARKER})"]
    cell = nb["cells"][idx]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    if not _PIP_URL.search(source):
        return [f"{path}: the Colab cell has no `git+URL` to install from"]
    new = _rewrite_pip(source, url)
    if new == source:
        return []
    problems = [f"{path}: Colab cell installs from {u}, _config.yml says {url}"
                for u in dict.fromkeys(_PIP_URL.findall(source)) if u != url]
    if write:
        cell["source"] = new.splitlines(keepends=True) if isinstance(cell["source"], list) else new
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return problems


def _sync_text(path: Path, url: str, write: bool, required: bool) -> list[str]:
    if not path.exists():
        return [f"{path}: missing"] if required else []
    text = path.read_text(encoding="utf-8")
    if not _urls(text):
        return [f"{path}: no `git clone URL` line"] if required else []
    new = _rewrite_clone(_rewrite_pip(text, url), url)
    if new == text:
        return []
    problems = [f"{path}: has {u}, _config.yml says {url}" for u in dict.fromkeys(_urls(text)) if u != url]
    problems = problems or [f"{path}: the folder after `git clone` is not {_folder_name(url)}"]
    if write:
        path.write_text(new, encoding="utf-8")
    return problems


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring every copy in line with ``_config.yml``; returns what disagreed (before any rewrite).

    With ``write=False`` nothing is written: the list is what ``--check`` reports.
    """
    root = Path(root)
    url = config_url(root)
    problems: list[str] = []
    for path, required in _targets(root):
        if path.suffix == ".ipynb":
            problems += _sync_notebook(path, url, write)
        else:
            problems += _sync_text(path, url, write, required)
    return [p.replace(f"{root}/", "") for p in problems]


def check(root: Path = ROOT) -> list[str]:
    """What disagrees with ``_config.yml`` (read only); empty when everything agrees."""
    return sync(root, write=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/sync_repository_url.py", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any file disagrees")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root (default: this checkout)")
    args = parser.parse_args(argv)
    try:
        url = config_url(args.root)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    problems = sync(args.root, write=not args.check)
    if args.check:
        for p in problems:
            print(p)
        if problems:
            print(f"{len(problems)} place(s) disagree with _config.yml: run `make sync-url`.", file=sys.stderr)
            return 1
        print(f"every copy of the repository URL is {url}")
        return 0
    for p in problems:
        print(f"fixed  {p}")
    problems = check(args.root)
    for p in problems:  # what a rewrite cannot fix: a missing cell or clone line
        print(f"cannot fix  {p}", file=sys.stderr)
    if not problems:
        print(f"every copy of the repository URL is {url}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
