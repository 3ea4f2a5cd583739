"""tools.run_notebook: papermill with an immediate kernel stop, as tools.execute runs every notebook."""

from __future__ import annotations

import nbformat
import pytest

from tools.execute import execute
from tools.run_notebook import IMMEDIATE_SHUTDOWN, parse_args


def _notebook(path, *sources: str, parameters: str = "PROFILE = None\nN = 1\n"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_the_runner_asks_nbclient_for_an_immediate_kernel_stop() -> None:
    from nbclient import NotebookClient

    assert IMMEDIATE_SHUTDOWN == {"shutdown_kernel": "immediate"}
    assert "immediate" in NotebookClient.shutdown_kernel.values  # a value nbclient knows, not a typo
    args = parse_args(["in.ipynb", "out.ipynb", "--cwd", "/x", "-y", "{PROFILE: smoke}"])
    assert (args.input, args.output, args.cwd, args.parameters_yaml) == ("in.ipynb", "out.ipynb", "/x", "{PROFILE: smoke}")


def test_parameters_arrive_typed_and_glued_values_come_back(tmp_path) -> None:
    nb = _notebook(tmp_path / "01_tiny.ipynb",
                   "from helpers import glue_keys\n"
                   "glue_keys.glue('nb01_n', N * 2)\n"
                   "glue_keys.glue('nb01_kind', type(N).__name__ + ' ' + PROFILE)",
                   "import os; print(os.getcwd())")
    ex = execute(nb, "smoke", tmp_path / "out", parameters={"N": 21})
    assert ex.ok, ex.error
    assert ex.glue == {"nb01_n": 42, "nb01_kind": "int smoke"}
    out = nbformat.read(ex.output, as_version=4)
    assert out.cells[-1].outputs[0]["text"].strip() == str(tmp_path)  # the kernel ran in the notebook's folder


def test_a_failing_cell_fails_the_run_with_its_message_and_keeps_the_output(tmp_path) -> None:
    nb = _notebook(tmp_path / "02_fails.ipynb", "x = 1", "raise ValueError('EPOCHS=-1: use a positive number')",
                   "print('never')")
    ex = execute(nb, "smoke", tmp_path / "out", timeout=120)
    assert not ex.ok
    assert "ValueError: EPOCHS=-1: use a positive number" in ex.error
    out = nbformat.read(ex.output, as_version=4)  # the executed copy is written up to the failing cell
    by_source = {c.source: c for c in out.cells if c.cell_type == "code"}
    assert by_source["raise ValueError('EPOCHS=-1: use a positive number')"].outputs[0]["ename"] == "ValueError"
    assert not by_source["print('never')"].outputs


def test_a_bad_parameters_mapping_is_refused(tmp_path) -> None:
    from tools.run_notebook import main

    with pytest.raises(SystemExit, match="-y must be a YAML mapping"):
        main([str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb"), "-y", "[1, 2]"])
