"""helpers.rate_study: the decision calendar and the learner's photo table, with hostile rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from helpers import rate_study
from helpers.rate_study import CalendarError, read_photo_table, regime

# --------------------------------------------------------------------------- calendar

def test_calendar_matches_course_facts() -> None:
    cal = rate_study.load_calendar()
    assert len(cal) == 22
    assert (cal[0].date, cal[0].decision, cal[0].rate) == (date(2022, 4, 14), "raise", 1.50)
    assert [d.decision for d in cal].count("raise") == 7
    assert [d.decision for d in cal].count("hold") == 13
    assert [d.decision for d in cal].count("cut") == 2
    assert (cal[-1].date, cal[-1].rate) == (date(2024, 11, 28), 3.00)
    assert max(d.rate for d in cal) == 3.50


@pytest.mark.parametrize("when, expected", [
    ("2022-04-14", "raising"),   # first decision in the calendar
    ("2022-04-22", "raising"),   # first photo of the source study
    ("2023-01-13", "raising"),   # last raise
    ("2023-02-22", "raising"),   # day before the first hold
    ("2023-02-23", "holding"),   # first hold counts from its own day
    ("2023-07-13", "holding"),
    ("2024-04-16", "holding"),   # last photo of the source study
    ("2024-10-10", "holding"),   # day before the first cut
    ("2024-10-11", "cutting"),
    ("2024-11-28", "cutting"),   # last decision in the calendar
])
def test_regime_boundaries(when: str, expected: str) -> None:
    assert regime(when) == expected


def test_regime_outside_calendar_is_a_clear_error() -> None:
    with pytest.raises(CalendarError, match="before the decision calendar"):
        regime("2022-04-13")
    with pytest.raises(CalendarError, match="after the decision calendar"):
        regime("2024-11-29")


def test_labels_and_date_formats() -> None:
    assert rate_study.label("2022-06-01") == 1
    assert rate_study.label(date(2023, 6, 1)) == 0
    assert rate_study.label("2024-10-20") is None
    assert rate_study.parse_date("2023.02.23") == rate_study.parse_date("20230223") == date(2023, 2, 23)
    with pytest.raises(ValueError, match="unparsable"):
        rate_study.parse_date("23 Feb")


# --------------------------------------------------------------------------- own photos

def _png(path: Path, value: int = 128) -> None:
    from PIL import Image

    Image.fromarray(np.full((20, 16, 3), value, np.uint8)).save(path)


def test_read_photo_table_reports_bad_rows_by_line(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png", 10)
    (tmp_path / "photos.csv").write_text(
        "file,date,source,event\n"          # line 1
        "a.png,2022-05-02,Newsis,\n"        # 2 ok (event defaults to the date)
        "missing.png,2022-05-02,,\n"        # 3 missing file
        "b.png,not a date,,\n"              # 4 unparsable date
        "b.png,2021-12-31,,\n"              # 5 before the calendar
        "b.png,2023.03.02,Yonhap,mpb-03\n"  # 6 ok
        ",2023-03-02,,\n",                  # 7 empty file name
        encoding="utf-8")
    table = read_photo_table(tmp_path)
    assert [p.path.name for p in table.photos] == ["a.png", "b.png"]
    assert [p.regime for p in table.photos] == ["raising", "holding"]
    assert table.photos[0].event == "2022-05-02" and table.photos[1].event == "mpb-03"
    assert table.photos[1].source == "Yonhap"
    assert [n for n, _ in table.problems] == [3, 4, 5, 7]
    assert "file not found" in table.problems[0][1]
    assert "unparsable" in table.problems[1][1]
    assert "before the decision calendar" in table.problems[2][1]
    assert "2 photos read, 4 rows skipped" in table.report()


def test_read_photo_table_needs_file_and_date_columns(tmp_path: Path) -> None:
    (tmp_path / "photos.csv").write_text("name,when\nx.png,2023-01-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match="file,date"):
        read_photo_table(tmp_path)


def test_photo_table_refuses_duplicates_outside_paths_and_non_images(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    _png(photos / "a.png")
    _png(tmp_path / "outside.png")
    (photos / "link.png").symlink_to(tmp_path / "outside.png")
    (photos / "fake.png").write_text("not an image")
    (photos / "photos.csv").write_text(
        "file,date\n"
        "a.png,2022-05-02\n"          # 2 ok
        "a.png,2023-06-01\n"          # 3 the same file again, another date and label
        "../outside.png,2022-05-02\n"  # 4 outside the folder
        "link.png,2022-05-02\n"       # 5 a link pointing outside
        "fake.png,2022-05-02\n",      # 6 a text file named .png
        encoding="utf-8")
    table = read_photo_table(photos)
    assert [p.path.name for p in table.photos] == ["a.png"]
    why = dict(table.problems)
    assert "listed again (first on line 2)" in why[3]
    assert "leads outside" in why[4] and "leads outside" in why[5]
    assert "not a readable image" in why[6]


def test_photo_table_from_korean_excel_cp949(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    (tmp_path / "photos.csv").write_bytes("file,date,source\na.png,2022-05-02,뉴시스\n".encode("cp949"))
    table = read_photo_table(tmp_path)
    assert table.photos[0].source == "뉴시스"


def test_photo_table_with_no_usable_photo_stops_with_the_report(tmp_path: Path) -> None:
    (tmp_path / "photos.csv").write_text("file,date\nmissing.png,2022-05-02\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no usable photo") as err:
        read_photo_table(tmp_path)
    assert "line 2: file not found" in str(err.value)


# --------------------------------------------------------------------------- the time confound

def _dated_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """12 events of 3 photos: 4 raising events (2022), 8 holding events (2023-03 .. 2024-03)."""
    days = (["2022-05-02", "2022-07-14", "2022-10-13", "2023-01-16"]
            + ["2023-03-02", "2023-04-12", "2023-05-26", "2023-07-14",
               "2023-08-25", "2023-10-20", "2024-01-12", "2024-03-04"])
    dates = np.repeat(np.array(days, dtype="datetime64[D]"), 3)
    y = np.array([rate_study.label(str(d)) for d in dates])
    groups = np.repeat(np.arange(len(days)), 3)
    return dates, y, groups


def test_synthetic_event_dates_put_each_group_in_its_regime() -> None:
    groups = np.repeat(np.arange(10), 4)
    y = np.isin(groups, [1, 4, 7]).astype(int)
    dates = rate_study.synthetic_event_dates(groups, y, seed=3)
    assert dates.dtype == np.dtype("datetime64[D]") and len(dates) == 40
    for g in range(10):
        assert len(np.unique(dates[groups == g])) == 1              # one event date per group
    assert len(np.unique(dates)) == 10                              # distinct events
    assert [rate_study.label(str(d)) for d in dates] == y.tolist()  # the label is the date's regime
    lo, hi = rate_study.SOURCE_PERIOD
    assert dates.min() >= np.datetime64(lo) and dates.max() <= np.datetime64(hi)
    np.testing.assert_array_equal(dates, rate_study.synthetic_event_dates(groups, y, seed=3))
    with pytest.raises(ValueError, match="more than one label"):
        rate_study.synthetic_event_dates(np.array([0, 0]), np.array([0, 1]))


def test_placebo_boundary_splits_one_regime_at_its_median_event_day() -> None:
    dates, y, _ = _dated_table()
    placebo = rate_study.placebo_boundary(dates, y, within=0)
    assert placebo.boundary == np.datetime64("2023-08-25")        # 8 holding days: the 5th is the median
    np.testing.assert_array_equal(placebo.index, np.arange(12, 36))  # holding photos only
    assert placebo.label.tolist() == [0] * 12 + [1] * 12
    assert np.all(dates[placebo.index][placebo.label == 0] < placebo.boundary)
    with pytest.raises(ValueError, match="at least two"):
        rate_study.placebo_boundary(dates[:3], np.zeros(3, int))


def test_forward_time_split_is_forward_with_its_gap() -> None:
    dates = np.array(["2023-01-01", "2023-01-10", "2023-01-20", "2023-02-01", "2023-02-05",
                      "2023-02-20", "2023-03-01", "2023-03-15"], dtype="datetime64[D]")
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    split = rate_study.forward_time_split(dates, y, cutoff="2023-02-01", gap_days=14)
    assert split.train.tolist() == [0, 1, 2]                 # before the cutoff
    assert split.test.tolist() == [5, 6, 7]                  # from cutoff + 14 days = 2023-02-15
    assert split.test_from == np.datetime64("2023-02-15") and split.dropped == 2  # 02-01, 02-05 in the gap
    assert dates[split.test].min() - dates[split.train].max() >= np.timedelta64(14, "D")
    default = rate_study.forward_time_split(dates, y, gap_days=0, train_share=0.5)
    assert default.cutoff == np.datetime64("2023-02-05")     # 8 distinct days: the 5th
    assert dates[default.test].min() >= dates[default.train].max()


def test_forward_time_split_names_the_missing_class_and_what_to_do() -> None:
    dates, y, _ = _dated_table()  # a step function of the date: raising, then holding
    for cutoff in ["2022-09-01", "2023-06-01"]:
        with pytest.raises(ValueError, match=r"class (0|1) has no photo on the (training|test) side") as err:
            rate_study.forward_time_split(dates, y, cutoff=cutoff, gap_days=28)
        assert "Move the cutoff" in str(err.value) and "placebo" in str(err.value)
    with pytest.raises(ValueError, match="class 1 has no photo on the test side"):
        rate_study.forward_time_split(dates, y, cutoff="2023-06-01")
    with pytest.raises(ValueError, match="gap_days"):
        rate_study.forward_time_split(dates, y, gap_days=-1)


def test_placebo_and_forward_split_run_together_on_a_dated_table() -> None:
    """The notebook's path: the real label cannot go forward; the placebo label inside holding is a
    step function too, so it cannot either, but its grouped split does run."""
    from helpers.evaluation import grouped_splits

    dates, y, groups = _dated_table()
    placebo = rate_study.placebo_boundary(dates, y)
    with pytest.raises(ValueError, match="no photo on the"):
        rate_study.forward_time_split(dates[placebo.index], placebo.label)
    (tr, te), = grouped_splits(groups[placebo.index], placebo.label, n_splits=1, seed=0)
    assert not set(groups[placebo.index][tr]) & set(groups[placebo.index][te])
    assert set(placebo.label[te]) == {0, 1}


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's opening)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [10_000, 20_000])  # 100 Mpx: over the course's limit; 400 Mpx: over Pillow's
def test_photo_table_skips_a_decompression_bomb_by_its_line(tmp_path: Path, side: int) -> None:
    _png(tmp_path / "a.png")
    _png_header(tmp_path / "bomb.png", side, side)
    (tmp_path / "photos.csv").write_text("file,date\na.png,2022-05-02\nbomb.png,2022-05-02\n", encoding="utf-8")
    table = read_photo_table(tmp_path)
    assert [p.path.name for p in table.photos] == ["a.png"]
    line, why = table.problems[0]
    assert line == 3 and "bomb.png" in why and "shrink the image or remove it" in why


def test_photo_table_refuses_the_same_photo_under_another_name(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    (tmp_path / "copy.png").write_bytes((tmp_path / "a.png").read_bytes())
    (tmp_path / "photos.csv").write_text("file,date\na.png,2022-05-02\ncopy.png,2023-06-01\n", encoding="utf-8")
    table = read_photo_table(tmp_path)
    assert [p.path.name for p in table.photos] == ["a.png"]
    assert table.problems == [(3, "'copy.png' is the same photo (the same bytes) as line 2; this row is ignored")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_a_table_in_neither_encoding_names_the_right_line(tmp_path: Path, eol: bytes) -> None:
    (tmp_path / "photos.csv").write_bytes(eol.join([b"file,date", b"a.png,2022-05-02", b"b\x80\x80.png,2022-05-02", b""]))
    with pytest.raises(ValueError, match=r"photos.csv: line 3 is neither UTF-8 nor cp949.*CSV UTF-8"):
        read_photo_table(tmp_path)
