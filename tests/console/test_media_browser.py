"""The Media page in a real browser (Debian's chromium): a marketer uploads a picture and a video and sees them
listed with their sha256, resolution, duration and thumbnail; once content names the picture, its use is listed
and it cannot be deleted; a HEIC photo, a text file renamed .png and a file over the limit are refused in words
and nothing lands; an unused file is deleted; every change is in the audit log. Screenshots media-*.png in
test-output/console/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests
from console_support import MAX_UPLOAD, Server, decoded_width
from media_samples import picture, video
from playwright.sync_api import Page, expect
from test_browser import go, shot, sign_in
from test_roles import _sign_in

from central import audit

PRODUCTS = """\
- sku: PAS-001
  name: {en: Croissant, bg: Кроасан, ru: Круассан}
  category: bakery
  image: croissant.png
"""
SIGNAGE = """\
content_items:
  - id: img-summer
    kind: image
    media: summer-hero.jpg
    duration_s: 8
playlists:
  - id: pl-all-day
    items: [img-summer]
schedules:
  - id: sch-all
    playlist: pl-all-day
    priority: 1
"""
ERROR = "p.error"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(4000)  # an iPhone photo's first bytes


@pytest.fixture(scope="module")
def library(server: Server, tmp_path_factory) -> Server:
    (server.headoffice / "chain").mkdir(exist_ok=True)
    (server.headoffice / "chain" / "products.yaml").write_text(PRODUCTS)
    (server.headoffice / "media").mkdir(exist_ok=True)
    (server.headoffice / "media" / "croissant.png").write_bytes(picture("PNG", (800, 600)))
    (server.headoffice / "media" / "old-banner.jpg").write_bytes(HEIC)  # copied in by hand, not uploaded
    return server


def _row(page: Page, name: str):
    return page.locator(f"tr[data-file='{name}']")


def _upload(page: Page, path: Path, *, replace: bool = False) -> None:
    page.get_by_label("File", exact=True).set_input_files(str(path))
    if replace:
        page.get_by_label("Replace the file of the same name").check()
    page.get_by_role("button", name="Upload").click()


def test_marketer_uploads_a_picture_and_a_video_and_sees_them_with_sha256_and_use(page: Page, library: Server,
                                                                                  tmp_path: Path):
    sign_in(page, library, "mia")
    go(page, "Media")
    expect(page.get_by_role("heading", level=1)).to_have_text("Media")
    croissant = _row(page, "croissant.png")
    expect(croissant.locator("td[data-label='Kind']")).to_have_text("PNG picture")
    expect(croissant.locator("td[data-label='Used by']")).to_have_text("product PAS-001 (chain)")
    refused = _row(page, "old-banner.jpg").locator("td[data-label='Kind']")
    expect(refused.locator(".badge")).to_have_text("Screens cannot show it")
    expect(refused.locator("small")).to_have_text(
        "This file is a HEIC photo; screens show JPEG, PNG and WebP pictures, and MP4 or WebM videos.")

    hero = tmp_path / "Summer Hero.jpg"
    hero.write_bytes(picture("JPEG", (1920, 1080)))
    _upload(page, hero)
    expect(page.get_by_role("status")).to_have_text(
        "Summer Hero.jpg is in the library as Summer-Hero.jpg: JPEG picture, 1920×1080.")
    row = _row(page, "Summer-Hero.jpg")
    expect(row.locator("code.sha")).to_have_text(hashlib.sha256(hero.read_bytes()).hexdigest())
    expect(row.locator("td[data-label='Resolution']")).to_have_text("1920×1080")
    expect(row.locator("td[data-label='Used by']")).to_have_text("not used")
    thumb = row.locator("img.thumb")
    expect(thumb).to_be_visible()
    assert decoded_width(thumb) == 320  # the poster, decoded by the browser

    promo = video(tmp_path / "promo.mp4", size=(320, 180))
    _upload(page, promo)
    expect(page.get_by_role("status")).to_have_text("promo.mp4 is in the library: H.264 video (MP4), 320×180.")
    expect(_row(page, "promo.mp4").locator("td[data-label='Duration']")).to_have_text("2.0 s")
    assert decoded_width(_row(page, "promo.mp4").locator("img.thumb")) == 320
    shot(page, "media-1-uploaded")

    # The content names the picture (a content item's media): the list says so, and it cannot be deleted.
    (library.headoffice / "chain" / "signage.yaml").write_text(SIGNAGE.replace("summer-hero.jpg", "Summer-Hero.jpg"))
    go(page, "Media")
    expect(row.locator("td[data-label='Used by']")).to_have_text("content item img-summer (chain)")
    row.get_by_role("button", name="Delete").click()
    expect(page.locator(ERROR)).to_have_text(
        "Not deleted: Summer-Hero.jpg is used by content item img-summer (chain); it stays. Take it out of those"
        " first.")
    expect(row).to_be_visible()
    shot(page, "media-2-used-file-not-deleted")

    other = tmp_path / "Summer-Hero.jpg"
    other.write_bytes(picture("JPEG", (1280, 720)))
    _upload(page, other)
    expect(page.locator(ERROR)).to_contain_text("There is already a different Summer-Hero.jpg in the library. It is"
                                                " used by content item img-summer (chain).")
    _upload(page, other, replace=True)
    expect(row.locator("td[data-label='Resolution']")).to_have_text("1280×720")

    _row(page, "promo.mp4").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_have_text("promo.mp4 is deleted from the library.")
    expect(_row(page, "promo.mp4")).to_have_count(0)
    entries = audit.entries(library.db, limit=20, actor="mia")
    actions = [(e.action, e.scope) for e in entries if e.action.startswith("media.")]
    assert actions == [("media.delete", "media/promo.mp4"), ("media.replace", "media/Summer-Hero.jpg"),
                       ("media.upload", "media/promo.mp4"), ("media.upload", "media/Summer-Hero.jpg")]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table stacks, nothing is cut off
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "media-5-phone")


@pytest.mark.parametrize(("name", "data", "refusal"), [
    ("IMG_0042.jpg", HEIC,
     "Not uploaded: This file is a HEIC photo; screens show JPEG, PNG and WebP pictures, and MP4 or WebM videos."),
    ("prices.png", b"SKU;price\nCOF-001;1.80\n" * 50,
     "Not uploaded: The file is not a picture or a video: it could not be decoded.")])
def test_marketer_reads_why_a_file_is_refused_and_nothing_lands(page: Page, library: Server, tmp_path: Path,
                                                                name: str, data: bytes, refusal: str):
    sign_in(page, library, "mia")
    go(page, "Media")
    before = sorted(p.name for p in (library.headoffice / "media").iterdir())
    bad = tmp_path / name
    bad.write_bytes(data)
    _upload(page, bad)
    expect(page.locator(ERROR)).to_have_text(refusal)
    expect(_row(page, name)).to_have_count(0)
    assert sorted(p.name for p in (library.headoffice / "media").iterdir()) == before
    shot(page, f"media-3-refused-{name.split('.')[0].lower()}")


def test_a_file_over_the_limit_is_refused_before_it_is_read(page: Page, library: Server, tmp_path: Path):
    sign_in(page, library, "mia")
    go(page, "Media")
    big = tmp_path / "big.png"
    big.write_bytes(picture("PNG") + bytes(MAX_UPLOAD + 100_000))  # past the limit and the form's own bytes
    _upload(page, big)
    expect(page.get_by_role("heading", level=1)).to_have_text("That file is too big")
    expect(page.locator("main")).to_contain_text("Not uploaded: the file is bigger than 2 MB, the most the library"
                                                 " takes. Make it smaller and upload it again.")
    assert not (library.headoffice / "media" / "big.png").exists()
    shot(page, "media-4-too-big")


def test_an_upload_that_hides_its_length_is_refused_before_it_is_read(library: Server):
    """A body sent in chunks with no Content-Length could be endless: refused in words, nothing read or written."""
    headers = _sign_in(library, "mia")

    def body():
        for _ in range(50):
            yield b"x" * 65536

    r = requests.post(library.url + "/media/upload", data=body(), timeout=30,
                      headers={**headers, "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 411 and "Not uploaded: the browser did not say how big the file is." in r.text
    assert not list((library.headoffice / ".media-uploads").glob("*"))
