"""Shared fixtures: an isolated data directory and a real local HTTP server."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory ``tmp_path/data``, exported as ``TLBOOK_DATA_DIR``."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("TLBOOK_DATA_DIR", str(path))
    return path


@pytest.fixture
def fast_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """No retries (pooch sleeps between them) and a short timeout."""
    from helpers import registry

    monkeypatch.setattr(registry, "DOWNLOAD_RETRIES", 0)
    monkeypatch.setattr(registry, "DOWNLOAD_TIMEOUT", 5.0)


def _layout(data_dir: Path, name: str) -> Path:
    """An installed folder with the layout the registry expects of ``name`` (placeholder contents)."""
    from helpers.registry import REGISTRY

    e = REGISTRY[name]
    root = data_dir / e.folder
    root.mkdir(parents=True, exist_ok=True)
    for part in e.expect:
        if "/" in part:  # a folder, with one placeholder so that it is not empty
            (root / part).mkdir(parents=True, exist_ok=True)
            (root / part / ".placeholder").write_bytes(b"x")
        else:
            (root / part).write_bytes(b"x")
    return root


@pytest.fixture
def layout():
    """``layout(data_dir, name)``: an installed folder with the layout the registry expects of ``name``."""
    return _layout


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list:
    """Replace the downloader by one that fails as an offline machine does; returns the URLs tried."""
    from helpers import registry

    calls: list = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise ConnectionError(f"Failed to resolve host for {url} (offline)")

    monkeypatch.setattr(registry, "download", offline)
    return calls


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@dataclass
class Server:
    """A running local server: files in ``root`` are served at ``url``."""

    root: Path
    url: str
    port: int
    requests: list[str]

    def file_url(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Serve ``tmp_path/www`` on 127.0.0.1 at a free port; shut down afterwards.

    ``/cut/NAME`` serves ``NAME`` with its full ``Content-Length`` but closes the
    connection after half of the bytes, as a dropped download does.
    """
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    seen: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            seen.append(self.path)
            if self.path.startswith("/cut/"):  # the connection drops halfway through
                data = (root / self.path[len("/cut/"):]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(root)))
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(root=root, url=f"http://127.0.0.1:{port}", port=port, requests=seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/toy.tar.gz"
