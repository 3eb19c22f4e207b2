"""Tests for `download`, served from a local HTTP server and file:// URLs (no internet)."""

from __future__ import annotations

import hashlib
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rnnlab.data import default_cache_dir, download
from rnnlab.errors import DataError

PAYLOAD = bytes(range(256)) * 5000  # 1.28 MB: more than one read chunk
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """A local HTTP server that counts requests; /cut.bin sends half and hangs up."""

    def __init__(self) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                outer.requests += 1
                if self.path not in ("/data.bin", "/cut.bin"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                cut = self.path == "/cut.bin"
                self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2] if cut else PAYLOAD)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_http_download_and_cache_hit(server: Server, tmp_path: Path) -> None:
    out = download(f"{server.url}/data.bin", tmp_path / "c", md5=MD5, sha256=SHA256)
    assert out == tmp_path / "c" / "data.bin" and out.read_bytes() == PAYLOAD
    assert server.requests == 1
    assert download(f"{server.url}/data.bin", tmp_path / "c", md5=MD5) == out
    assert server.requests == 1  # served from the cache
    assert leftovers(tmp_path / "c") == ["data.bin"]


def test_filename_and_progress_bar(server: Server, tmp_path: Path) -> None:
    out = download(f"{server.url}/data.bin", tmp_path, filename="x.bin", progress=True)
    assert out.name == "x.bin" and out.read_bytes() == PAYLOAD


def test_file_url(tmp_path: Path) -> None:
    src = tmp_path / "src" / "archive name.tar.gz"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    out = download(src.as_uri(), tmp_path / "dest", sha256=SHA256, progress=False)
    assert out.name == "archive name.tar.gz" and out.read_bytes() == PAYLOAD


def test_mismatched_cached_file_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(b"stale")
    out = download(f"{server.url}/data.bin", tmp_path, md5=MD5, progress=False)
    assert out.read_bytes() == PAYLOAD and server.requests == 1


@pytest.mark.parametrize("algo", ["md5", "sha256"])
def test_checksum_mismatch_leaves_nothing(server: Server, tmp_path: Path, algo: str) -> None:
    url = f"{server.url}/data.bin"
    with pytest.raises(DataError, match=f"checksum mismatch for {url}: expected {algo} 00+, got"):
        download(url, tmp_path, progress=False, **{algo: "0" * 32})
    assert leftovers(tmp_path) == []


def test_server_closes_early_leaves_nothing(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cut.bin ended early: got 640000 of 1280000 bytes"):
        download(f"{server.url}/cut.bin", tmp_path, md5=MD5, progress=False)
    assert leftovers(tmp_path) == []


def test_interrupt_leaves_no_file(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = urllib.request.urlopen

    class Interrupting:
        def __init__(self, resp: object) -> None:
            self.resp, self.reads = resp, 0
            self.headers = resp.headers

        def __enter__(self) -> Interrupting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.resp.close()

        def read(self, n: int) -> bytes:
            self.reads += 1
            if self.reads > 1:
                raise KeyboardInterrupt
            return self.resp.read(n)

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Interrupting(real(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        download(f"{server.url}/data.bin", tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_http_404(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"could not download .*/missing.bin: HTTP Error 404"):
        download(f"{server.url}/missing.bin", tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_connection_refused(server: Server, tmp_path: Path) -> None:
    url = f"{server.url}/data.bin"
    server.close()
    with pytest.raises(DataError, match=f"could not download {url}: .*refused"):
        download(url, tmp_path, progress=False)


def test_missing_file_url(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="could not download file://"):
        download((tmp_path / "nope.bin").as_uri(), tmp_path / "d", progress=False)


def test_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unsupported URL 'ftp://x/y'"):
        download("ftp://x/y", tmp_path)
    with pytest.raises(DataError, match="cannot tell a file name"):
        download("http://127.0.0.1/", tmp_path)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("RNNLAB_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "rnnlab"
