"""Drawn molecules labelled by their functional group (DrugOOD-like): the label is chemistry, computed by RDKit.

Every molecule is one ring scaffold with one labelled group attached at a ring carbon: a halogen, a carboxylic
acid or a primary amine. The molecules come from a small enumeration kept here (no downloads), and each
molecule's label is recomputed from its structure by SMARTS (`label_of`); an enumeration that yields a molecule
with none or several labelled groups raises rather than mislabel it.

| domain       | what changes                                                                   |
|--------------|--------------------------------------------------------------------------------|
| `"source"`   | source scaffolds, scaffold + group only, RDKit's default colour depiction      |
| `"scaffold"` | ring scaffolds never seen in the source (a disjoint Murcko-scaffold split)     |
| `"size"`     | the source molecule of the same index with 2-3 inert alkyl chains added        |
| `"style"`    | the source molecule of the same index in black ink on cream paper, heavier     |
|              | strokes, another font                                                          |

Drawn at 256 px with a fixed 40 px font and downsampled, so atom labels are about 10 px tall at 64 px: small but
legible (F, Cl, NH2, OH). Rendering takes about 5 ms per image.

Sample i of `"size"` and `"style"` is sample i of `"source"` (scaffold, group and attachment atom drawn from
`rng_for(seed, "molecules", index)`); `"scaffold"` draws its scaffold from its own list with the same stream.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from rdkit import Chem, RDConfig
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Chem.Scaffolds import MurckoScaffold

from generators.sample import Sample, check_domain
from generators.seeding import rng_for

LABELS: tuple[str, ...] = ("halogen", "carboxylic acid", "amine")

# SMARTS of each labelled group. The amine is a primary amine that is not an amide, sulfonamide or amidine
# nitrogen; ring NH (piperidine, pyrrole) is secondary and does not count.
PATTERNS: dict[str, Chem.Mol] = {
    "halogen": Chem.MolFromSmarts("[F,Cl,Br,I]"),
    "carboxylic acid": Chem.MolFromSmarts("[CX3](=O)[OX2H1]"),
    "amine": Chem.MolFromSmarts("[NX3;H2;!$(N[C,S,P]=[O,S,N])]"),
}

# Substituents, `*` marking the atom bonded to the ring. Several per class, so that no one drawing is the class.
GROUPS: dict[str, tuple[str, ...]] = {
    "halogen": ("*F", "*Cl", "*Br", "*I"),
    "carboxylic acid": ("*C(=O)O", "*CC(=O)O"),
    "amine": ("*N", "*CN"),
}

SOURCE_SCAFFOLDS: dict[str, str] = {
    "benzene": "c1ccccc1",
    "pyridine": "c1ccncc1",
    "pyrimidine": "c1cncnc1",
    "thiophene": "c1ccsc1",
    "furan": "c1ccoc1",
    "cyclohexane": "C1CCCCC1",
    "cyclopentane": "C1CCCC1",
    "piperidine": "C1CCNCC1",
}
TARGET_SCAFFOLDS: dict[str, str] = {
    "pyrrole": "c1cc[nH]c1",
    "pyrazine": "c1cnccn1",
    "thiazole": "c1cscn1",
    "tetrahydropyran": "C1CCOCC1",
    "morpholine": "C1COCCN1",
    "cyclobutane": "C1CCC1",
    "cycloheptane": "C1CCCCCC1",
    "naphthalene": "c1ccc2ccccc2c1",
}

# Inert substituents that make a molecule larger without adding a ring (its Murcko scaffold stays the source's)
# or anything `PATTERNS` matches.
ALKYL_CHAINS: tuple[str, ...] = ("*C", "*CC", "*CCC", "*C(C)C", "*C(C)(C)C")

NAMESPACE = "molecules"  # seeds `domain()`'s molecules unless it is given another
SOURCE_DOMAIN = "source"
TARGET_DOMAINS: tuple[str, ...] = ("scaffold", "size", "style")


def murcko(molecule: Chem.Mol | str) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold (ring systems and their linkers, side chains removed)."""
    mol = Chem.MolFromSmiles(molecule) if isinstance(molecule, str) else molecule
    return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))


