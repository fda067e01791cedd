"""dcgan download against a local HTTP server on 127.0.0.1: good, corrupted and interrupted transfers."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from dcgan import DCGANError, load_dataset
from dcgan.cli import main
from dcgan.data import download


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    cut_next: set[str]  # paths whose next response stops half-way
    ranges: list[str | None]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server: _Server = self.server
        name = self.path.lstrip("/")
        server.ranges.append(self.headers.get("Range"))
        if name not in server.files:
            self.send_error(404)
            return
        blob, start = server.files[name], 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(blob) - start))
        self.end_headers()
        body = blob[start:]
        if name in server.cut_next:
            server.cut_next.discard(name)
            body = body[: len(body) // 2]
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut_next, srv.ranges = {}, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _tiny_mnist(server, monkeypatch) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    blobs = {
        "train-images-idx3-ubyte.gz": _idx_gz(rng.integers(0, 256, (300, 28, 28))),
        "train-labels-idx1-ubyte.gz": _idx_gz(np.arange(300) % 10),
        "t10k-images-idx3-ubyte.gz": _idx_gz(rng.integers(0, 256, (5, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": _idx_gz(np.arange(5)),
    }
    server.files.update(blobs)
    files = tuple(download.RemoteFile(n, hashlib.md5(b).hexdigest()) for n, b in blobs.items())
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setitem(
        download.DATASETS, "mnist", download.RemoteDataset("mnist", "mnist", ("http://127.0.0.1:9/", url), files, "")
    )
    return blobs


def test_download_then_train_data_by_name(server, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DCGAN_CACHE", str(tmp_path / "cache"))
    blobs = _tiny_mnist(server, monkeypatch)
    with pytest.raises(DCGANError, match=r"mnist is not downloaded yet") as err:
        load_dataset("mnist")
    assert "dcgan download mnist" in str(err.value) and "train-images-idx3-ubyte.gz" in str(err.value)
    assert main(["download", "mnist", "--no-progress"]) == 0  # the first mirror (port 9) is down: the second serves
    folder = tmp_path / "cache" / "datasets" / "mnist"
    assert "verified" in capsys.readouterr().out
    assert all((folder / n).read_bytes() == b for n, b in blobs.items()) and not list(folder.glob("*.part"))
    data = load_dataset("mnist")
    assert data.images.shape == (300, 1, 32, 32) and data.labels[:12].tolist() == [*range(10), 0, 1]
    requests = len(server.ranges)
    download.download("mnist", progress=False)  # verified files are not fetched again
    assert len(server.ranges) == requests


def test_checksum_mismatch_keeps_nothing(server, monkeypatch, tmp_path):
    _tiny_mnist(server, monkeypatch)
    server.files["train-labels-idx1-ubyte.gz"] = b"tampered"
    with pytest.raises(DCGANError, match="does not match its published checksum"):
        download.download("mnist", tmp_path, progress=False)
    assert not (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz.part").exists()


def test_interrupted_transfer_resumes_with_a_range_request(server, monkeypatch, tmp_path):
    blobs = _tiny_mnist(server, monkeypatch)
    name = "train-images-idx3-ubyte.gz"
    server.cut_next.add(name)
    with pytest.raises(
        DCGANError,
        match=r"stopped: transfer interrupted after [\d,]+ of [\d,]+ bytes\n  fix: run the same command again to resume",
    ):
        download.download("mnist", tmp_path, progress=False)
    part = tmp_path / "mnist" / f"{name}.part"
    assert 0 < part.stat().st_size < len(blobs[name])
    half = part.stat().st_size
    download.download("mnist", tmp_path, progress=False)
    assert (tmp_path / "mnist" / name).read_bytes() == blobs[name] and not part.exists()
    assert f"bytes={half}-" in server.ranges  # only the missing bytes were asked for


def test_offline_says_which_files_to_put_where(monkeypatch, tmp_path, capsys):
    dead = download.RemoteDataset("svhn", "svhn", ("http://127.0.0.1:9/",), download.DATASETS["svhn"].files, "")
    monkeypatch.setitem(download.DATASETS, "svhn", dead)
    assert main(["download", "svhn", "--dir", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot download train_32x32.mat" in err and f"{tmp_path}/svhn/train_32x32.mat" in err
    assert "md5 e26dedcc434d2e4c54c9b2d4a06d8373" in err and "Traceback" not in err


# files whose MD5 is known without computing it here: RFC 1321's test suite, and coreutils' md5sum
KNOWN_MD5 = {
    b"": "d41d8cd98f00b204e9800998ecf8427e",
    b"abc": "900150983cd24fb0d6963f7d28e17f72",
    b"message digest": "f96b697d7cb7938d525a2f31aaf161d0",
    b"abd": "4911e516e5aa21d327512e0c8b197616",  # "abc" with its last byte changed
    b"a" * (3 << 20): "6a11a8872b36343799a15617bea78cef",  # 3 MiB: md5_of reads 1 MiB at a time
}


def test_md5_of_files_whose_sums_are_known(tmp_path):
    for i, (content, md5) in enumerate(KNOWN_MD5.items()):
        path = tmp_path / f"file{i}"
        path.write_bytes(content)
        assert download.md5_of(path) == md5


def _abc(monkeypatch, mirror: str) -> None:
    """A dataset of one file, abc.txt, published with the MD5 of b"abc"."""
    files = (download.RemoteFile("abc.txt", KNOWN_MD5[b"abc"]),)
    monkeypatch.setitem(download.DATASETS, "abc", download.RemoteDataset("abc", "abc", (mirror,), files, ""))


def test_a_file_is_kept_only_with_its_published_checksum(server, monkeypatch, tmp_path):
    _abc(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}/")
    server.files["abc.txt"] = b"abd"  # damaged on the way
    expected = (
        r"http://127\.0\.0\.1:\d+/abc\.txt does not match its published checksum "
        rf"\(md5 {KNOWN_MD5[b'abd']}, expected {KNOWN_MD5[b'abc']}\)\n  fix: run the command again"
    )
    with pytest.raises(DCGANError, match=expected):
        download.download("abc", tmp_path, progress=False)
    assert list((tmp_path / "abc").iterdir()) == []  # neither the file nor its .part
    server.files["abc.txt"] = b"abc"
    download.download("abc", tmp_path, progress=False)
    assert (tmp_path / "abc" / "abc.txt").read_bytes() == b"abc"


def test_offline_a_file_put_in_place_by_hand_is_checked(monkeypatch, tmp_path, capsys):
    _abc(monkeypatch, "http://127.0.0.1:9/")  # nothing listens there
    placed = tmp_path / "abc" / "abc.txt"
    placed.parent.mkdir()
    placed.write_bytes(b"abd")
    argv = ["download", "abc", "--dir", str(tmp_path), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"dcgan download: error: {placed} does not match its published checksum (md5 {KNOWN_MD5[b'abd']}, expected"
        f" {KNOWN_MD5[b'abc']}), and cannot download abc.txt: http://127.0.0.1:9/abc.txt: "
    )
    assert "\n  fix: replace it with http://127.0.0.1:9/abc.txt, or check the network" in err
    assert len(err.splitlines()) == 2 and placed.read_bytes() == b"abd"  # the user's file is left for them
    placed.write_bytes(b"abc")
    assert main(argv) == 0  # the right file needs no network
    assert "every file present and verified" in capsys.readouterr().out
