"""Tests for the IMDB loader on a tiny fake aclImdb tree (folder, archive, download)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from rnnlab.data import (
    TextDataset,
    is_imdb_source,
    load_dataset,
    load_imdb,
    load_imdb_splits,
    sha256_of_file,
    sha256_of_files,
)
from rnnlab.errors import DataError

REVIEWS = {
    "train/pos/10_9.txt": "Great film.<br /><br />Loved it — naïve charm, 10/10 ★",
    "train/pos/2_7.txt": "Good enough; Amélie-like.",
    "train/neg/3_1.txt": "Awful.<br />Never again.",
    "train/neg/1_4.txt": "Meh, 退屈 (boring).",
    "train/neg/0_2.txt": "Bad acting.",
    "test/pos/0_10.txt": "Masterpiece!",
    "test/pos/1_8.txt": "Very good <br /> indeed.",
    "test/neg/0_3.txt": "Not good.",
    "test/neg/5_1.txt": "Terrible — café scene aside.",
}
EXTRAS = {
    "README": "readme",
    "imdb.vocab": "the\nand\n",
    "train/unsup/0_0.txt": "unlabeled review",
    "train/labeledBow.feat": "0 0:1",
    "train/urls_pos.txt": "http://example.com",
}


def make_tree(base: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """Write an aclImdb tree under `base` and return `base`."""
    for rel, content in (files if files is not None else REVIEWS | EXTRAS).items():
        p = base / "aclImdb" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return base


def make_archive(path: Path, files: dict[str, str | bytes]) -> Path:
    """Write a tar.gz holding `files` (names used as given) at `path`."""
    with tarfile.open(path, "w:gz") as tf:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "tree")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    files = {f"aclImdb/{k}": v for k, v in (REVIEWS | EXTRAS).items()}
    return make_archive(tmp_path / "aclImdb_v1.tar.gz", files)


def same_data(a: TextDataset, b: TextDataset) -> bool:
    return (a.texts, a.labels, a.label_names, a.ratings) == (
        b.texts,
        b.labels,
        b.label_names,
        b.ratings,
    )


def test_folder_loads_train_sorted_with_ratings(tree: Path) -> None:
    ds = load_imdb(tree, "train")
    assert ds.label_names == ["neg", "pos"]
    assert len(ds) == 5
    # sorted by path: neg/0_2, neg/1_4, neg/3_1, pos/10_9, pos/2_7
    assert ds.labels == [0, 0, 0, 1, 1]
    assert ds.ratings == [2, 4, 1, 9, 7]
    assert ds.texts[3] == REVIEWS["train/pos/10_9.txt"]  # <br /> and unicode kept
    assert "unlabeled review" not in ds.texts


def test_folder_or_its_parent(tree: Path) -> None:
    assert same_data(load_imdb(tree, "test"), load_imdb(tree / "aclImdb", "test"))


def test_archive_and_folder_identical(tree: Path, archive: Path) -> None:
    from_dir = load_imdb_splits(tree)
    from_tar = load_imdb_splits(archive)
    assert set(from_tar) == {"train", "test"}
    for split in ("train", "test"):
        assert same_data(from_dir[split], from_tar[split])
        assert same_data(from_tar[split], load_imdb(archive, split))
    assert len(from_tar["test"]) == 4


def test_fingerprints(tree: Path, archive: Path) -> None:
    assert load_imdb(archive, "test").sha256 == sha256_of_file(archive)
    root = tree / "aclImdb"
    files = [p for p in (root / "train").glob("*/*.txt") if p.parent.name in ("pos", "neg")]
    assert load_imdb(tree, "train").sha256 == sha256_of_files(files, root)
    assert load_imdb(tree, "train").sha256 != load_imdb(tree, "test").sha256


def test_archive_with_dot_slash_names_and_no_top_folder(tmp_path: Path) -> None:
    arch = make_archive(tmp_path / "x.tgz", {f"./{k}": v for k, v in REVIEWS.items()})
    assert same_data(load_imdb(arch, "train"), load_imdb(make_tree(tmp_path / "t"), "train"))


def test_imdb_name_downloads_into_cache(archive: Path, tmp_path: Path) -> None:
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    ds = load_imdb("imdb", "train", cache_dir=cache, url=archive.as_uri(), md5=md5)
    assert (cache / archive.name).is_file()
    assert same_data(ds, load_imdb(archive, "train"))
    archive.unlink()  # the second call uses the cached copy
    assert len(load_imdb("imdb", "test", cache_dir=cache, url=archive.as_uri(), md5=md5)) == 4


def test_imdb_name_wrong_md5(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="checksum mismatch"):
        load_imdb("imdb", cache_dir=tmp_path / "c", url=archive.as_uri(), md5="0" * 32)


def test_load_dataset_dispatch(tree: Path, archive: Path) -> None:
    assert is_imdb_source("imdb") and is_imdb_source(archive) and is_imdb_source(tree)
    assert is_imdb_source(tree / "aclImdb") and not is_imdb_source(tree / "x.csv")
    assert same_data(load_dataset(archive, split="test"), load_dataset(tree, split="test"))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="IMDB data not found at .*nope.tar.gz"):
        load_imdb(tmp_path / "nope.tar.gz")


def test_unknown_split(tree: Path) -> None:
    with pytest.raises(DataError, match="unknown IMDB split 'dev'"):
        load_imdb(tree, "dev")


def test_archive_without_layout(tmp_path: Path) -> None:
    arch = make_archive(tmp_path / "other.tar.gz", {"data/a.txt": "x", "data/b.txt": "y"})
    with pytest.raises(DataError, match=r"has no train/neg reviews; expected .*aclImdb/\{train"):
        load_imdb(arch)


def test_archive_missing_one_class(tmp_path: Path) -> None:
    files = {f"aclImdb/{k}": v for k, v in REVIEWS.items() if not k.startswith("test/neg")}
    with pytest.raises(DataError, match="no test/neg reviews"):
        load_imdb_splits(make_archive(tmp_path / "a.tar.gz", files))


def test_not_an_archive(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"this is not gzip data")
    with pytest.raises(DataError, match="cannot read the archive .*bad.tar.gz"):
        load_imdb(bad)


def test_truncated_archive(archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated"):
        load_imdb_splits(cut)


def test_undecodable_review_named(tmp_path: Path) -> None:
    files = {f"aclImdb/{k}": v for k, v in REVIEWS.items()}
    files["aclImdb/train/neg/7_2.txt"] = b"caf\xe9 latte"
    with pytest.raises(DataError, match=r"neg/7_2.txt is not valid UTF-8 \(byte 0xe9"):
        load_imdb(make_archive(tmp_path / "a.tar.gz", files))
    tree = make_tree(tmp_path / "t", REVIEWS | {"test/pos/9_9.txt": b"\xff"})
    with pytest.raises(DataError, match="pos/9_9.txt is not valid UTF-8"):
        load_imdb(tree, "test")


def test_bad_file_name(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, REVIEWS | {"train/pos/review.txt": "x"})
    with pytest.raises(DataError, match="unexpected review file pos/review.txt; expected"):
        load_imdb(tree)


def test_rating_out_of_range(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, REVIEWS | {"train/pos/4_11.txt": "x"})
    with pytest.raises(DataError, match="rating 11"):
        load_imdb(tree)


def test_folder_without_layout(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError, match="is not an IMDB folder"):
        load_imdb(tmp_path / "stuff")
    make_tree(tmp_path / "half", {k: v for k, v in REVIEWS.items() if "/neg/" not in k})
    with pytest.raises(DataError, match="folder train/neg is missing"):
        load_imdb(tmp_path / "half")


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7, 0.9, 0.99])
def test_archive_cut_anywhere_is_refused_not_read_as_smaller(
    archive: Path, tmp_path: Path, fraction: float
) -> None:
    """A download cut between two members must not load as a smaller dataset."""
    cut = tmp_path / "cut.tar.gz"
    data = archive.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataError, match="cannot read the archive .*truncated.*download it again"):
        load_imdb_splits(cut)


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.bz2", "w:bz2"), (".txz", "w:xz")])
def test_bzip2_and_xz_archives_read_like_the_gzip_one(tmp_path: Path, suffix, mode) -> None:
    arch = tmp_path / f"imdb{suffix}"
    with tarfile.open(arch, mode) as tf:
        tf.add(make_tree(tmp_path / "t") / "aclImdb", arcname="aclImdb")
    assert is_imdb_source(arch)
    assert same_data(load_dataset(arch, split="train"), load_imdb(tmp_path / "t", "train"))


def test_a_truncated_xz_archive_is_one_clear_error(tmp_path: Path) -> None:
    arch = tmp_path / "imdb.tar.xz"
    with tarfile.open(arch, "w:xz") as tf:
        tf.add(make_tree(tmp_path / "t") / "aclImdb", arcname="aclImdb")
    arch.write_bytes(arch.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"cannot read the archive .*truncated"):
        load_imdb(arch, "train")
