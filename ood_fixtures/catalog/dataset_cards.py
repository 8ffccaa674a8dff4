"""Your own datasets: a small card (TOML) says what a dataset is and where its images are; `open_card` checks it
against the data and gives one `Source` per domain.

A card:

    name = "cameras"                 # the cells' scenario: dataset/cameras/<domain>, corruption/cameras/...
    source = "camera_a"              # the in-distribution domain: the reference of every other cell
    domains = ["camera_a", "camera_b"]   # optional: by default every domain in the data, sorted
    classes = ["cat", "dog"]         # optional: by default every label in the data, sorted; or a table
                                     #   [classes.cat] label = "tabby cat", description = "a cat with stripes"
    [images]
    form = "domainbed"               # root/<domain>/<class>/<image>
    root = "photos"                  # paths are relative to the card's folder

The other forms of `[images]`:

    form = "imagefolder"             # one ImageFolder (<folder>/<class>/<image>) per domain
    folders = { camera_a = "a", camera_b = "b" }

    form = "manifest"                # a CSV, JSONL or Parquet table, one row per image
    path = "images.csv"              # the column `image` holds a path (relative to the table's folder) or, in
    image = "image"                  #   Parquet, the image's bytes; `label` and `domain` name the columns
    label = "label"
    domain = "domain"

    form = "hf"                      # a Hugging Face dataset: a folder saved with save_to_disk, or Parquet file(s)
    path = "saved"                   #   (a glob); an Image feature (or bytes/paths), a label column (strings or
    split = "train"                  #   a ClassLabel), a domain column; split of a saved DatasetDict
    image = "image"
    label = "label"
    domain = "domain"

A class's key is its folder name or label value; prompts say its `label` (by default the key, "_" read as a
space). Which image an index shows depends only on (seed, card name, domain, class) and the sorted sample ids, as
for the study's datasets (`ood_fixtures.catalog.datasets.FolderSource`): not on the file system's order, the
table's row order or the worker.

Everything that can be wrong with a card is one `CardError` line at start-up: a missing folder, file or column, a
label the card does not list, a source outside the domains, an empty domain. An image that cannot be decoded is
found only when it is drawn: it is a `SampleError`, counted as a wrong answer.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ood_fixtures.catalog.dataset_source import DatasetSource
from ood_fixtures.catalog.datasets import LAYOUT, REGISTRY, DatasetError, _images, _some

CARD_KEYS = {"name", "source", "domains", "classes", "images"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
Fetch = Callable[[], Any]  # what PIL can open: a path or a file-like object


class CardError(DatasetError):
    """A card that cannot be used as it is; one line that names the card, the problem and the fix."""


@dataclass(frozen=True)
class Entry:
    """One image of the data: its class key, an id unique within its domain, and how to read it (its file, or a
    table's cell read when drawn)."""

    key: str
    sample_id: str
    path: Path | None = None
    fetch: Fetch | None = field(default=None, compare=False)

    def open(self) -> Any:
        return self.path if self.path is not None else self.fetch()


@dataclass(frozen=True)
class Card:
    name: str
    domains: tuple[str, ...]
    source: str
    classes: tuple[str, ...]  # class keys, as stored
    labels: tuple[str, ...]  # as prompts say them, in the order of `classes`
    descriptions: dict[str, str] | None  # label -> description, for the semantic probe
    form: str
    images: dict[str, Any] = field(compare=False)  # the card's [images] table, paths resolved
    path: Path | None = None  # the card file; None for a built-in card

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(d for d in self.domains if d != self.source)

    @property
    def base(self) -> Path:
        """What the card's paths are relative to: its folder."""
        return self.path.parent if self.path is not None else Path.cwd()


# ------------------------------------------------------------------------------------------------------ forms
# form -> (its keys besides `form`, with defaults; None: required) and its reader, card -> {domain: [Entry]}.


def _domainbed(card: Card, where: str) -> dict[str, list[Entry]]:
    root = _folder(card, "root", card.images["root"], where, "the folder that holds <domain>/<class>/<image>")
    return {d.name: _class_folders(d) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def _imagefolder(card: Card, where: str) -> dict[str, list[Entry]]:
    folders = card.images["folders"]
    if not isinstance(folders, dict) or not folders:
        raise CardError(f"{where}: [images] folders must be a table domain = \"folder\", e.g. "
                        f"folders = {{ camera_a = \"a\" }}")  # fmt: skip
    return {domain: _class_folders(_folder(card, f"folders.{domain}", path, where, "a folder of <class>/<image>"))
            for domain, path in folders.items()}  # fmt: skip


def _manifest(card: Card, where: str) -> dict[str, list[Entry]]:
    path = _file(card, "path", card.images["path"], where)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import pyarrow.csv as table_format

        read = table_format.read_csv
    elif suffix in (".jsonl", ".json"):
        import pyarrow.json as table_format

        read = table_format.read_json
    elif suffix == ".parquet":
        import pyarrow.parquet as table_format

        read = table_format.read_table
    else:
        raise CardError(f"{where}: [images] path {path.name}: a manifest is .csv, .jsonl or .parquet")
    try:
        table = read(str(path))
    except Exception as error:  # pyarrow's errors name the line or column at fault
        raise CardError(f"{where}: cannot read the manifest {path}: {' '.join(str(error).split())}") from None
    return _rows(table, card, where, path.parent)


def _hf(card: Card, where: str) -> dict[str, list[Entry]]:
    import datasets

    given, base = card.images["path"], card.base
    try:
        folder = base / given
        if folder.is_dir() and any(folder.glob("*.json")):
            loaded = datasets.load_from_disk(str(folder))
        else:
            files = sorted(str(p) for p in base.glob(given))
            if not files:
                raise CardError(f"{where}: [images] path {given!r} is neither a folder saved with save_to_disk nor "
                                f"Parquet files (resolved under {base})")  # fmt: skip
            loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    except CardError:
        raise
    except Exception as error:
        raise CardError(f"{where}: cannot load the dataset {given!r}: {' '.join(str(error).split())}") from None
    if isinstance(loaded, datasets.DatasetDict):
        split = card.images["split"] or ("train" if "train" in loaded else next(iter(loaded)))
        if split not in loaded:
            raise CardError(f"{where}: the dataset has no split {split!r}; its splits are {', '.join(loaded)}")
        loaded = loaded[split]
    column = card.images["image"]
    if isinstance(loaded.features.get(column), datasets.Image):
        loaded = loaded.cast_column(column, datasets.Image(decode=False))  # decoded one image at a time, when drawn
    label = loaded.features.get(card.images["label"])
    names = label.names if isinstance(label, datasets.ClassLabel) else None
    return _rows(loaded.data.table, card, where, base, names)


FORMS: dict[str, tuple[dict[str, Any], Callable[[Card, str], dict[str, list[Entry]]]]] = {
    "domainbed": ({"root": None}, _domainbed),
    "imagefolder": ({"folders": None}, _imagefolder),
    "manifest": ({"path": None, "image": "image", "label": "label", "domain": "domain"}, _manifest),
    "hf": ({"path": None, "split": None, "image": "image", "label": "label", "domain": "domain"}, _hf),
}


def _class_folders(folder: Path) -> list[Entry]:
    return [Entry(c.name, f"{c.name}/{p.name}", path=p)
            for c in sorted(folder.iterdir()) if c.is_dir() and not c.name.startswith(".")
            for p in _images(c)]  # fmt: skip


def _rows(table: Any, card: Card, where: str, base: Path, label_names: list[str] | None = None,
          ) -> dict[str, list[Entry]]:  # fmt: skip
    """The entries of a table (pyarrow): one per row, its image a path (relative to `base`) or bytes."""
    wanted = {what: card.images[what] for what in ("image", "label", "domain")}
    missing = [f"{what} = {name!r}" for what, name in wanted.items() if name not in table.column_names]
    if missing:
        raise CardError(f"{where}: the table has no column for {', '.join(missing)}; its columns are "
                        f"{', '.join(table.column_names)} (name them in [images])")  # fmt: skip
    labels = table.column(wanted["label"]).to_pylist()
    if label_names is not None:
        labels = [label_names[k] for k in labels]
    domains = table.column(wanted["domain"]).to_pylist()
    images = table.column(wanted["image"])
    out: dict[str, list[Entry]] = {}
    seen: dict[str, int] = {}
    for row, (label, domain) in enumerate(zip(labels, domains)):
        name = _row_id(images[row].as_py())
        seen[name] = seen.get(name, 0) + 1
        sample_id = name if seen[name] == 1 else f"{name}#{seen[name]}"  # a repeated image, in row order
        fetch = functools.partial(_cell_image, images, row, base)
        out.setdefault(str(domain), []).append(Entry(str(label), sample_id, fetch=fetch))
    return out


def _row_id(value: Any) -> str:
    """A row's sample id, whatever the table's row order: its image's path, else a digest of its bytes."""
    if isinstance(value, dict):
        value = value.get("path") or value.get("bytes")
    if isinstance(value, (bytes, bytearray)):
        return "sha256:" + hashlib.sha256(value).hexdigest()[:16]
    return str(value)


def _cell_image(column: Any, row: int, base: Path) -> Any:
    """One table cell's image, read only now: bytes, a path, or a datasets Image struct {"bytes", "path"}."""
    value = column[row].as_py()
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return io.BytesIO(value)
    return base / str(value)


# ------------------------------------------------------------------------------------------------------- cards


def read_card(path: str | Path) -> Card:
    """The card at `path`, its keys checked (the data is checked by `open_card`)."""
    path = Path(path).expanduser()
    where = f"card {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CardError(f"{where}: no such file; give a dataset card (TOML) or a built-in dataset's name") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CardError(f"{where}: not a readable TOML file: {error}") from None
    return _card(data, where, path)


def _card(data: dict[str, Any], where: str, path: Path | None) -> Card:
    unknown = sorted(set(data) - CARD_KEYS)
    if unknown:
        raise CardError(f"{where}: unknown key {unknown[0]!r}; a card has {', '.join(sorted(CARD_KEYS))}")
    for key in ("name", "source", "images"):
        if key not in data:
            raise CardError(f"{where}: no {key!r}; a card needs name, source and [images] (see "
                            f"ood_fixtures/catalog/dataset_cards.py)")  # fmt: skip
    name = data["name"]
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise CardError(f"{where}: name {name!r} must be letters, digits, '_', '.' or '-' (it starts test ids)")
    images = dict(data["images"]) if isinstance(data["images"], dict) else {}
    form = images.pop("form", None)
    if form not in FORMS:
        raise CardError(f"{where}: [images] form {form!r}: use one of {', '.join(FORMS)}")
    keys, _ = FORMS[form]
    stray = sorted(set(images) - set(keys))
    if stray:
        raise CardError(f"{where}: [images] key {stray[0]!r} is not one of form {form}'s: {', '.join(keys)}")
    images = {**keys, **images}
    required = [k for k, v in images.items() if v is None and keys[k] is None and k != "split"]
    if required:
        raise CardError(f"{where}: [images] form {form} needs {required[0]!r}")
    keys_, labels, descriptions = _classes(data.get("classes"), where)
    domains = data.get("domains")
    if domains is not None and (not isinstance(domains, list) or not all(isinstance(d, str) for d in domains)):
        raise CardError(f"{where}: domains must be a list of names, e.g. domains = [\"camera_a\", \"camera_b\"]")
    return Card(name, tuple(domains or ()), str(data["source"]), keys_, labels, descriptions, form, images, path)


def _classes(given: Any, where: str) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, str] | None]:
    if given is None:
        return (), (), None
    if isinstance(given, list) and all(isinstance(k, str) for k in given):
        return tuple(given), tuple(_spoken(k) for k in given), None
    if not isinstance(given, dict):
        raise CardError(f"{where}: classes must be a list of class keys or a table [classes.<key>]")
    keys, labels, descriptions = [], [], {}
    for key, value in given.items():
        value = value if isinstance(value, dict) else {"label": value}
        stray = sorted(set(value) - {"label", "description"})
        if stray:
            raise CardError(f"{where}: [classes.{key}] key {stray[0]!r}: a class has label and description")
        label = str(value.get("label", _spoken(key)))
        keys.append(key)
        labels.append(label)
        if "description" in value:
            descriptions[label] = str(value["description"])
    if descriptions and len(descriptions) != len(keys):
        lacking = [k for k, label in zip(keys, labels) if label not in descriptions]
        raise CardError(f"{where}: give every class a description or none (the probe compares all); "
                        f"{_some(lacking)} have none")  # fmt: skip
    return tuple(keys), tuple(labels), descriptions or None


