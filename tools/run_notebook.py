"""Run one notebook with papermill, the way :func:`tools.execute.execute` needs it.

``python -m tools.run_notebook IN OUT --cwd DIR [-y YAML]`` does what
``python -m papermill IN OUT --cwd DIR -y YAML --no-progress-bar --kernel python3``
does, with two start-up and shut-down costs removed that a batch of short
smoke notebooks pays once per notebook:

- the kernel is stopped at once after the last cell (nbclient's
  ``shutdown_kernel="immediate"``) instead of being asked to exit and then
  waited for: a kernel that has loaded TensorFlow takes 1-3 s to tear itself
  down, and every output has been written to ``OUT`` by then;
- jsonschema's optional IRI checker (``rfc3987_syntax``, which compiles a
  grammar on import, about 0.9 s) is not imported: no notebook schema of
  nbformat uses the ``iri`` formats it checks.

A failing cell still exits non-zero with papermill's own error message.
"""

from __future__ import annotations

import argparse
import sys

IMMEDIATE_SHUTDOWN = {"shutdown_kernel": "immediate"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: input, output, working directory and YAML parameters."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--cwd", default=None, help="working directory of the kernel")
    p.add_argument("-y", "--parameters-yaml", default=None, help="notebook parameters as one YAML mapping")
    p.add_argument("--kernel", default="python3")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Execute the notebook; exit status 1 when a cell fails."""
    args = parse_args(argv)
    import yaml

    parameters = yaml.safe_load(args.parameters_yaml) if args.parameters_yaml else {}
    if not isinstance(parameters, dict):
        raise SystemExit(f"-y must be a YAML mapping such as '{{PROFILE: smoke}}', got {args.parameters_yaml!r}")
    sys.modules.setdefault("rfc3987_syntax", None)  # see the module docstring
    import papermill

    try:
        papermill.execute_notebook(args.input, args.output, parameters=parameters, cwd=args.cwd,
                                   kernel_name=args.kernel, progress_bar=False, **IMMEDIATE_SHUTDOWN)
    except papermill.PapermillExecutionError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
