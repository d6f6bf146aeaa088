"""Head office's media library (central/media_library.py) with the devices' own media check: what a screen can show
is taken and listed with its sha256, size, resolution and where it is used; what it cannot show is refused in
words; the uploads an attacker would try (a path in the name, a bomb, a renamed text file, too many bytes) are
refused and leave nothing behind; a used file is neither deleted nor silently replaced."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from headoffice_files import write_headoffice
from media_samples import bomb_png, picture, video

from central import media_library, offer_drafts, signage_drafts
from central.content_files import section_items
from central.db import Database
from central.media_library import Checks, FileInUse, UploadRefused
from sync.protocol.acceptance import Known

MB = 1_000_000
SIGNAGE_WITH_PICTURE = """\
content_items:
  - id: img-croissant
    kind: image
    media: croissant.png
    duration_s: 8
playlists:
  - id: pl-all-day
    items: [img-croissant]
schedules:
  - id: sch-all
    playlist: pl-all-day
    priority: 1
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = write_headoffice(tmp_path / "headoffice")
    (root / "media" / "croissant.png").write_bytes(picture("PNG"))
    (root / "chain" / "signage.yaml").write_text(SIGNAGE_WITH_PICTURE)
    return root


def _upload(root: Path, db: Database, data: bytes, name: str, *, replace: bool = False, max_bytes: int = 5 * MB):
    return media_library.store_upload(root, io.BytesIO(data), name, db, Checks(), max_bytes=max_bytes,
                                      replace=replace)


def _nothing_left(root: Path, names: set[str]) -> None:
    assert {p.name for p in (root / "media").iterdir()} == names
    staging = root / media_library.STAGING
    assert not staging.exists() or not list(staging.iterdir())


@pytest.mark.parametrize(("fmt", "name", "words"), [("JPEG", "hero.jpg", "JPEG picture"),
                                                    ("PNG", "Hero Banner (v2).PNG", "PNG picture"),
                                                    ("WEBP", "hero.webp", "WebP picture")])
def test_a_picture_a_screen_shows_is_taken_with_its_sha256_and_resolution(root: Path, db: Database, fmt: str,
                                                                         name: str, words: str):
    data = picture(fmt)
    stored = _upload(root, db, data, name)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.checked.info.format == words and stored.checked.info.resolution == "640×360"
    assert stored.checked.poster[:3] == b"\xff\xd8\xff"  # a JPEG thumbnail for the list
    assert (root / "media" / stored.name).read_bytes() == data
    assert stored.name == {"PNG": "Hero-Banner-v2.png"}.get(fmt, name)
    listed = {m.name: m for m in media_library.list_media(root, db, Checks())}
    assert listed[stored.name].sha256 == stored.sha256 and listed[stored.name].size == len(data)