def _spoken(key: str) -> str:
    return key.replace("_", " ")


# The study names no source domain (it evaluates zero-shot); a built-in card takes the photographs where a
# dataset has them, else its first domain. Its domains are those on disk (drugood_scaffold lists 6401).
BUILTIN_SOURCES = {"PACS": "photo", "office_home": "Real World", "domain_net": "real"}


def builtin_cards() -> dict[str, Card]:
    """The study's datasets as cards: DomainBed folders under --data-root (`resolve` sets the root)."""
    return {name: Card(name, (), BUILTIN_SOURCES.get(name, info.domains[0]), info.classes, info.labels, None,
                       "domainbed", {"root": name}) for name, info in REGISTRY.items()}  # fmt: skip


def resolve(text: str, data_root: Path | None) -> Card:
    """What `--dataset TEXT` names: a card file, or one of the study's datasets under --data-root."""
    path = Path(text).expanduser()
    if path.suffix.lower() == ".toml" or path.exists():
        return read_card(path)
    builtin = builtin_cards().get(text)
    if builtin is None:
        raise CardError(f"--dataset {text}: neither a card file (.toml) nor one of the study's datasets "
                        f"({_some(list(REGISTRY))})")  # fmt: skip
    if data_root is None:
        raise CardError(f"--dataset {text}: a built-in dataset is read from --data-root DIR, in the layout "
                        f"{LAYOUT}; pass --data-root")  # fmt: skip
    return replace(builtin, images={"root": str(Path(data_root) / text)})


