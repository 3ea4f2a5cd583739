"""helpers.progress: bars in a live notebook, a few compact lines in logs."""

from helpers.progress import progress_bar


def test_plain_progress_prints_at_most_five_lines(capsys, monkeypatch):
    monkeypatch.setenv("TLBOOK_PLAIN_PROGRESS", "1")
    assert list(progress_bar(range(20), desc="features", unit="batch")) == list(range(20))
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == "features: 20/20 batch" and len(lines) <= 5


def test_disabled_progress_is_silent(capsys):
    assert list(progress_bar([1, 2, 3], enabled=False)) == [1, 2, 3]
    assert capsys.readouterr().err == ""