def test_a_short_h264_video_is_taken_with_its_duration_and_poster_frame(root: Path, db: Database, tmp_path: Path):
    data = video(tmp_path / "promo.mp4").read_bytes()
    stored = _upload(root, db, data, "promo.mp4")
    info = stored.checked.info
    assert (info.kind, info.format, info.resolution, info.duration_s) == ("video", "H.264 video (MP4)", "160×90", 2.0)
    assert stored.checked.poster[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(("make", "name", "reason"), [
    (lambda tmp: picture("JPEG")[:4000], "cut.jpg", "The picture is damaged or cut short"),
    (lambda tmp: bomb_png(), "bomb.png", "The picture is too big to open safely"),
    (lambda tmp: b"Dear team,\nthe new prices are attached.\n" * 40, "prices.jpg",
     "The file is not a picture or a video: it could not be decoded."),
    (lambda tmp: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 500, "IMG_0042.jpg",
     "This file is a HEIC photo; screens show JPEG, PNG and WebP pictures"),
    (lambda tmp: picture("PNG", (5000, 3000)), "poster.png",
     "The picture is 5000×3000 pixels; screens show pictures up to 4096 pixels on a side"),
    (lambda tmp: video(tmp / "v.mp4", "libx265").read_bytes(), "v.mp4", "The video is H.265/HEVC"),
    (lambda tmp: video(tmp / "big.mp4", size=(2560, 1440), frames=2).read_bytes(), "big.mp4",
     "The video is 1440p (2560×1440); screens play up to 1920×1080"),
    (lambda tmp: picture("PNG"), "hero.jpg", "The file is a PNG picture but its name ends in .jpg; name it hero.png"),
])
def test_what_a_screen_cannot_show_is_refused_in_words_and_nothing_lands(root: Path, db: Database, tmp_path: Path,
                                                                        make, name: str, reason: str):
    with pytest.raises(UploadRefused) as refused:
        _upload(root, db, make(tmp_path), name)
    assert reason in str(refused.value)
    _nothing_left(root, {"croissant.png"})


@pytest.mark.parametrize("name", ["../chain/offers.yaml", "..\\..\\etc\\passwd", "/etc/cron.d/x.jpg", ".hidden.jpg",
                                  "media/../../x.jpg", "a\x00b.jpg", "hero"])
def test_a_name_that_reaches_another_folder_is_refused_before_anything_is_written(root: Path, db: Database, name: str):
    offers = (root / "chain" / "offers.yaml").read_text()
    with pytest.raises(UploadRefused, match="plain file name|no extension"):
        _upload(root, db, picture("JPEG"), name)
    assert (root / "chain" / "offers.yaml").read_text() == offers
    _nothing_left(root, {"croissant.png"})


def test_an_upload_over_the_limit_is_refused_while_it_streams(root: Path, db: Database):
    class Endless(io.RawIOBase):  # an attacker's body that never ends: the copy must stop at the limit
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            self.read_bytes += len(buffer)
            buffer[:] = b"\xff" * len(buffer)
            return len(buffer)

    endless = Endless()
    with pytest.raises(UploadRefused, match=r"The file is bigger than 2 MB, the most the library takes"):
        media_library.store_upload(root, io.BufferedReader(endless), "huge.jpg", db, Checks(), max_bytes=2 * MB)
    assert endless.read_bytes <= 2 * MB + 2 * media_library.CHUNK
    _nothing_left(root, {"croissant.png"})


def test_where_each_file_is_used_from_the_files_and_the_offer_drafts(root: Path, db: Database):
    (root / "media" / "spare.jpg").write_bytes(picture("JPEG"))
    (root / "store" / "s001" / "products.yaml").write_text(
        "- sku: PAS-002\n  name: {en: Banitsa, bg: Баница}\n  category: bakery\n  image: spare.jpg\n")
    draft = {"id": "OFF-BANITSA", "priority": 20, "channels": ["kiosk"], "title": {"en": "Banitsa", "bg": "Баница"},
             "sku": "PAS-002"}
    offer_drafts.save_draft(db, "store/s001", draft, ready=False, known=Known.of({}), live=None, by="mia", now=1.0)
    listed = {m.name: m for m in media_library.list_media(root, db, Checks())}
    assert sorted(map(str, listed["croissant.png"].uses)) == [
        "content item img-croissant (chain)", "product PAS-001 (chain)"]
    assert sorted(map(str, listed["spare.jpg"].uses)) == [
        "offer draft OFF-BANITSA (store/s001, picture of product PAS-002)", "product PAS-002 (store/s001)"]
    # A live offer of a product with a picture uses it too.
    (root / "chain" / "offers.yaml").write_text((root / "chain" / "offers.yaml").read_text().replace("COF-001",
                                                                                                     "PAS-001"))
    assert "offer OFF-1 (chain, picture of product PAS-001)" in map(
        str, media_library.usage(root, db)["croissant.png"])
    assert section_items(root, "offers")  # the files are still readable as the publisher reads them


def test_a_used_file_is_not_deleted_or_replaced_without_asking(root: Path, db: Database):
    before = (root / "media" / "croissant.png").read_bytes()
    used_by = r"product PAS-001 \(chain\), content item img-croissant \(chain\)"
    with pytest.raises(FileInUse, match=f"croissant.png is used by {used_by}; it stays"):
        media_library.delete(root, db, "croissant.png")
    other = picture("PNG", (320, 200))
    with pytest.raises(FileInUse, match=f"already a different croissant.png in the library. It is used by {used_by}"):
        _upload(root, db, other, "croissant.png")
    assert (root / "media" / "croissant.png").read_bytes() == before
    again = _upload(root, db, before, "croissant.png")  # the same bytes again: nothing to replace, nothing refused
    stored = _upload(root, db, other, "croissant.png", replace=True)
    assert (root / "media" / "croissant.png").read_bytes() == other
    assert (again.replaced, stored.replaced) == (False, True)
    assert "content item img-croissant (chain)" in map(str, stored.uses)


def test_an_unused_file_is_deleted_and_an_unknown_one_named(root: Path, db: Database):
    _upload(root, db, picture("WEBP"), "old.webp")
    media_library.delete(root, db, "old.webp")
    assert not (root / "media" / "old.webp").exists()
    for name in ("old.webp", "../chain/offers.yaml", ".media-uploads"):
        with pytest.raises(UploadRefused, match="There is no file"):
            media_library.delete(root, db, name)
    assert (root / "chain" / "offers.yaml").exists()


def test_a_file_a_content_item_draft_shows_is_not_deleted(root: Path, db: Database):
    _upload(root, db, picture("WEBP"), "winter.webp")
    slide = {"id": "img-winter", "kind": "image", "media": "winter.webp"}
    signage_drafts.save_draft(db, "store/s001", "content_items", slide, ready=False, view={}, live=None, by="mia",
                              now=1.0)
    with pytest.raises(FileInUse, match=r"winter.webp is used by content item draft img-winter \(store/s001\)"):
        media_library.delete(root, db, "winter.webp")
    assert (root / "media" / "winter.webp").exists()