def open_card(card: Card, samples: int, size: int | None) -> dict[str, DatasetSource]:
    """One source per domain, in the card's order, after checking the card against its data; a cell asks the
    first `samples` images of each (--samples)."""
    where = f"card {card.path}" if card.path else f"dataset {card.name}"
    found = FORMS[card.form][1](card, where)
    domains = card.domains or tuple(sorted(found))
    if card.source not in domains:
        raise CardError(f"{where}: source {card.source!r} is not one of its domains: {_some(list(domains))}")
    absent = [d for d in domains if not found.get(d)]
    if absent:
        raise CardError(f"{where}: domain {absent[0]!r} has no images ({len(absent)} empty in all: "
                        f"{_some(absent)}); the data holds {_some(sorted(found)) or 'nothing'}")  # fmt: skip
    unlisted = sorted(set(found) - set(domains))
    if unlisted:
        raise CardError(f"{where}: the data holds domains the card does not list: {_some(unlisted)}; add them to "
                        f"domains, or remove them from the data")  # fmt: skip
    classes = card.classes or tuple(sorted({e.key for d in domains for e in found[d]}))
    labels = card.labels or tuple(_spoken(k) for k in classes)
    for domain in domains:
        outside = sorted({e.key for e in found[domain]} - set(classes))
        if outside:
            raise CardError(f"{where}: domain {domain} has images of {_some(outside)}, which are not in the card's "
                            f"classes ({_some(list(classes))}); add them to classes")  # fmt: skip
    lacking = [k for k in classes if not any(e.key == k for e in found[card.source])]
    if lacking:
        raise CardError(f"{where}: the source domain {card.source} has no images of {_some(lacking)}; every class "
                        f"needs images in the source domain")  # fmt: skip
    return {domain: DatasetSource(card, domain, found[domain], classes, labels, samples, size) for domain in domains}


def _folder(card: Card, key: str, given: Any, where: str, what: str) -> Path:
    path = (card.base / Path(str(given)).expanduser()).resolve()
    if not path.is_dir():
        raise CardError(f"{where}: [images] {key} {given!r} is not a folder (resolved to {path}); give {what}")
    return path


def _file(card: Card, key: str, given: Any, where: str) -> Path:
    path = (card.base / Path(str(given)).expanduser()).resolve()
    if not path.is_file():
        raise CardError(f"{where}: [images] {key} {given!r} is not a file (resolved to {path})")
    return path