def _check_scaffold_split() -> None:
    # A scaffold shift is only a shift if no target scaffold is a source scaffold under another spelling.
    source = {murcko(smiles) for smiles in SOURCE_SCAFFOLDS.values()}
    target = {murcko(smiles) for smiles in TARGET_SCAFFOLDS.values()}
    if source & target:
        raise ValueError(f"scaffolds in both the source and target sets: {sorted(source & target)}")


_check_scaffold_split()


def label_of(molecule: Chem.Mol | str) -> str:
    """The molecule's class: the one labelled group it holds. ValueError if it holds none, or more than one."""
    mol = Chem.MolFromSmiles(molecule) if isinstance(molecule, str) else molecule
    if mol is None:
        raise ValueError(f"not a valid molecule: {molecule!r}")
    counts = {label: len(mol.GetSubstructMatches(pattern)) for label, pattern in PATTERNS.items()}
    if sum(counts.values()) != 1:
        found = {label: count for label, count in counts.items() if count}
        raise ValueError(f"{Chem.MolToSmiles(mol)} must hold exactly one labelled group, holds {found or 'none'}")
    return next(label for label, count in counts.items() if count)


def attach(core: Chem.Mol, site: int, substituent: str) -> Chem.Mol:
    """`core` with `substituent` (SMILES, `*` at its attachment atom) bonded to atom `site` of the core."""
    fragment = Chem.MolFromSmiles(substituent)
    dummy = next(atom for atom in fragment.GetAtoms() if atom.GetAtomicNum() == 0)
    anchor = dummy.GetNeighbors()[0].GetIdx() + core.GetNumAtoms()
    joined = Chem.RWMol(Chem.CombineMols(core, fragment))
    joined.AddBond(site, anchor, Chem.BondType.SINGLE)
    joined.RemoveAtom(dummy.GetIdx() + core.GetNumAtoms())
    mol = joined.GetMol()
    Chem.SanitizeMol(mol)
    return mol


def ring_carbons_with_hydrogen(mol: Chem.Mol) -> list[int]:
    """Where a substituent may go: ring carbons that still carry a hydrogen (never a ring N-H, which would make
    hydrazines and N-halo compounds)."""
    return [atom.GetIdx() for atom in mol.GetAtoms()
            if atom.GetAtomicNum() == 6 and atom.IsInRing() and atom.GetTotalNumHs() > 0]  # fmt: skip


@dataclass(frozen=True)
class DrawingStyle:
    """How RDKit depicts a molecule, at `canvas` pixels before downsampling to the image size.

    Args:
        canvas: side of the RDKit drawing in pixels; drawn large so that atom labels survive the downsampling.
        bond_width: bond line width on the canvas, in pixels.
        font_size: atom label font size on the canvas, in pixels (fixed: RDKit would shrink it on large
            molecules until unreadable).
        black_and_white: every atom label black instead of RDKit's element colours (N blue, O red, ...).
        font: file name of an atom-label font shipped with RDKit (in `RDConfig.RDDataDir/Fonts`), or None for
            RDKit's default. (RDKit's comic mode is not used: its line wobble is unseeded, so not reproducible.)
        bond_offset: gap between the lines of a double bond, as a fraction of the bond length; thick bonds need
            a wider gap or a double bond reads as one heavy line.
        background: RGB in [0, 1] of the paper.
        padding: margin around the molecule, as a fraction of the canvas.
    """

    canvas: int = 256
    bond_width: int = 6
    font_size: int = 40
    black_and_white: bool = False
    font: str | None = None
    bond_offset: float = 0.15
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    padding: float = 0.1


DEFAULT_STYLE = DrawingStyle()
# A textbook or scanned-figure look: ink only, heavy strokes, larger lettering, cream paper.
INK_STYLE = DrawingStyle(bond_width=9, font_size=44, black_and_white=True, font="ComicNeue-Regular.ttf",
                         bond_offset=0.22, background=(0.96, 0.93, 0.84))


@dataclass(frozen=True)
class Domain:
    """What one molecule domain draws.

    Args:
        scaffolds: the ring scaffolds (name to SMILES) that molecules are built on.
        chains: how many inert alkyl chains to add (inclusive range); (0, 0) for scaffold + group only.
        style: the depiction.
    """

    scaffolds: dict[str, str]
    chains: tuple[int, int] = (0, 0)
    style: DrawingStyle = DEFAULT_STYLE


