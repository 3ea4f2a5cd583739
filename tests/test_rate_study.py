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
