"""The rate study's data: Bank of Korea decisions -> rate regimes, and a learner's photo table.

* the Monetary Policy Board's base-rate decisions as package data and
  :func:`regime`, which maps a photo date to ``raising``/``holding``/``cutting``,
  and :func:`label`, the source's label (1 raising, 0 holding);
* :func:`read_photo_table` for a learner's own photos (a folder plus a CSV with
  ``file,date`` and optional ``source,event``), reporting every skipped row by line;
* the time confound's tools: :func:`synthetic_event_dates` (a calendar for a
  stand-in without dates), :func:`placebo_boundary` (a fake regime change inside
  one regime) and :func:`forward_time_split` (train before a date, a gap, test after).

The face featurizers are in :mod:`helpers.faces`.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["CALENDAR_FILE", "REGIMES", "LABELS", "DATE_FORMATS", "SOURCE_PERIOD", "CalendarError", "Decision",
           "load_calendar", "parse_date", "regime", "label", "Photo", "PhotoTable", "read_photo_table",
           "synthetic_event_dates", "Placebo", "placebo_boundary", "ForwardSplit", "forward_time_split"]

CALENDAR_FILE = Path(__file__).with_name("bok_base_rate_decisions.csv")
REGIMES: dict[str, str] = {"raise": "raising", "hold": "holding", "cut": "cutting"}
LABELS: dict[str, int] = {"raising": 1, "holding": 0}
"""The source's label: 1 while the bank was raising its rate, 0 while holding."""

DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d")
SOURCE_PERIOD: tuple[date, date] = (date(2022, 4, 22), date(2024, 4, 16))
"""The first and the last photo date of the source study (COURSE.md)."""


class CalendarError(ValueError):
    """A date outside the decision calendar."""


# --------------------------------------------------------------------------- calendar

@dataclass(frozen=True)
class Decision:
    """One Monetary Policy Board base-rate decision."""

    date: date
    decision: str  # "raise" | "hold" | "cut"
    rate: float  # base rate in percent after the decision


@lru_cache(maxsize=1)
def load_calendar(path: str | Path = CALENDAR_FILE) -> tuple[Decision, ...]:
    """The decisions in date order (from ``bok_base_rate_decisions.csv``)."""
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["decision"] not in REGIMES:
                raise ValueError(f"{path}: unknown decision {row['decision']!r}")
            out.append(Decision(date.fromisoformat(row["date"]), row["decision"], float(row["rate"])))
    return tuple(sorted(out, key=lambda d: d.date))


def parse_date(value: str | date | datetime) -> date:
    """A date from ``YYYY-MM-DD`` (also ``YYYY.MM.DD``, ``YYYY/MM/DD``, ``YYYYMMDD``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unparsable date {value!r} (expected YYYY-MM-DD)")


def regime(when: str | date | datetime) -> str:
    """The rate regime on ``when``: ``"raising"``, ``"holding"`` or ``"cutting"``.

    The regime is set by the latest decision on or before the date; a decision
    counts from its own day (the governor's press photos on a decision day are
    taken after the announcement). So photos from the first raise up to the day
    before the first hold (2023-02-23) are ``raising``, from that hold up to the
    day before the first cut (2024-10-11) ``holding``, then ``cutting``.
    Raises :class:`CalendarError` for a date before the first or after the last
    decision in the calendar (later regimes are unknown to it).
    """
    d = parse_date(when)
    cal = load_calendar()
    first, last = cal[0].date, cal[-1].date
    if d < first:
        raise CalendarError(f"{d} is before the decision calendar, which starts on {first}")
    if d > last:
        raise CalendarError(f"{d} is after the decision calendar, which ends on {last} "
                            f"(add later decisions to {CALENDAR_FILE.name} to cover it)")
    current = cal[0]
    for dec in cal:
        if dec.date <= d:
            current = dec
        else:
            break
    return REGIMES[current.decision]


def label(when: str | date | datetime) -> int | None:
    """The source's label for a date: 1 raising, 0 holding, None otherwise."""
    return LABELS.get(regime(when))


# --------------------------------------------------------------------------- own photos

@dataclass(frozen=True)
class Photo:
    """One usable row of a photo table."""

    path: Path
    date: date
    regime: str
    source: str = ""
    event: str = ""  # defaults to the date: photos of one press event share it


