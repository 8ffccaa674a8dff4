"""The registry of the study's datasets, and FolderSource on small PACS-shaped trees written here."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ood_fixtures.catalog import datasets
from ood_fixtures.catalog.datasets import DatasetError, DatasetMissing, FolderSource
from generators.sample import SampleError

PACS = datasets.get("PACS")
DOMAINS = ("photo", "sketch")
PER_CLASS = 3


def colour(domain: str, folder: str, number: int) -> tuple[int, int, int]:
    """Each image's one colour encodes its class, so that a sample's label can be checked from its pixels."""
    return (PACS.classes.index(folder) * 30, number * 60, DOMAINS.index(domain) * 100)


def make_tree(root: Path, order_seed: int = 0) -> Path:
    """PACS with two domains of 7 classes x 3 solid 8x6 PNGs, written in a shuffled order."""
    files = [(d, c, n) for d in DOMAINS for c in PACS.classes for n in range(PER_CLASS)]
    random.Random(order_seed).shuffle(files)
    for domain, folder, number in files:
        path = root / "PACS" / domain / folder / f"img{number}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), colour(domain, folder, number)).save(path)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data")


def draw(source: FolderSource, seed: int = 0) -> list:
    return [source.sample(seed, i) for i in range(len(source))]


# The registry


def test_registry_lists_the_studys_20_datasets():
    assert len(datasets.REGISTRY) == 20
    assert PACS.domains == ("art_painting", "cartoon", "photo", "sketch")
    assert PACS.subject == "nature" and len(PACS.classes) == 7
    assert {info.subject for info in datasets.REGISTRY.values()} == {"nature", "medical", "satellite", "molecule"}
    assert len(datasets.get("drugood_scaffold").domains) == 6401


@pytest.mark.parametrize("name", list(datasets.REGISTRY))
def test_every_dataset_has_distinct_natural_labels(name):
    info = datasets.get(name)
    assert info.name == name and info.domains and len(info.classes) >= 2
    assert len(set(info.classes)) == len(info.classes)
    assert len(set(info.labels)) == len(info.labels) == len(info.classes)
    assert not any("_" in label for label in info.labels)


def test_labels_are_folder_names_in_natural_text():
    fmow = datasets.get("fmow_v1.1_processed")
    assert fmow.classes[:3] == ("airport", "airport_hangar", "airport_terminal")
    assert fmow.labels[:3] == ("airport", "airport hangar", "airport terminal")
    assert datasets.get("RNIST").labels == tuple(str(d) for d in range(10))
    assert "Exit Sign" in datasets.get("office_home").labels
    assert datasets.get("NIH-Chest").classes.count("Fibrosis") == 1  # listed twice by the study


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: PACS, RNIST"):
        datasets.get("pacs")


def test_discover_finds_the_datasets_present(tree):
    assert datasets.discover(tree) == ["PACS"]
    (tree / "VLCS").mkdir()
    (tree / "unrelated").mkdir()
    assert datasets.discover(tree) == ["PACS", "VLCS"]
    assert datasets.discover(tree / "absent") == []


# Sampling


def test_samples_are_rgb_images_of_their_label(tree):
    source = FolderSource(tree, "PACS", "photo", samples=21)
    assert source.name == "PACS/photo" and source.labels == list(PACS.labels) and len(source) == 21
    for sample in draw(source):
        assert sample.image.shape == (6, 8, 3) and sample.image.dtype == np.uint8
        folder, name = sample.sample_id.split("/")
        assert sample.label == folder and name.startswith("img")
        assert tuple(sample.image[0, 0]) == colour("photo", folder, int(name[3]))


def test_sampling_ignores_creation_and_listing_order(tmp_path, monkeypatch):
    first = FolderSource(make_tree(tmp_path / "a", order_seed=1), "PACS", "sketch", samples=10)
    # Many file systems list by name hash, the same in both trees: reverse the listing too, to be sure.
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda folder: reversed(list(listing(folder))))
    second = FolderSource(make_tree(tmp_path / "b", order_seed=2), "PACS", "sketch", samples=10)
    monkeypatch.undo()
    for seed in (0, 7):
        a, b = draw(first, seed), draw(second, seed)
        assert [s.sample_id for s in a] == [s.sample_id for s in b]
        assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    again = FolderSource(tmp_path / "a", "PACS", "sketch", samples=10)
    assert [s.sample_id for s in draw(again)] == [s.sample_id for s in draw(first)]


def test_classes_take_turns_in_a_seeded_order(tree):
    source = FolderSource(tree, "PACS", "photo", samples=14)
    labels = [s.label for s in draw(source)]
    assert sorted(labels[:7]) == sorted(PACS.labels) and labels[7:] == labels[:7]
    assert len({s.sample_id for s in draw(source)}) == 14  # no image twice


def test_fewer_samples_than_classes_draw_a_seeded_choice_of_classes(tree):
    firsts = {tuple(s.label for s in draw(FolderSource(tree, "PACS", "photo", samples=3), seed)) for seed in range(8)}
    assert len(firsts) > 1 and all(len(set(labels)) == 3 for labels in firsts)


def test_a_smaller_run_sees_a_prefix_of_a_larger_one(tree):
    small = [s.sample_id for s in draw(FolderSource(tree, "PACS", "photo", samples=7), seed=3)]
    large = [s.sample_id for s in draw(FolderSource(tree, "PACS", "photo", samples=21), seed=3)]
    assert small == large[:7]


def test_a_short_class_is_passed_over_not_repeated(tree):
    for extra in ("img1.png", "img2.png"):
        (tree / "PACS" / "photo" / "horse" / extra).unlink()
    source = FolderSource(tree, "PACS", "photo", samples=21)
    samples = draw(source)
    assert len(source) == 19 and len({s.sample_id for s in samples}) == 19
    assert Counter(s.label for s in samples)["horse"] == 1
    assert sorted(s.label for s in samples[:7]) == sorted(PACS.labels)
    with pytest.raises(IndexError, match="19 images"):
        source.sample(0, 19)


def test_the_seed_changes_the_choice(tree):
    source = FolderSource(tree, "PACS", "photo", samples=7)
    assert [s.sample_id for s in draw(source, 0)] != [s.sample_id for s in draw(source, 1)]
    assert sorted(s.label for s in draw(source, 0)) == sorted(s.label for s in draw(source, 1))


def test_resizing(tree):
    sample = FolderSource(tree, "PACS", "photo", samples=7, size=16).sample(0, 0)
    assert sample.image.shape == (16, 16, 3) and sample.image.dtype == np.uint8


def test_only_image_files_count_whatever_the_case_of_their_suffix(tree):
    dog = tree / "PACS" / "photo" / "dog"
    (dog / "notes.txt").write_text("not an image")
    (dog / "._img0.png").write_bytes(b"macOS companion file")
    Image.new("RGB", (8, 6), colour("photo", "dog", 3)).save(dog / "IMG3.PNG", format="PNG")
    source = FolderSource(tree, "PACS", "photo", samples=28)
    ids = {s.sample_id for s in draw(source) if s.label == "dog"}
    assert ids == {"dog/img0.png", "dog/img1.png", "dog/img2.png", "dog/IMG3.PNG"}


def test_a_corrupt_image_raises_sample_error_naming_the_file(tree):
    broken = tree / "PACS" / "photo" / "dog" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 this is no jpeg")
    source = FolderSource(tree, "PACS", "photo", samples=28)
    failed = []
    for index in range(len(source)):
        try:
            source.sample(0, index)
        except SampleError as error:
            failed.append(error)
    assert [(e.sample_id, e.label) for e in failed] == [("dog/broken.jpg", "dog")]
    assert str(broken) in failed[0].reason and "\n" not in str(failed[0])


# Validation


def test_missing_dataset_names_the_expected_folder(tmp_path):
    with pytest.raises(DatasetMissing) as caught:
        FolderSource(tmp_path, "PACS", "photo", samples=7)
    assert str(tmp_path / "PACS") in str(caught.value) and "\n" not in str(caught.value)


def test_missing_domain_folder_names_it(tree):
    with pytest.raises(DatasetMissing, match="art_painting"):
        FolderSource(tree, "PACS", "art_painting", samples=7)


def test_unknown_domain_names_the_known_ones(tree):
    with pytest.raises(DatasetError, match="art_painting, cartoon, photo, sketch") as caught:
        FolderSource(tree, "PACS", "photos", samples=7)
    assert not isinstance(caught.value, DatasetMissing)


def test_missing_class_folder(tree):
    shutil.rmtree(tree / "PACS" / "photo" / "house")
    with pytest.raises(DatasetError, match="missing class folder .*house"):
        FolderSource(tree, "PACS", "photo", samples=7)


def test_empty_class_folder(tree):
    folder = tree / "PACS" / "photo" / "house"
    for path in folder.iterdir():
        path.unlink()
    (folder / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="empty class folder .*house"):
        FolderSource(tree, "PACS", "photo", samples=7)


def test_unknown_class_folders_are_listed(tree):
    (tree / "PACS" / "photo" / "cat").mkdir()
    (tree / "PACS" / "photo" / "train").mkdir()
    with pytest.raises(DatasetError, match="does not have: cat, train"):
        FolderSource(tree, "PACS", "photo", samples=7)


# The whole root


def test_open_root_gives_a_source_per_domain_on_disk_and_a_line_per_absent_dataset(tree):
    sources, missing = datasets.open_root(tree, samples=7)
    assert [s.name for s in sources] == [f"PACS/{d}" for d in PACS.domains if d in DOMAINS]
    assert any(line.startswith("PACS: no folder for the domains") for line in missing)
    assert any(line.startswith("VLCS: not found, expected the folder") for line in missing)
    assert len(missing) == 20  # 19 datasets absent, one incomplete


def test_an_unknown_domain_folder_is_one_clear_error(tree):
    (tree / "PACS" / "clipart" / "dog").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds domain folders that PACS does not have: clipart; its domains"):
        datasets.open_root(tree, samples=7)
