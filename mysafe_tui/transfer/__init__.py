"""Other tools' formats, in and out: one module per format, bytes in and items out (or the
reverse), with a report of everything that did not fit. No files of their own: the service
reads and writes them. Also the Pwned Passwords files the health check reads (breaches.py)."""
