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
  ("texture", seen on saturated colours); ImageNet-C lays flakes streaked by ImageMagick's motion blur (one-sided,
  Gaussian-weighted: `motion_kernel`) over a whitened image.
- `Frost`: albumentations has none, and ImageNet-C blends photographs of frost, which we may not ship; this one
  draws the ice texture procedurally.
- `Spatter`: albumentations' mud keeps the blurred mask's soft edges (ImageNet-C paints only where it covers 80%
  of a pixel) and caps its strength at 1 (ImageNet-C's mud blurs the mask by 1.5 px), so it covers more.
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


def motion_kernel(radius: float, sigma: float, angle_degrees: float) -> np.ndarray:
    """ImageMagick's motion blur as a correlation kernel (what ImageNet-C's snow streaks its flakes with): a pixel
    takes 2 * radius + 1 samples behind it along the angle, weighted by a Gaussian of `sigma` in their distance."""
    width = 2 * max(1, round(radius)) + 1
    weights = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2))
    weights /= weights.sum()
    kernel = np.zeros((2 * width + 1, 2 * width + 1), dtype=np.float32)
    sin, cos = math.sin(math.radians(angle_degrees)), math.cos(math.radians(angle_degrees))
    for i, weight in enumerate(weights):  # the sample i steps back, rounded to a pixel as ImageMagick does
        dy, dx = -math.ceil(i * sin - 0.5), -math.ceil(i * cos - 0.5)
        kernel[width - dy, width - dx] += weight
    return kernel


class Snow(A.ImageOnlyTransform):
    """ImageNet-C snow: a layer of thresholded, enlarged, motion-blurred flakes over a whitened image.

    Args:
        flake_mean: mean of the Gaussian field that flakes are cut from.
        flake_std: its standard deviation.
        flake_zoom: enlargement of the field (larger, bigger flakes).
        threshold: field values below it are bare sky.
        radius: the flakes' motion streak: samples behind a pixel, in pixels (already scaled to the image).
        sigma: the streak's Gaussian falloff in pixels (already scaled).
        whiten: weight of the original image against its whitened copy (1 = none whitened).
        p: probability of applying the transform.
    """

    def __init__(
        self,
        flake_mean: float,
        flake_std: float,
        flake_zoom: float,
        threshold: float,
        radius: float,
        sigma: float,
        whiten: float,
        p: float = 1.0,
    ) -> None:
        super().__init__(p=p)
        if radius <= 0 or sigma <= 0:
            raise ValueError(f"radius and sigma must be positive, got {radius} and {sigma}")
        self.flake_mean, self.flake_std, self.flake_zoom = flake_mean, flake_std, flake_zoom
        self.threshold, self.radius, self.sigma, self.whiten = threshold, radius, sigma, whiten

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        rng = self.random_generator
        small = (max(2, round(height / self.flake_zoom)), max(2, round(width / self.flake_zoom)))
        field = rng.normal(self.flake_mean, self.flake_std, small).astype(np.float32)
        # linear, as ImageNet-C's zoom (order 1): a cubic one overshoots, and more of the field passes the threshold
        flakes = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
        flakes[flakes < self.threshold] = 0
        kernel = motion_kernel(self.radius, self.sigma, float(rng.uniform(-135, -45)))
        flakes = cv2.filter2D(np.clip(flakes, 0, 1), -1, kernel, borderType=cv2.BORDER_REPLICATE)
        return {"flakes": np.clip(flakes, 0, 1)[..., None]}

    def apply(self, img: np.ndarray, flakes: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None]
        x = self.whiten * x + (1 - self.whiten) * np.maximum(x, grey * 1.5 + 0.5)
        return _to_uint8(x + flakes + np.rot90(flakes, 2))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("flake_mean", "flake_std", "flake_zoom", "threshold", "radius", "sigma", "whiten")


class Spatter(A.ImageOnlyTransform):
    """ImageNet-C spatter: a smoothed Gaussian liquid layer, cut at a threshold, as water drops or as mud.

    Water (ImageNet-C's severities 1-3) adds pale turquoise along the drops' edges, found as ImageNet-C finds them
    (Canny edges, their distance map, an emboss kernel). Mud (4-5) paints brown where the cut layer, blurred again,
    covers at least 80% of a pixel, and leaves the rest untouched.

    Args:
        mean: mean of the Gaussian liquid layer.
        std: its standard deviation.
        sigma: blur of the liquid layer in pixels (already scaled to the image).
        threshold: layer values below it are dry.
        strength: water, the drops' intensity; mud, the blur of the mud mask in pixels (already scaled).
        mud: mud rather than water.
        p: probability of applying the transform.
    """

    WATER = np.array([175, 238, 238], dtype=np.float32) / 255  # pale turquoise
    MUD = np.array([63, 42, 20], dtype=np.float32) / 255  # brown
    EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32)

    def __init__(self, mean: float, std: float, sigma: float, threshold: float, strength: float, mud: bool,
                 p: float = 1.0) -> None:  # fmt: skip
        super().__init__(p=p)
        if sigma <= 0 or strength <= 0:
            raise ValueError(f"sigma and strength must be positive, got {sigma} and {strength}")
        self.mean, self.std, self.sigma, self.threshold = mean, std, sigma, threshold
        self.strength, self.mud = strength, mud

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        layer = self.random_generator.normal(self.mean, self.std, (height, width)).astype(np.float32)
        layer = cv2.GaussianBlur(layer, (0, 0), self.sigma, borderType=cv2.BORDER_REPLICATE)
        layer[layer < self.threshold] = 0
        if self.mud:
            mask = cv2.GaussianBlur((layer > self.threshold).astype(np.float32), (0, 0), self.strength,
                                    borderType=cv2.BORDER_REPLICATE)  # fmt: skip
            mask[mask < 0.8] = 0
            return {"mask": mask[..., None]}
        wet = (np.clip(layer, 0, 1) * 255).astype(np.uint8)
        distance = cv2.distanceTransform(255 - cv2.Canny(wet, 50, 150), cv2.DIST_L2, 5)
        _, distance = cv2.threshold(distance, 20, 20, cv2.THRESH_TRUNC)
        distance = cv2.equalizeHist(cv2.blur(distance, (3, 3)).astype(np.uint8))
        distance = cv2.blur(cv2.filter2D(distance, cv2.CV_8U, self.EMBOSS), (3, 3)).astype(np.float32)
        drops = wet.astype(np.float32) * distance
        return {"mask": (drops / max(float(drops.max()), 1e-6) * self.strength)[..., None]}

    def apply(self, img: np.ndarray, mask: np.ndarray, **params: Any) -> np.ndarray:
        x = _to_unit(img)
        if self.mud:
            return _to_uint8(x * (1 - mask) + self.MUD * mask)
        return _to_uint8(x + self.WATER * mask)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("mean", "std", "sigma", "threshold", "strength", "mud")