@dataclass
class PhotoTable:
    """The photos read from a CSV and the rows that were skipped (line, reason)."""

    photos: list[Photo] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def report(self) -> str:
        """A short text: how many rows were used and why the others were skipped."""
        lines = [f"{len(self.photos)} photos read, {len(self.problems)} rows skipped"]
        lines += [f"  line {n}: {why}" for n, why in self.problems]
        return "\n".join(lines)


def _decode_table(csv_path: Path) -> str:
    """The CSV's text: UTF-8 (with or without BOM), else Korean Excel's cp949, else a clear error."""
    raw = csv_path.read_bytes()
    first_error = len(raw)
    for enc in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            first_error = min(first_error, exc.start)
    line = raw[:first_error].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1  # any line ending
    raise ValueError(f"{csv_path}: line {line} is neither UTF-8 nor cp949 text. Save the table as "
                     "'CSV UTF-8' (Excel: Save As > CSV UTF-8) and try again.")


def read_photo_table(folder: str | Path, csv_path: str | Path | None = None) -> PhotoTable:
    """Read ``photos.csv`` (``file,date`` and optional ``source,event``) for ``folder``.

    ``file`` is relative to ``folder``. Skipped and reported with their line
    number in the CSV (the header is line 1): a missing file, a path that leads
    outside the folder (``..``, absolute, or a link pointing out), a file that
    is not a readable image, an unparsable date, a date outside the decision
    calendar, and a file listed twice or the same photo (the same bytes) under
    another name (the first row counts: the same photo on both sides of a split
    would leak). The CSV may be UTF-8 or cp949 (Korean Excel).
    """
    import io

    from helpers.datasets import image_problem

    folder = Path(folder)
    csv_path = Path(csv_path) if csv_path else folder / "photos.csv"
    table = PhotoTable()
    root = folder.resolve()
    seen: dict[Path, int] = {}
    seen_bytes: dict[str, int] = {}  # sha256 of the file: the same photo saved under two names
    reader = csv.DictReader(io.StringIO(_decode_table(csv_path), newline=""))
    fields = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = {"file", "date"} - set(fields)
    if missing:
        raise ValueError(f"{csv_path}: the header needs columns file,date "
                         f"(missing: {', '.join(sorted(missing))}; found: {', '.join(fields)})")
    reader.fieldnames = fields
    for row in reader:
        line = reader.line_num
        name = (row.get("file") or "").strip()
        path = folder / name
        if not name or not path.is_file():
            table.problems.append((line, f"file not found: {name!r}"))
            continue
        real = path.resolve()
        if Path(name).is_absolute() or not real.is_relative_to(root):
            table.problems.append((line, f"{name!r} leads outside {folder}: copy the photo into the folder"))
            continue
        if real in seen:
            table.problems.append((line, f"{name!r} is listed again (first on line {seen[real]}); this row is ignored"))
            continue
        why = image_problem(path)
        if why:
            table.problems.append((line, f"{name!r}: {why}"))
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen_bytes:
            table.problems.append((line, f"{name!r} is the same photo (the same bytes) as line {seen_bytes[digest]}; "
                                         "this row is ignored"))
            continue
        try:
            d = parse_date(row.get("date") or "")
            reg = regime(d)
        except (ValueError, CalendarError) as exc:
            table.problems.append((line, str(exc)))
            continue
        seen[real] = line
        seen_bytes[digest] = line
        table.photos.append(Photo(path, d, reg, (row.get("source") or "").strip(),
                                  (row.get("event") or "").strip() or d.isoformat()))
    if not table.photos:
        raise ValueError(f"{csv_path}: no usable photo ({len(table.problems)} rows skipped).\n{table.report()}")
    return table


# --------------------------------------------------------------------------- the time confound

def synthetic_event_dates(groups: np.ndarray, y: np.ndarray, seed: int = 0,
                          period: tuple[date, date] = SOURCE_PERIOD) -> np.ndarray:
    """One made-up press-event date per group, in the regime its label names (``datetime64[D]`` per photo).

    For a stand-in without dates (the ORL faces): a label-1 group gets a distinct
    day of the raising regime inside ``period``, a label-0 group a distinct day of
    the holding regime, so the label becomes a step function of the date as in the
    source. Each group must carry one label (as in :func:`helpers.evaluation.grouped_splits`).
    """
    from helpers.evaluation import group_labels

    groups = np.asarray(groups)
    uniq, labels_of = group_labels(groups, y)
    glabel = [int(v) for v in labels_of]
    days = np.arange(np.datetime64(period[0], "D"), np.datetime64(period[1], "D") + 1)
    names = np.array([regime(d.item()) for d in days])
    rng = np.random.default_rng(seed)
    group_date: dict[object, np.datetime64] = {}
    for value, name in ((1, "raising"), (0, "holding")):
        members = [g for g, lab in zip(uniq, glabel, strict=True) if lab == value]
        pool = days[names == name]
        if len(members) > len(pool):
            raise ValueError(f"{len(members)} groups with label {value} but only {len(pool)} {name} days in {period}")
        picked = np.sort(rng.choice(pool, size=len(members), replace=False))
        for g, d in zip(rng.permutation(np.array(members, dtype=object)), picked, strict=True):
            group_date[g] = d
    return np.array([group_date[g] for g in groups], dtype="datetime64[D]")


