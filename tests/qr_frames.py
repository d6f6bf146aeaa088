"""Camera frames of shoppers' QR cards as a 720p kiosk camera sees them, made from a seed (imported as
``qr_frames`` by the camera tests and by ``benchmarks/kiosk_bench.py``; nothing is written to disk).

Each frame is 1280x720 BGR: a store scene (shelves, posters, printed words), a phone held up with its
screen showing a real signed SE1 token (``decisions.identity.qr.issue_token``, what head office's
``qr issue`` signs, a year's validity) as a QR code with error correction M and a 4-module quiet zone,
seen through a camera: the phone's pose projected through a pinhole lens, lens blur, the sensor's
noise and the MJPEG compression a USB camera applies at 720p. The picture is gray in all three channels:
every decoder reads luma only, and one channel keeps the set quick to make. A category names what makes
it hard:

* ``clean``: a code 220-320 px wide, held nearly square to the camera (the reference);
* ``far``: 110-160 px wide, so a module is 1.7-2.5 px;
* ``blur``: out of focus (Gaussian sigma 1.6-2.6 px) or moving (a 6-11 px motion streak);
* ``low_contrast``: a dimmed screen under strong room light: dark and light modules 35-60 levels apart;
* ``glare``: a ceiling light's reflection saturating part of the code;
* ``perspective``: the phone turned 35-55 degrees away from the lens and rolled;
* ``noise``: a dim store (gain up): sensor noise sigma 16-24 and JPEG quality 55;
* ``combined``: two or three of the above at once, each a little milder;
* ``empty``: no code: the scene, half the time with a phone showing a screen without a code.

Same seed, same frames, on any machine with the same OpenCV and NumPy (JPEG is the libjpeg bundled in
OpenCV's wheel).
The signing key is derived from a fixed seed too, so the tokens are the same in every run; :data:`NOW`
is inside their validity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decisions.identity.qr import issue_token

WIDTH, HEIGHT = 1280, 720
FOCAL_PX = 1000.0  # a 720p webcam's 65-degree lens
NOW = 1_790_000_000  # 2026-09-21, the tokens' issue time
TTL_S = 365 * 86400  # head office's default card life (central.qr_cards.issue_card)
PX_PER_MODULE = 8  # the phone screen's texture, before the camera sees it
CODE_CATEGORIES = ("clean", "far", "blur", "low_contrast", "glare", "perspective", "noise", "combined")
CATEGORIES = (*CODE_CATEGORIES, "empty")


@dataclass(frozen=True)
class QrFrame:
    category: str
    image: np.ndarray
    """1280x720 BGR uint8, as the kiosk's camera delivers it."""
    text: str | None
    """The token shown, or None for a frame without a code."""


def signing_key() -> Ed25519PrivateKey:
    """The set's head-office key, the same in every run (Ed25519 signatures are deterministic as well)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"store-edge qr_frames").digest())


def token(n: int) -> str:
    """The card of demo shopper ``n``, as head office issues it."""
    return issue_token(signing_key(), f"c-{n:04d}", now=NOW, ttl_s=TTL_S)


def qr_modules(text: str) -> np.ndarray:
    """The code's modules, True for dark, with the 4-module quiet zone around them.

    The mask pattern is drawn from the text: letting qrcode score all eight costs eight renders per frame,
    and any of them makes a standard code."""
    mask = hashlib.sha256(text.encode()).digest()[0] % 8
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=mask)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


@dataclass(frozen=True)
class Shot:
    """How one frame is taken; every field is drawn from the frame's seed by :func:`_shot`."""

    code_px: float  # the code's side, quiet zone included, when square to the lens
    yaw: float  # degrees the phone is turned about its vertical axis
    pitch: float
    roll: float
    dark: float  # screen level of a dark module (0-255, before the camera's noise)
    light: float
    blur_sigma: float
    motion_px: int
    glare: float  # peak brightness added by a reflection; 0 for none
    noise_sigma: float
    jpeg_quality: int