DOMAINS: dict[str, Domain] = {
    "source": Domain(SOURCE_SCAFFOLDS),
    "scaffold": Domain(TARGET_SCAFFOLDS),
    "size": Domain(SOURCE_SCAFFOLDS, chains=(2, 3)),
    "style": Domain(SOURCE_SCAFFOLDS, style=INK_STYLE),
}


class MoleculeSource:
    """Drawings of small molecules, labelled "halogen", "carboxylic acid" or "amine" by their functional group.

    Args:
        domain: a key of `DOMAINS`: `SOURCE_DOMAIN` or one of `TARGET_DOMAINS`.
        size: image side in pixels.
        family: the name that seeds the molecule choice (the reference model trains under another).
    """

    def __init__(self, domain: str = SOURCE_DOMAIN, size: int = 64, family: str = NAMESPACE) -> None:
        self.family = family
        check_domain("molecules", domain, DOMAINS, size)
        self.domain = domain
        self.spec = DOMAINS[domain]
        self.size = size
        self.name = f"{self.family}/{domain}"
        self.labels = list(LABELS)

    def sample(self, seed: int, index: int) -> Sample:
        label = self.labels[index % len(self.labels)]
        mol = self.molecule(seed, index)
        rotation = float(rng_for(seed, self.name, "rotation", index).uniform(0, 360))
        return Sample(draw(mol, self.spec.style, rotation, self.size), label, str(index))

    def smiles(self, seed: int, index: int) -> str:
        """Canonical SMILES of the molecule that sample `index` draws."""
        return Chem.MolToSmiles(self.molecule(seed, index))

    def molecule(self, seed: int, index: int) -> Chem.Mol:
        """The molecule of sample `index`, checked to hold exactly its label's group."""
        label = self.labels[index % len(self.labels)]
        rng = rng_for(seed, self.family, index)
        scaffolds = list(self.spec.scaffolds.values())
        core = Chem.MolFromSmiles(scaffolds[int(rng.integers(len(scaffolds)))])
        group = GROUPS[label][int(rng.integers(len(GROUPS[label])))]
        sites = [int(site) for site in rng.permutation(ring_carbons_with_hydrogen(core))]
        mol = attach(core, sites[0], group)  # atoms of the core keep their indices when atoms are appended
        extras = rng_for(seed, self.name, "chains", index)
        for site in sites[1 : 1 + int(extras.integers(self.spec.chains[0], self.spec.chains[1] + 1))]:
            mol = attach(mol, site, ALKYL_CHAINS[int(extras.integers(len(ALKYL_CHAINS)))])
        if label_of(mol) != label:
            raise ValueError(f"{Chem.MolToSmiles(mol)} was built as {label!r} but reads as {label_of(mol)!r}")
        return mol


def draw(mol: Chem.Mol, style: DrawingStyle, rotation: float, size: int) -> np.ndarray:
    """RGB image of `mol`, rotated by `rotation` degrees, drawn at `style.canvas` and downsampled to `size`."""
    mol = Chem.Mol(mol)
    # RDKit's own depiction, not CoordGen: which one runs is a process-wide preference, and the image must not
    # depend on what other code set it to.
    prefer = rdDepictor.GetPreferCoordGen()
    rdDepictor.SetPreferCoordGen(False)
    try:
        rdDepictor.Compute2DCoords(mol)
    finally:
        rdDepictor.SetPreferCoordGen(prefer)
    drawer = rdMolDraw2D.MolDraw2DCairo(style.canvas, style.canvas)
    options = drawer.drawOptions()
    options.bondLineWidth = style.bond_width
    options.scaleBondWidth = False
    options.minFontSize = options.maxFontSize = style.font_size
    options.padding = style.padding
    options.rotate = rotation
    if style.font is not None:
        options.fontFile = str(Path(RDConfig.RDDataDir) / "Fonts" / style.font)
    options.multipleBondOffset = style.bond_offset
    options.setBackgroundColour(style.background)
    if style.black_and_white:
        options.useBWAtomPalette()
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    canvas = Image.open(io.BytesIO(drawer.GetDrawingText())).convert("RGB")
    return np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> MoleculeSource:
    """The molecule source of one domain, its molecules seeded by `namespace`; ValueError names the known domains."""
    return MoleculeSource(name, size, family=namespace)
