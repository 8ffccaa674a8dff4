"""ImageNet-C corruptions that albumentations 2.0.8 lacks or implements differently.

Each is an albumentations `ImageOnlyTransform`, so it composes, and is seeded by `Compose(seed=...)`, exactly as
the library's own transforms are. Reasons for not using the library's nearest transform:

- `ShotNoise`: albumentations' adds Poisson noise in linear light (after a 2.2 gamma); ImageNet-C does not.
- `SpeckleNoise`: `MultiplicativeNoise` draws uniform, not Gaussian, factors.
- `Contrast`: `RandomBrightnessContrast` scales towards 0, `ColorJitter` towards the grey mean; ImageNet-C scales
  each channel towards its own mean.
- `Saturate`: `HueSaturationValue` only shifts saturation; ImageNet-C scales and shifts it.
- `PlasmaFog`: `RandomFog` draws fog circles (and is ~8x slower); ImageNet-C adds a plasma fractal.
- `Snow`: `RandomSnow` only bleaches bright regions ("bleach") or shifts hues and leaves black holes
  ("texture", seen on saturated colours); ImageNet-C lays motion-blurred flakes over a whitened image.
- `Frost`: albumentations has none, and ImageNet-C blends photographs of frost, which we may not ship; this one
  draws the ice texture procedurally.
"""

from __future__ import annotations

import math
from typing import Any

import albumentations as A
import cv2
import numpy as np


