"""Emit each <script> once per page.

sphinx-thebe 0.3.1 and sphinx-togglebutton add their inline scripts from ``env-before-read-docs``, which
runs more than once in a Jupyter Book build, so every page got them twice (one copy with filename None,
one with ''), and the repeated ``const THEBE_JS_URL`` is a SyntaxError in the browser console.
"""

from __future__ import annotations


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""
        body = (getattr(script, "attributes", None) or {}).get("body", "")
        if (str(filename), body) not in seen:
            seen.add((str(filename), body))
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
