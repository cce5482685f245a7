"""An email backend for the sender tests: Django's locmem backend, plus a thread-safe record of
the connections opened and the emails sent, and addresses it refuses as an SMTP server would."""

from __future__ import annotations

import smtplib
import threading
import time

from django.core.mail.backends import locmem


class RecordingBackend(locmem.EmailBackend):
    lock = threading.Lock()
    opened: list[int] = []  # thread id of each connection opened
    sent: list[tuple[str, str, str]] = []  # (to, subject, body) of each email handed over
    refuse: set[str] = set()
    delay_seconds = 0.0  # per email, to make concurrent senders overlap

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.opened.clear()
            cls.sent.clear()
            cls.refuse.clear()
            cls.delay_seconds = 0.0

    def open(self):
        with self.lock:
            self.opened.append(threading.get_ident())
        return True

    def send_messages(self, messages):
        # One after another, as Django's SMTP backend does: the emails before a refused one
        # were handed over.
        for message in messages:
            refused = set(message.to) & self.refuse
            if refused:
                raise smtplib.SMTPRecipientsRefused(
                    {address: (550, b"5.1.1 mailbox unavailable") for address in refused}
                )
            if self.delay_seconds:
                time.sleep(self.delay_seconds)
            with self.lock:
                self.sent.append((", ".join(message.to), message.subject, message.body))
            super().send_messages([message])
        return len(messages)