def _to_unit(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class ShotNoise(A.ImageOnlyTransform):
    """Poisson (photon) noise: `Poisson(x * photons) / photons` on [0, 1] pixels.

    Args:
        photons: expected photon count of a white pixel; fewer photons, more noise.
        p: probability of applying the transform.
    """

    def __init__(self, photons: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        if photons <= 0:
            raise ValueError(f"photons must be positive, got {photons}")
        self.photons = photons

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"noise_seed": int(self.random_generator.integers(2**32))}

    def apply(self, img: np.ndarray, noise_seed: int, **params: Any) -> np.ndarray:
        rng = np.random.default_rng(noise_seed)
        return _to_uint8(rng.poisson(_to_unit(img) * self.photons) / self.photons)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("photons",)


class SpeckleNoise(A.ImageOnlyTransform):
    """Multiplicative Gaussian noise: `x + x * N(0, sigma)` on [0, 1] pixels.

    Args:
        sigma: standard deviation of the multiplicative factor.
        p: probability of applying the transform.
    """

    def __init__(self, sigma: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.sigma = sigma

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"noise": self.random_generator.normal(0.0, self.sigma, params["shape"]).astype(np.float32)}

    def apply(self, img: np.ndarray, noise: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        return _to_uint8(x + x * noise)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("sigma",)


class DrawsNothing:
    """Marks a transform whose output depends on the image alone: at p=1 it needs no seeded pipeline, and the
    Corrupter calls its `apply` directly."""


class Contrast(DrawsNothing, A.ImageOnlyTransform):
    """Scales each channel towards its own mean: `(x - mean) * factor + mean`.

    Args:
        factor: 1 keeps the image, 0 leaves a flat image of the channel means.
        p: probability of applying the transform.
    """

    def __init__(self, factor: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.factor = factor

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        mean = x.mean(axis=(0, 1), keepdims=True)
        return _to_uint8((x - mean) * self.factor + mean)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("factor",)


class Saturate(DrawsNothing, A.ImageOnlyTransform):
    """HSV saturation scaled and shifted: `s * scale + shift`, on [0, 1] saturation.

    Args:
        scale: factor on saturation (below 1 washes colours out, above 1 oversaturates).
        shift: added to saturation after scaling.
        p: probability of applying the transform.
    """

    def __init__(self, scale: float, shift: float = 0.0, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.scale = scale
        self.shift = shift

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        # Float input keeps S in [0, 1] whatever the value scale, so 0..255 floats need no rescaling either way
        # (the peer's [0, 1] round trip agrees to within one grey level); this is the cheapest corruption, and
        # the two extra passes made it slower than the reference implementation.
        hsv = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_RGB2HSV)
        saturation = hsv[..., 1]
        saturation *= self.scale
        saturation += self.shift
        np.clip(saturation, 0.0, 1.0, out=saturation)
        return cv2.convertScaleAbs(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))  # rounds and saturates to uint8

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("scale", "shift")


def plasma_fractal(size: int, roughness_decay: float, rng: np.random.Generator) -> np.ndarray:
    """A square diamond-square fractal of side `size` (rounded up to a power of two), scaled to [0, 1].

    `roughness_decay` divides the random displacement at each finer scale: lower values give finer, busier
    texture. The map wraps around at its edges, so no seam shows when it is cropped.
    """
    n = 1 << max(1, math.ceil(math.log2(size)))
    grid = np.zeros((n, n), dtype=np.float64)
    step, wibble = n, 100.0
    while step >= 2:
        half = step // 2
        corners = grid[0:n:step, 0:n:step]
        square_mean = (
            corners + np.roll(corners, -1, 0) + np.roll(corners, -1, 1) + np.roll(corners, (-1, -1), (0, 1))
        ) / 4
        grid[half:n:step, half:n:step] = square_mean + rng.uniform(-wibble, wibble, square_mean.shape)
        centres = grid[half:n:step, half:n:step]
        row_mid = (corners + np.roll(corners, -1, 1) + centres + np.roll(centres, 1, 0)) / 4
        grid[0:n:step, half:n:step] = row_mid + rng.uniform(-wibble, wibble, row_mid.shape)
        col_mid = (corners + np.roll(corners, -1, 0) + centres + np.roll(centres, 1, 1)) / 4
        grid[half:n:step, 0:n:step] = col_mid + rng.uniform(-wibble, wibble, col_mid.shape)
        step, wibble = half, wibble / roughness_decay
    grid -= grid.min()
    return grid / max(grid.max(), 1e-12)


class PlasmaFog(A.ImageOnlyTransform):
    """ImageNet-C fog: a plasma fractal added to the image, then rescaled to keep the brightest pixel's level.

    Args:
        strength: weight of the fractal (ImageNet-C's first fog parameter).
        roughness_decay: how fast the fractal's detail fades at finer scales (its second parameter).
        p: probability of applying the transform.
    """

    def __init__(self, strength: float, roughness_decay: float, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.strength = strength
        self.roughness_decay = roughness_decay

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        fractal = plasma_fractal(max(height, width), self.roughness_decay, self.random_generator)
        return {"fog": fractal[:height, :width, None].astype(np.float32)}

    def apply(self, img: np.ndarray, fog: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        peak = float(x.max())
        return _to_uint8((x + self.strength * fog) * peak / (peak + self.strength))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("strength", "roughness_decay")


class Frost(A.ImageOnlyTransform):
    """Ice on a window: `image_weight * x + frost_weight * ice`, the ice drawn procedurally.

    The ice is a cloudy plasma layer crossed by thin bright needle crystals, tinted pale blue, standing in for
    ImageNet-C's frost photographs.

    Args:
        image_weight: weight of the image (ImageNet-C's first frost parameter).
        frost_weight: weight of the ice texture (its second parameter).
        needles_per_100px: crystal density, per 100 x 100 pixels; scale it with nothing, it is an area density.
        p: probability of applying the transform.
    """

    TINT = np.array([0.86, 0.93, 1.0], dtype=np.float32)

    def __init__(
        self, image_weight: float, frost_weight: float, needles_per_100px: float = 60.0, p: float = 1.0
    ) -> None:
        super().__init__(p=p)
        self.image_weight = image_weight
        self.frost_weight = frost_weight
        self.needles_per_100px = needles_per_100px

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        rng = self.random_generator
        cloud = plasma_fractal(max(height, width), 1.6, rng)[:height, :width].astype(np.float32)
        needles = np.zeros((height, width), dtype=np.float32)
        count = max(4, int(self.needles_per_100px * height * width / 10_000))
        starts = rng.uniform(0, 1, (count, 2)) * (width, height)
        angles = rng.uniform(0, 2 * math.pi, count)
        lengths = rng.uniform(0.05, 0.2, count) * max(height, width)
        brightness = rng.uniform(0.4, 1.0, count)
        for (x0, y0), angle, length, level in zip(starts, angles, lengths, brightness):
            x1, y1 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
            cv2.line(needles, (int(x0), int(y0)), (int(x1), int(y1)), float(level), 1, cv2.LINE_AA)
        ice = np.clip(0.35 + 0.45 * cloud + 0.6 * needles, 0.0, 1.0)
        return {"ice": ice[..., None] * self.TINT}

    def apply(self, img: np.ndarray, ice: np.ndarray, **params: Any) -> np.ndarray:
        return _to_uint8(self.image_weight * _to_unit(img) + self.frost_weight * ice)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("image_weight", "frost_weight", "needles_per_100px")


def line_kernel(length: int, angle_degrees: float) -> np.ndarray:
    """A normalised straight-line blur kernel of odd side `length`, through its centre at the given angle."""
    length = max(3, length | 1)
    kernel = np.zeros((length, length), dtype=np.float32)
    c = length // 2
    dx, dy = c * math.cos(math.radians(angle_degrees)), c * math.sin(math.radians(angle_degrees))
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


class Snow(A.ImageOnlyTransform):
    """ImageNet-C snow: a layer of thresholded, enlarged, motion-blurred flakes over a whitened image.

    Args:
        flake_mean: mean of the Gaussian field that flakes are cut from.
        flake_std: its standard deviation.
        flake_zoom: enlargement of the field (larger, bigger flakes).
        threshold: field values below it are bare sky.
        streak: length of the flakes' motion streak in pixels (already scaled to the image).
        whiten: weight of the original image against its whitened copy (1 = none whitened).
        p: probability of applying the transform.
    """

    def __init__(
        self,
        flake_mean: float,
        flake_std: float,
        flake_zoom: float,
        threshold: float,
        streak: int,
        whiten: float,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        self.flake_mean, self.flake_std, self.flake_zoom = flake_mean, flake_std, flake_zoom
        self.threshold, self.streak, self.whiten = threshold, streak, whiten

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        rng = self.random_generator
        small = (max(2, round(height / self.flake_zoom)), max(2, round(width / self.flake_zoom)))
        field = rng.normal(self.flake_mean, self.flake_std, small).astype(np.float32)
        flakes = cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
        flakes[flakes < self.threshold] = 0
        angle = float(rng.uniform(-135, -45))
        flakes = cv2.filter2D(flakes, -1, line_kernel(self.streak, angle), borderType=cv2.BORDER_REFLECT)
        return {"flakes": np.clip(flakes, 0, 1)[..., None]}

    def apply(self, img: np.ndarray, flakes: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None]
        x = self.whiten * x + (1 - self.whiten) * np.maximum(x, grey * 1.5 + 0.5)
        return _to_uint8(x + flakes + np.rot90(flakes, 2))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("flake_mean", "flake_std", "flake_zoom", "threshold", "streak", "whiten")
