import numpy as np
import pytest
from rdkit import Chem

from generators.molecules import (
    DOMAINS,
    LABELS,
    SOURCE_DOMAIN,
    SOURCE_SCAFFOLDS,
    TARGET_DOMAINS,
    TARGET_SCAFFOLDS,
    MoleculeSource,
    domain,
    label_of,
    murcko,
)

ALL_DOMAINS = [SOURCE_DOMAIN, *TARGET_DOMAINS]


@pytest.mark.parametrize("name", ALL_DOMAINS)
def test_every_domain_renders_deterministic_images(name):
    source = domain(name)
    a, b = source.sample(3, 17), source.sample(3, 17)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and a.label == b.label and a.sample_id == "17"
    assert not np.array_equal(a.image, source.sample(4, 17).image)
    assert source.name == f"molecules/{name}"


@pytest.mark.parametrize("name", ALL_DOMAINS)
def test_labels_cycle_and_are_recomputed_by_rdkit(name):
    source = domain(name)
    assert source.labels == list(LABELS) == ["halogen", "carboxylic acid", "amine"]
    for index in range(90):
        smiles = source.smiles(0, index)
        assert label_of(smiles) == source.labels[index % 3], (index, smiles)
    assert [source.sample(0, i).label for i in range(6)] == source.labels * 2


def test_label_of_rejects_molecules_without_exactly_one_group():
    assert label_of("Clc1ccccc1") == "halogen"
    assert label_of(Chem.MolFromSmiles("OC(=O)C1CCNCC1")) == "carboxylic acid"  # ring NH is no primary amine
    assert label_of("NCc1ccncc1") == "amine"
    for smiles in ("c1ccccc1", "NCc1ccc(Cl)cc1", "OC(=O)c1ccc(C(=O)O)cc1", "NC(=O)c1ccccc1"):
        with pytest.raises(ValueError, match="exactly one"):
            label_of(smiles)


def test_scaffold_split_is_disjoint_and_respected():
    source_scaffolds = {murcko(smiles) for smiles in SOURCE_SCAFFOLDS.values()}
    target_scaffolds = {murcko(smiles) for smiles in TARGET_SCAFFOLDS.values()}
    assert not source_scaffolds & target_scaffolds
    seen = {name: {murcko(domain(name).smiles(0, i)) for i in range(120)} for name in ALL_DOMAINS}
    assert seen["source"] <= source_scaffolds and seen["size"] <= source_scaffolds
    assert seen["scaffold"] <= target_scaffolds
    assert len(seen["source"]) == len(source_scaffolds) and len(seen["scaffold"]) == len(target_scaffolds)


def test_size_domain_molecules_are_larger():
    def heavy_atoms(name):
        return [Chem.MolFromSmiles(domain(name).smiles(0, i)).GetNumHeavyAtoms() for i in range(60)]

    source, size = heavy_atoms("source"), heavy_atoms("size")
    assert np.mean(size) > np.mean(source) + 4
    assert all(b > a for a, b in zip(source, size))  # sample i gains chains, never loses atoms


def test_style_domain_draws_the_source_molecule_differently():
    source, style = domain("source"), domain("style")
    for index in range(6):
        assert source.smiles(0, index) == style.smiles(0, index)
        # Black-and-white ink on cream paper: no coloured atom labels. The paper's own tint is excluded.
        image = style.sample(0, index).image.astype(int)
        ink = image.sum(axis=2) < 400
        assert (image[ink].max(axis=1) - image[ink].min(axis=1)).max() < 60
    coloured = [domain("source").sample(0, i).image.astype(int) for i in range(6)]
    assert max((image.max(axis=2) - image.min(axis=2)).max() for image in coloured) > 150


def test_sizes_other_than_64_render():
    assert MoleculeSource(size=128).sample(0, 2).image.shape == (128, 128, 3)


def test_unknown_domain_is_rejected_with_the_known_ones():
    with pytest.raises(ValueError, match="source, scaffold, size, style"):
        domain("photo")
    assert list(DOMAINS) == ALL_DOMAINS
