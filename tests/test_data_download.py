"""Downloads with SHA-256 verification, against a loopback HTTP server and file:// URLs."""

import functools
import gzip
import hashlib
import http.server
import threading
import urllib.error

import numpy as np
import pytest

import autograd_cnn.data.fetch as fetch
from autograd_cnn.data import MNIST, ChecksumError, download, download_mnist, sha256sum
from test_data_mnist import idx_bytes


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder) of an HTTP server on 127.0.0.1 serving a temporary folder."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_http_download_verified(server, tmp_path):
    base, served = server
    payload = np.random.default_rng(0).bytes(200_000)            # several chunks
    (served / "blob.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    out = download(base + "blob.bin", tmp_path / "dl" / "blob.bin", sha256=digest.upper())
    assert out.read_bytes() == payload and sha256sum(out) == digest
    assert leftovers(out.parent) == []


def test_file_url_download(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello idx")
    dst = download(src.as_uri(), tmp_path / "copy.bin",
                   sha256=hashlib.sha256(b"hello idx").hexdigest())
    assert dst.read_bytes() == b"hello idx"


def test_checksum_mismatch_deletes_temp_and_keeps_old_file(server, tmp_path):
    base, served = server
    (served / "f").write_bytes(b"tampered")
    target = tmp_path / "f"
    with pytest.raises(ChecksumError, match=r"has SHA-256 [0-9a-f]{64}, expected 0{64}.*not saved"):
        download(base + "f", target, sha256="0" * 64)
    assert not target.exists() and leftovers(tmp_path) == []
    target.write_bytes(b"old good file")                           # overwrite that fails: old stays
    with pytest.raises(ChecksumError):
        download(base + "f", target, sha256="0" * 64, overwrite=True)
    assert target.read_bytes() == b"old good file" and leftovers(tmp_path) == []


def test_existing_file_kept_or_refetched(server, tmp_path):
    base, served = server
    (served / "g").write_bytes(b"new")
    target = tmp_path / "g"
    target.write_bytes(b"current")
    good = hashlib.sha256(b"current").hexdigest()
    # present with the right checksum: kept, the URL is not even opened
    assert download(base + "does-not-exist", target, sha256=good).read_bytes() == b"current"
    # present with a wrong checksum: fetched again
    download(base + "g", target, sha256=hashlib.sha256(b"new").hexdigest())
    assert target.read_bytes() == b"new"


def test_http_error_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(urllib.error.HTTPError):
        download(base + "missing", tmp_path / "m")
    assert not (tmp_path / "m").exists() and leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="64 hex digits"):
        download(base + "x", tmp_path / "x", sha256="abc")


def test_download_mnist_then_load(server, tmp_path, monkeypatch):
    base, served = server
    rng = np.random.default_rng(0)
    checksums = {}
    for prefix, n in (("train", 6), ("t10k", 3)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                          ("labels-idx1", rng.integers(0, 10, n).astype(np.uint8))):
            name = f"{prefix}-{kind}-ubyte.gz"
            blob = gzip.compress(idx_bytes(arr))
            (served / name).write_bytes(blob)
            checksums[name] = hashlib.sha256(blob).hexdigest()
    # the published checksums do not match our small files: use theirs for this test
    monkeypatch.setitem(fetch.MNIST_FILES, "mnist", checksums)
    root = tmp_path / "mnist"
    # a dead first mirror is skipped
    download_mnist(root, mirrors=[base + "nowhere/", base])
    assert sorted(p.name for p in root.iterdir()) == sorted(checksums)
    assert len(MNIST(root)) == 6 and len(MNIST(root, train=False, download=True)) == 3


def test_download_mnist_with_published_checksums_rejects_other_files(server, tmp_path):
    base, served = server
    (served / "train-images-idx3-ubyte.gz").write_bytes(b"not mnist")
    with pytest.raises(ChecksumError, match=r"(?s)could not fetch train-images-idx3-ubyte.gz.*"
                                            r"expected 440fcabf"):
        download_mnist(tmp_path / "m", mirrors=[base])
    assert not any((tmp_path / "m").iterdir())
    # a dead mirror (404) and a bad file: an OSError that lists both
    with pytest.raises(OSError, match=r"from any mirror:\n.*404.*\n.*SHA-256"):
        download_mnist(tmp_path / "m2", mirrors=[base + "a/", base])
    with pytest.raises(ValueError, match="kind must be"):
        download_mnist(tmp_path, kind="kmnist")
