"""Downloading with SHA-256 verification, for users who have a network (the bundled digits need
none). ``download`` works for http(s):// and file:// URLs.

Atomic: the data goes to a temporary file beside the target and is renamed onto it only after
its checksum matched, so a target path never holds a partial or wrong file; on a mismatch or an
error the temporary file is deleted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["download", "download_mnist", "sha256sum", "md5sum", "ChecksumError", "MNIST_FILES",
           "MNIST_MIRRORS"]

_CHUNK = 1 << 16


class ChecksumError(ValueError):
    """The downloaded bytes do not have the expected SHA-256."""


def sha256sum(path, algorithm: str = "sha256") -> str:
    """Hex digest (SHA-256 unless ``algorithm`` says otherwise) of a file, read in chunks."""
    h = hashlib.new(algorithm, usedforsecurity=False)   # a checksum, not security
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def md5sum(path) -> str:
    """Hex MD5 of a file: the checksums torchvision publishes for its datasets are MD5."""
    return sha256sum(path, "md5")


def _check_digest(digest, length: int, name: str):
    if digest is None:
        return None
    digest = digest.lower()
    if len(digest) != length or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"download: {name} must be {length} hex digits, got {digest!r}")
    return digest


def download(url: str, path, sha256: str | None = None, overwrite: bool = False,
             timeout: float = 60.0, progress: bool = False, md5: str | None = None) -> Path:
    """Fetch ``url`` into ``path`` and return the path.

    sha256:    expected hex digest; the file is kept only if it matches (ChecksumError otherwise).
    overwrite: fetch even if ``path`` exists. Without it, an existing file is kept when it matches
               ``sha256`` (or no checksum is given) and fetched again when it does not.
    progress:  show a tqdm progress bar.
    md5:       expected hex MD5 (the checksums torchvision publishes), checked like sha256.
    """
    path = Path(path).expanduser()
    sha256 = _check_digest(sha256, 64, "sha256")
    md5 = _check_digest(md5, 32, "md5")
    if (path.is_file() and not overwrite and (sha256 is None or sha256sum(path) == sha256)
            and (md5 is None or md5sum(path) == md5)):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        h, h_md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length")
            bar = None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                           desc=path.name)
            try:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    h.update(chunk)
                    h_md5.update(chunk)
                    out.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
        digest = h.hexdigest()
        if sha256 is not None and digest != sha256:
            raise ChecksumError(f"download: {url} has SHA-256 {digest}, expected {sha256}; "
                                f"the file was not saved to {path}")
        if md5 is not None and h_md5.hexdigest() != md5:
            raise ChecksumError(f"download: {url} has MD5 {h_md5.hexdigest()}, expected {md5}; "
                                f"the file was not saved to {path}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# The four files of each dataset with their published SHA-256 sums.
MNIST_FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
        "train-labels-idx1-ubyte.gz": "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
        "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
        "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
    },
}
MNIST_MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}


def download_mnist(root, kind: str = "mnist", mirrors=None, timeout: float = 60.0,
                   progress: bool = False) -> Path:
    """Fetch the four MNIST (``kind='mnist'``) or Fashion-MNIST (``'fashion'``) IDX files into
    ``root``, trying each mirror (base URLs ending in '/') in turn, each file checked against its
    published SHA-256. Files already present with the right checksum are kept. Returns ``root``."""
    if kind not in MNIST_FILES:
        raise ValueError(f"download_mnist: kind must be one of {sorted(MNIST_FILES)}, got {kind!r}")
    root = Path(root).expanduser()
    mirrors = list(MNIST_MIRRORS[kind] if mirrors is None else mirrors)
    if not mirrors:
        raise ValueError("download_mnist: no mirrors given")
    for name, digest in MNIST_FILES[kind].items():
        errors = []
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            try:
                download(url + name, root / name, sha256=digest, timeout=timeout, progress=progress)
                break
            except (urllib.error.URLError, OSError, ChecksumError) as err:
                errors.append((url + name, err))
        else:
            message = f"download_mnist: could not fetch {name} from any mirror:" + "".join(
                f"\n  {u}: {e}" for u, e in errors)
            if all(isinstance(e, ChecksumError) for _, e in errors):
                raise ChecksumError(message)
            raise OSError(message)
    return root