def _shot(category: str, rng: np.random.Generator) -> Shot:
    u = rng.uniform
    shot = dict(code_px=u(220, 320), yaw=u(-12, 12), pitch=u(-10, 10), roll=u(-12, 12), dark=u(20, 45),
                light=u(200, 235), blur_sigma=u(0.6, 1.0), motion_px=0, glare=0.0, noise_sigma=u(3, 6),
                jpeg_quality=85)
    if category == "combined":
        parts = rng.choice(["far", "blur", "low_contrast", "glare", "perspective", "noise"],
                           size=int(rng.integers(2, 4)), replace=False)
        for part in parts:
            shot.update(_hard(str(part), rng, mild=True))
    elif category not in ("clean", "empty"):
        shot.update(_hard(category, rng, mild=False))
    return Shot(**shot)


def _hard(what: str, rng: np.random.Generator, *, mild: bool) -> dict:
    u = rng.uniform
    if what == "far":
        return {"code_px": u(150, 190) if mild else u(110, 160)}
    if what == "blur":
        if rng.random() < 0.5:
            return {"blur_sigma": u(1.2, 1.8) if mild else u(1.6, 2.6)}
        return {"motion_px": int(rng.integers(4, 8) if mild else rng.integers(6, 12))}
    if what == "low_contrast":
        mid, gap = u(110, 150), u(55, 80) if mild else u(35, 60)
        return {"dark": mid - gap / 2, "light": mid + gap / 2}
    if what == "glare":
        return {"glare": u(140, 220) if mild else u(220, 320)}
    if what == "perspective":
        sign = 1 if rng.random() < 0.5 else -1
        return {"yaw": sign * (u(20, 35) if mild else u(35, 55)), "pitch": u(-25, 25), "roll": u(-40, 40)}
    if what == "noise":
        return {"noise_sigma": u(8, 14) if mild else u(16, 24), "jpeg_quality": 70 if mild else 55}
    raise ValueError(f"unknown difficulty {what!r}")


def _scene(rng: np.random.Generator) -> np.ndarray:
    """A store seen from the kiosk: smooth shading, shelves and posters (hard edges), printed words."""
    shading = cv2.resize(rng.normal(128, 45, (9, 16)).astype(np.float32), (WIDTH, HEIGHT),
                         interpolation=cv2.INTER_CUBIC)
    frame = np.clip(shading, 0, 255).astype(np.uint8)  # OpenCV draws text on 8-bit images only
    for _ in range(int(rng.integers(6, 14))):
        x, y = int(rng.integers(-100, WIDTH)), int(rng.integers(-100, HEIGHT))
        w, h = int(rng.integers(40, 400)), int(rng.integers(10, 260))
        cv2.rectangle(frame, (x, y), (x + w, y + h), float(rng.uniform(10, 245)), -1)
    for _ in range(int(rng.integers(2, 6))):
        words = " ".join(rng.choice(["SALE", "BREAD", "COFFEE", "-20%", "NEW", "Fresh", "2 for 1", "open"], 3))
        cv2.putText(frame, words, (int(rng.integers(0, WIDTH - 300)), int(rng.integers(40, HEIGHT))),
                    cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.6, 2.0), float(rng.uniform(0, 255)),
                    int(rng.integers(1, 4)))
    return frame.astype(np.float32)


def _phone(modules: np.ndarray | None, shot: Shot) -> tuple[np.ndarray, np.ndarray]:
    """The phone face-on as a texture (gray levels) and its code's quiet-zone corners in it."""
    n = modules.shape[0] if modules is not None else 65
    side = n * PX_PER_MODULE
    margin, bezel = side // 8, side // 10
    height = int(side * 1.9)
    texture = np.full((height + 2 * bezel, side + 2 * margin + 2 * bezel), 25.0, np.float32)  # the phone's black body
    screen = texture[bezel:bezel + height, bezel:bezel + side + 2 * margin]
    screen[:] = shot.light
    top = (height - side) // 2
    if modules is not None:
        code = np.repeat(np.repeat(np.where(modules, shot.dark, shot.light), PX_PER_MODULE, 0), PX_PER_MODULE, 1)
        screen[top:top + side, margin:margin + side] = code
    screen[top // 3:top // 3 + side // 10, margin:margin + side] = shot.dark  # the app's title bar
    x0, y0 = bezel + margin, bezel + top
    corners = np.float32([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]])
    return texture, corners


