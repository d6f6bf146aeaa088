"""The shopper kiosk and the staff tablet (Kivy)."""
