"""The media library (admin, marketer): every picture and video in head office's ``media/`` folder with its
thumbnail, kind, resolution, duration, size, sha256 and where it is used; upload (checked with the devices' own
media check, refused in words), replace and delete an unused file (``central.media_library``). Every upload,
replacement and deletion is in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send

from central import media_library
from central.content_files import ContentProblem
from central.media_library import FileInUse, UploadRefused

from .. import session
from ..render import MEDIA_ROLES, done, page
from .signin import Form

GUARDS = [session.allow(*MEDIA_ROLES)]
UPLOAD_PATH = "/media/upload"
FORM_SLACK = 64 * 1024  # the multipart form's own bytes around the file (its name, the CSRF token, the boxes)
CEILING = 1 << 34  # what the route's parser takes at most; the configured limit is enforced before it reads
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def _root(request: Request) -> Path:
    return Path(session.console(request).central.central.content_dir)


def _view(request: Request, *, error: str = "", status: int = 200) -> Template:
    c = session.console(request)
    try:
        files = media_library.list_media(_root(request), c.db, c.media_checks)
    except ContentProblem as exc:
        files, error = [], error or "Head office's files cannot be read, so where each file is used is not known: " \
            + "; ".join(exc.problems)
    return page(request, "media.html", status=status, files=files, error=error,
                limit=f"{c.config.max_upload_bytes / 1e6:g} MB")


@get("/media", sync_to_thread=True, guards=GUARDS)
def media_page(request: Request) -> Template:
    return _view(request)


@get("/media/poster", sync_to_thread=True, guards=GUARDS)
def poster(request: Request, name: Annotated[str, QueryParameter(max_length=200)]) -> Response:
    """The file's thumbnail (a picture's, or a video's first frame) as a JPEG."""
    c = session.console(request)
    path = media_library.media_dir(_root(request)) / Path(name).name
    if not path.is_file() or path.name != name:
        raise NotFoundException(f"There is no file {name!r} in the library.")
    checked = c.media_checks.get(path, c.media_checks.sha256(path))
    if not checked.poster:
        raise NotFoundException(f"{name} has no picture to show.")
    return Response(checked.poster, media_type="image/jpeg")


@post(UPLOAD_PATH, sync_to_thread=True, guards=GUARDS, request_max_body_size=CEILING)
def upload(request: Request, data: Upload) -> Template | Redirect:
    c = session.console(request)
    file = data.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _view(request, status=400, error="Not uploaded: choose a picture or a video first.")
    replace = data.get("replace") == "yes"
    try:
        stored = media_library.store_upload(_root(request), file.file, file.filename, c.db, c.media_checks,
                                            max_bytes=c.config.max_upload_bytes, replace=replace)
    except UploadRefused as exc:
        return _view(request, status=400, error=f"Not uploaded: {exc}")
    info = stored.checked.info
    c.record(request, "media.replace" if stored.replaced else "media.upload", f"media/{stored.name}",
             f"sha256 {stored.sha256}, {stored.size} bytes, {info.format} {info.resolution}")
    kept = stored.name if stored.name == file.filename else f"{file.filename} is in the library as {stored.name}"
    if kept == stored.name:
        kept += " is in the library"
    return done(request, "/media", f"{kept}: {info.format}, {info.resolution}.")


@post("/media/delete", sync_to_thread=True, guards=GUARDS)
def delete(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    name = data.get("name", "")
    try:
        media_library.delete(_root(request), c.db, name)
    except (FileInUse, UploadRefused) as exc:
        return _view(request, status=400, error=f"Not deleted: {exc}")
    except ContentProblem as exc:
        return _view(request, status=400, error="Not deleted: head office's files cannot be read, so whether the file"
                                                " is used is not known: " + "; ".join(exc.problems))
    c.record(request, "media.delete", f"media/{name}")
    return done(request, "/media", f"{name} is deleted from the library.")


def upload_limit(app: ASGIApp) -> ASGIApp:
    """Refuses an upload bigger than ``[console] max_upload_bytes`` by its length, before any of it is read (the
    server holds a body to its Content-Length, so the length cannot lie); one without a length is refused too."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == UPLOAD_PATH and scope["method"] == "POST":
            limit = scope["app"].state.console.config.max_upload_bytes
            length = dict(scope["headers"]).get(b"content-length", b"")
            if not length.isdigit():
                raise HTTPException(status_code=411, detail="Not uploaded: the browser did not say how big the file"
                                                            " is. Please upload it again from the Media page.")
            if int(length) > limit + FORM_SLACK:
                raise HTTPException(status_code=413, detail=f"Not uploaded: the file is bigger than {limit / 1e6:g}"
                                                            " MB, the most the library takes. Make it smaller and"
                                                            " upload it again.")
        await app(scope, receive, send)
    return middleware


ROUTES = [media_page, poster, upload, delete]