def _pose(corners: np.ndarray, shot: Shot, centre: tuple[float, float]) -> np.ndarray:
    """Where the code's corners land in the frame: the phone rotated in 3-D and seen through a pinhole lens."""
    side = float(corners[1, 0] - corners[0, 0])
    scale = shot.code_px / side
    mid = corners.mean(axis=0)
    yaw, pitch, roll = np.radians([shot.yaw, shot.pitch, shot.roll])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    points = np.column_stack([(corners - mid) * scale, np.zeros(4)]) @ (rz @ rx @ ry).T
    depth = FOCAL_PX + points[:, 2]
    return np.float32(points[:, :2] * (FOCAL_PX / depth)[:, None] + centre)


def _camera(frame: np.ndarray, shot: Shot, rng: np.random.Generator) -> np.ndarray:
    """Lens, sensor and MJPEG: what turns the light in front of the camera into the frame the kiosk reads."""
    frame = cv2.GaussianBlur(frame, (0, 0), shot.blur_sigma)
    if shot.motion_px:
        kernel = np.zeros((shot.motion_px, shot.motion_px))
        kernel[shot.motion_px // 2, :] = 1.0 / shot.motion_px
        turn = cv2.getRotationMatrix2D(((shot.motion_px - 1) / 2, (shot.motion_px - 1) / 2), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(kernel, turn, kernel.shape)
        frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
    photon = np.sqrt(np.clip(frame, 0, 255) * np.float32(1 / 255))  # brighter pixels are noisier
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(shot.noise_sigma) * (0.5 + photon)
    image = np.clip(frame, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, shot.jpeg_quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)


def render(category: str, seed: int, text: str | None) -> np.ndarray:
    """One frame of ``category`` showing ``text`` as a QR code (None: no code; a phone may still be in view)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    rng = np.random.default_rng([seed, CATEGORIES.index(category)])
    shot = _shot(category, rng)
    frame = _scene(rng)
    if text is not None or rng.random() < 0.5:
        frame = _hold_up(frame, qr_modules(text) if text is not None else None, shot, rng)
    return _camera(frame, shot, rng)


def render_modules(modules: np.ndarray, seed: int) -> np.ndarray:
    """A clean frame of an arbitrary module pattern (a damaged or foreign code), held as a card is."""
    rng = np.random.default_rng([seed, len(CATEGORIES)])
    shot = _shot("clean", rng)
    return _camera(_hold_up(_scene(rng), modules, shot, rng), shot, rng)


def _hold_up(frame: np.ndarray, modules: np.ndarray | None, shot: Shot, rng: np.random.Generator) -> np.ndarray:
    texture, corners = _phone(modules, shot)
    half = shot.code_px * 0.75
    centre = (rng.uniform(half + 40, WIDTH - half - 40), rng.uniform(half, HEIGHT - half))
    where = _pose(corners, shot, centre)
    warp = cv2.getPerspectiveTransform(corners, where)
    # Average the texture down towards the camera's scale first, so its sharp module edges do not alias.
    shrink = max(1.0, PX_PER_MODULE * modules.shape[0] / shot.code_px / 2) if modules is not None else 1.0
    if shrink > 1:
        texture = cv2.resize(texture, None, fx=1 / shrink, fy=1 / shrink, interpolation=cv2.INTER_AREA)
        warp = warp @ np.diag([shrink, shrink, 1.0])
    size = (WIDTH, HEIGHT)
    phone = cv2.warpPerspective(texture, warp, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(texture), warp, size, flags=cv2.INTER_LINEAR)
    if shot.glare:
        gx, gy = where.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * shot.code_px
        radius = shot.code_px * rng.uniform(0.12, 0.22)
        x0, x1 = int(max(0, gx - 3 * radius)), int(min(WIDTH, gx + 3 * radius))
        y0, y1 = int(max(0, gy - 3 * radius)), int(min(HEIGHT, gy + 3 * radius))
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / np.float32(2 * radius**2))
        phone[y0:y1, x0:x1] += np.float32(shot.glare) * spot * mask[y0:y1, x0:x1]
    return frame * (1 - mask) + phone * mask


def frames(per_category: int, *, seed: int = 0) -> Iterator[QrFrame]:
    """``per_category`` frames of each category in :data:`CATEGORIES`; shopper numbers run on across them."""
    shopper = 0
    for category in CATEGORIES:
        for i in range(per_category):
            text = None
            if category != "empty":
                shopper += 1
                text = token(shopper)
            yield QrFrame(category, render(category, seed * 10_000 + i, text), text)
