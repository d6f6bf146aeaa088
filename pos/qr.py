"""The coupon as a QR code a phone can show at the till (it holds just the code)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def coupon_qr_png(code: str, *, box_size: int = 10) -> bytes:
    """PNG bytes of a QR code holding the coupon code, with error correction M and a quiet zone."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out, format="PNG")
    return out.getvalue()