class Placebo(NamedTuple):
    """A fake regime boundary: which photos it uses, their fake label, and the boundary date."""

    index: np.ndarray  # positions (in the arrays given) of the photos of the one regime
    label: np.ndarray  # 0 before the boundary, 1 on or after it
    boundary: np.datetime64


def placebo_boundary(dates: np.ndarray, y: np.ndarray, within: int = 0) -> Placebo:
    """Split the photos of one regime (label ``within``) at the median of their dates.

    Nothing changed at that date (the bank held its rate throughout), so a
    pipeline that "predicts" before/after as well as it predicts the real label
    is reading the date (season, clothing, agency, event), not the decision.
    The boundary is the median *event day* (distinct dates), so no day is split;
    photos on the boundary day count as "after".
    """
    dates, y = np.asarray(dates, dtype="datetime64[D]"), np.asarray(y)
    index = np.flatnonzero(y == within)
    days = np.unique(dates[index])
    if len(days) < 2:
        raise ValueError(f"the photos with label {within} span {len(days)} distinct date(s); "
                         "a placebo boundary needs at least two")
    boundary = days[len(days) // 2]
    return Placebo(index, (dates[index] >= boundary).astype(int), boundary)


class ForwardSplit(NamedTuple):
    """Train before ``cutoff``, nothing in the gap, test from ``test_from`` on."""

    train: np.ndarray
    test: np.ndarray
    cutoff: np.datetime64
    test_from: np.datetime64
    dropped: int  # photos inside the gap


def forward_time_split(dates: np.ndarray, y: np.ndarray, cutoff: str | date | np.datetime64 | None = None,
                       gap_days: int = 28, train_share: float = 0.7) -> ForwardSplit:
    """A blocked, forward split: train on photos before ``cutoff``, drop a gap, test after it.

    Every test photo is at least ``gap_days`` later than every training photo
    (photos of one event or week stay apart). ``cutoff=None`` puts it at the
    ``train_share`` quantile of the distinct dates. Raises ``ValueError`` naming
    the class and the side when a class has no photo on one side: with a label
    that is a step function of the date (raising, then holding) that happens for
    every cutoff, which is itself the finding.
    """
    dates, y = np.asarray(dates, dtype="datetime64[D]"), np.asarray(y)
    if gap_days < 0:
        raise ValueError(f"gap_days must be >= 0, got {gap_days}")
    if cutoff is None:
        days = np.unique(dates)
        cutoff = days[min(len(days) - 1, max(1, int(round(train_share * len(days)))))]
    cut = np.datetime64(parse_date(cutoff) if not isinstance(cutoff, np.datetime64) else cutoff, "D")
    test_from = cut + np.timedelta64(gap_days, "D")
    train, test = np.flatnonzero(dates < cut), np.flatnonzero(dates >= test_from)
    for side, idx in (("training", train), ("test", test)):
        for c in np.unique(y):
            if not np.any(y[idx] == c):
                raise ValueError(
                    f"forward split (train before {cut}, {gap_days}-day gap, test from {test_from}): "
                    f"class {c} has no photo on the {side} side ({len(train)} training, {len(test)} test photos; "
                    f"class {c} is dated {dates[y == c].min()} to {dates[y == c].max()}). "
                    "Move the cutoff (cutoff=...) or shorten the gap (gap_days=...) so that both classes fall "
                    "on both sides; if no cutoff can (a label that is a step function of the date, such as "
                    "raising-then-holding), this label cannot be tested forward in time: test a placebo "
                    "boundary inside one regime instead (rate_study.placebo_boundary).")
    return ForwardSplit(train, test, cut, test_from, int(len(y) - len(train) - len(test)))
